//! The engine's control API: requests and answers as JSON, served the same way in the engine's
//! own process (`engine.routes(…)` through the binding) and to other processes over the
//! control socket ([`socket`]). Today it steers route tables ([`routes`]); a request is one
//! JSON object with an `op`, an answer one JSON object (`{ "ok": … }` or `{ "error": { code,
//! message } }`), preceded on the socket by `{ "progress": … }` lines for long changes.
//!
//! Captures ([`capture`]) are ops too: `capture.start` / `capture.stop` / `capture.list`. A
//! capture started over the socket belongs to its connection, which is why requests carry a
//! session (the connection's number; none in the engine's own process).
//!
//! [`Control`] is what the engine shares with the socket's thread and the binding: the route
//! tables and the publisher whose grace periods a change waits for. It outlives the engine
//! (JavaScript may hold it), so the engine closes it before it stops: every request after
//! that is `ERR_STOPPED`.

pub mod capture;
mod routes;
pub mod socket;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::compile::RouteTables;
use crate::error::{EngineError, ErrorCode};
use crate::stages::route::RouteEntryConfig;
use crate::worker::Shared;

/// What a request may ask, by `op`.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum Request {
    /// `routes.tables`: the route tables, with their sizes, room and next hops.
    #[serde(rename = "routes.tables")]
    Tables,
    /// `routes.add`: add (or replace) routes, given as `{ prefix, via }` items and/or as route
    /// file text; one change, all or nothing.
    #[serde(rename = "routes.add")]
    Add {
        /// The table; may be left out when the engine has one.
        #[serde(default)]
        table: Option<String>,
        /// Routes as the config writes them.
        #[serde(default)]
        routes: Vec<RouteEntryConfig>,
        /// Routes as a route file writes them.
        #[serde(default)]
        text: Option<String>,
    },
    /// `routes.delete`: delete routes by prefix (items and/or text lines); all or nothing.
    #[serde(rename = "routes.delete")]
    Delete {
        /// The table.
        #[serde(default)]
        table: Option<String>,
        /// Prefixes.
        #[serde(default)]
        prefixes: Vec<String>,
        /// Route file text (each line's prefix).
        #[serde(default)]
        text: Option<String>,
    },
    /// `routes.lookup`: where packets to these addresses go now.
    #[serde(rename = "routes.lookup")]
    Lookup {
        /// The table.
        #[serde(default)]
        table: Option<String>,
        /// IPv4 or IPv6 addresses.
        addresses: Vec<String>,
    },
    /// `routes.list`: a page of routes, in order, after a prefix.
    #[serde(rename = "routes.list")]
    List {
        /// The table.
        #[serde(default)]
        table: Option<String>,
        /// The last prefix of the previous page.
        #[serde(default)]
        after: Option<String>,
        /// Routes per page (default and most: [`routes::PAGE`]).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// `capture.start`: copy a pipeline's packets (at a point, through a filter) into a new
    /// shared-memory ring; answers its id and path.
    #[serde(rename = "capture.start")]
    CaptureStart(capture::StartOptions),
    /// `capture.stop`: end capture `id`; answers what it captured and dropped.
    #[serde(rename = "capture.stop")]
    CaptureStop {
        /// The capture.
        id: u64,
    },
    /// `capture.list`: the running captures.
    #[serde(rename = "capture.list")]
    CaptureList,
}

pub use crate::stages::route::table::Progress;

/// A refused request: its error, and each problem when there are several (a route file's bad
/// lines), as the answer's `problems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The code and the message (the first problems, joined).
    pub error: EngineError,
    /// Every problem, `where: what`.
    pub problems: Vec<String>,
}

/// Problems a message quotes before it says how many more there are.
const QUOTED: usize = 10;

impl Failure {
    /// A failure of `code` with each of `problems`.
    pub fn problems(code: ErrorCode, problems: Vec<String>) -> Self {
        let mut message = problems
            .iter()
            .take(QUOTED)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ");
        if problems.len() > QUOTED {
            message = format!("{message} (and {} more problems)", problems.len() - QUOTED);
        }
        Self {
            error: EngineError::new(code, message),
            problems,
        }
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        Self {
            problems: vec![error.message.clone()],
            error,
        }
    }
}

/// The running engine's state the control API reaches.
#[derive(Debug)]
pub(crate) struct Live {
    pub shared: Arc<Shared>,
    pub routes: RouteTables,
    pub captures: capture::Captures,
}

/// The control API of one engine.
#[derive(Debug, Default)]
pub struct Control {
    live: Mutex<Option<Live>>,
    /// Threads making route tables' standby copies (joined before the engine lets EAL go:
    /// the copies live in EAL's memory).
    preparing: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Control {
    /// A control API for a running engine.
    pub(crate) fn new(shared: Arc<Shared>, routes: RouteTables) -> Self {
        Self {
            live: Mutex::new(Some(Live {
                shared,
                routes,
                captures: capture::Captures::default(),
            })),
            preparing: Mutex::default(),
        }
    }

    /// Makes the standby copy of every route table that has none, on a thread of its own
    /// (after start and after `apply()`), so that the first live route change is as quick as
    /// the next. A change meanwhile waits for the table it changes.
    pub(crate) fn prepare_route_tables(&self) {
        let tables: Vec<_> = match self.lock().as_ref() {
            Some(live) => live.routes.values().cloned().collect(),
            None => return,
        };
        if tables.is_empty() {
            return;
        }
        let thread = std::thread::Builder::new()
            .name("fastpath-routes".into())
            .spawn(move || {
                for table in tables {
                    // A table DPDK cannot copy now is copied at its first change, which says why.
                    let _ = table.prepare_standby();
                }
            });
        let mut preparing = self
            .preparing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        preparing.retain(|t| !t.is_finished());
        if let Ok(thread) = thread {
            preparing.push(thread);
        }
    }

    /// Sets up captures (the engine does once its ports and program are up).
    pub(crate) fn set_captures(&self, captures: capture::Captures) {
        if let Some(live) = self.lock().as_mut() {
            live.captures = captures;
        }
    }

    /// The engine's live state, locked: `apply()` holds it while it compiles and publishes, a
    /// route change while it changes a table. `None` once the engine has stopped.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Option<Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets go of the engine (its route tables and shared state): every later request is
    /// `ERR_STOPPED`. Waits for a request in progress.
    pub(crate) fn close(&self) {
        let preparing = std::mem::take(
            &mut *self
                .preparing
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for thread in preparing {
            let _ = thread.join();
        }
        let mut live = self.lock();
        if let Some(live) = live.as_mut() {
            capture::end_all(live);
            // Copies catching up with the last route change are EAL's memory too.
            for table in live.routes.values() {
                table.settle();
            }
        }
        *live = None;
    }

    /// Answers `request`.
    pub fn handle(&self, request: Request, progress: Progress<'_>) -> Result<Json, Failure> {
        self.handle_in(request, progress, None)
    }

    /// Answers `request` of connection `session` (none: the engine's own process).
    pub fn handle_in(
        &self,
        request: Request,
        progress: Progress<'_>,
        session: Option<u64>,
    ) -> Result<Json, Failure> {
        let mut live = self.lock();
        let live = live.as_mut().ok_or_else(|| {
            EngineError::new(ErrorCode::Stopped, "the engine is stopped; start a new one")
        })?;
        match request {
            Request::CaptureStart(options) => capture::start(live, options, session),
            Request::CaptureStop { id } => capture::stop(live, id),
            Request::CaptureList => Ok(capture::list(live)),
            request => routes::handle(live, request, progress),
        }
    }

    /// Connection `session` closed: the captures it started end.
    pub fn session_closed(&self, session: u64) {
        if let Some(live) = self.lock().as_mut() {
            capture::session_closed(live, session);
        }
    }

    /// Answers one request line (JSON) with one answer line (JSON, no newline).
    pub fn handle_json(&self, line: &str, progress: Progress<'_>) -> String {
        self.handle_json_in(line, progress, None)
    }

    /// [`Control::handle_json`] for connection `session`.
    pub fn handle_json_in(
        &self,
        line: &str,
        progress: Progress<'_>,
        session: Option<u64>,
    ) -> String {
        let answer = serde_json::from_str::<Request>(line)
            .map_err(|e| {
                Failure::from(EngineError::new(
                    ErrorCode::Control,
                    format!("the engine does not take this request ({e}); use a client of the engine's version"),
                ))
            })
            .and_then(|request| self.handle_in(request, progress, session));
        match answer {
            Ok(ok) => json!({ "ok": ok }),
            Err(Failure { error, problems }) => json!({
                "error": { "code": error.code.as_str(), "message": error.message, "problems": problems }
            }),
        }
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_their_op_and_nothing_else() {
        let r: Request = serde_json::from_str(
            r#"{"op":"routes.lookup","table":"core","addresses":["10.0.0.1"]}"#,
        )
        .unwrap();
        assert!(matches!(r, Request::Lookup { table: Some(t), .. } if t == "core"));
        assert!(serde_json::from_str::<Request>(r#"{"op":"routes.tables"}"#).is_ok());
        assert!(serde_json::from_str::<Request>(r#"{"op":"routes.drop"}"#).is_err());
        assert!(
            serde_json::from_str::<Request>(r#"{"op":"routes.list","tabel":"x"}"#).is_err(),
            "a misspelt field is refused, not ignored"
        );
    }

    #[test]
    fn capture_requests_take_their_options_and_refuse_others() {
        let r: Request = serde_json::from_str(
            r#"{"op":"capture.start","pipeline":"edge","at":"drops","filter":"udp","snaplen":96,"bufferMiB":8}"#,
        )
        .unwrap();
        assert!(matches!(r, Request::CaptureStart(o)
            if o.pipeline.as_deref() == Some("edge") && o.at.as_deref() == Some("drops")
                && o.snaplen == Some(96) && o.buffer_mib == Some(8)));
        assert!(matches!(
            serde_json::from_str::<Request>(r#"{"op":"capture.start"}"#).unwrap(),
            Request::CaptureStart(o) if o.pipeline.is_none() && o.filter.is_none()
        ));
        assert!(matches!(
            serde_json::from_str::<Request>(r#"{"op":"capture.stop","id":3}"#).unwrap(),
            Request::CaptureStop { id: 3 }
        ));
        assert!(
            serde_json::from_str::<Request>(r#"{"op":"capture.start","snaplength":96}"#).is_err(),
            "a misspelt option is refused, not ignored"
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"capture.stop"}"#).is_err());
        // A closed control: captures are refused like everything else, and a closing
        // connection has nothing to end.
        let control = Control::default();
        let answer: Json = serde_json::from_str(&control.handle_json_in(
            r#"{"op":"capture.start"}"#,
            &mut |_, _| {},
            Some(7),
        ))
        .unwrap();
        assert_eq!(answer["error"]["code"], "ERR_STOPPED");
        control.session_closed(7);
    }

    #[test]
    fn a_closed_control_answers_stopped_and_bad_lines_answer_control() {
        let control = Control::default();
        let answer: Json =
            serde_json::from_str(&control.handle_json(r#"{"op":"routes.tables"}"#, &mut |_, _| {}))
                .unwrap();
        assert_eq!(answer["error"]["code"], "ERR_STOPPED");
        let answer: Json =
            serde_json::from_str(&control.handle_json("not json", &mut |_, _| {})).unwrap();
        assert_eq!(answer["error"]["code"], "ERR_CONTROL");
    }
}
