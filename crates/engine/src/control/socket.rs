//! The control socket: a Unix stream socket in the engine's EAL runtime directory (beside
//! DPDK's own telemetry socket), 0600, so only the engine's user reaches it; what another
//! process uses to change routes (`fastpath routes`). Newline-delimited JSON: a request per
//! line, answered by `{ "progress": { done, total } }` lines while a long change works, then
//! one `{ "ok": … }` or `{ "error": { code, message, problems } }` line. A connection may send
//! any number of requests, one after the other.
//!
//! Why this and not the stats segment or HTTP: requests need answers and refusals with reasons,
//! which a shared-memory mailbox would have to reinvent; a Unix socket has the kernel's own
//! access control (the file's mode and the directory's), needs no port, and dies with the
//! engine (the runtime directory is removed at stop, and reclaimed after a crash). `fastpath
//! serve` offers the same over HTTP for those who want it.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use super::Control;
use crate::error::{EngineError, ErrorCode};

/// The socket's file name in the engine's EAL runtime directory.
const FILE: &str = "fastpath-control.sock";

/// Connections served at once; more are answered `ERR_CONTROL` and closed.
const MAX_CONNECTIONS: usize = 16;

/// The longest request line: a route file of a few million routes.
const MAX_LINE: u64 = 256 << 20;

/// How often an idle connection and the accept loop look whether the engine is stopping.
const POLL: Duration = Duration::from_millis(50);

/// Where engine `name`'s control socket is.
pub fn path(name: &str) -> PathBuf {
    crate::bring_up::eal_runtime_dir(name).join(FILE)
}

/// A listening control socket and its thread.
#[derive(Debug)]
pub struct Socket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Socket {
    /// Listens at `path` (a file left there by a dead engine is replaced) and serves `control`.
    pub fn open(path: PathBuf, control: Arc<Control>) -> Result<Self, EngineError> {
        let failed = |what: &str, e: std::io::Error| {
            EngineError::new(
                ErrorCode::Internal,
                format!(
                    "could not {what} the control socket {}: {e}; this is a bug: please report it",
                    path.display()
                ),
            )
        };
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(failed("replace", e)),
            _ => {}
        }
        let listener = UnixListener::bind(&path).map_err(|e| failed("create", e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed("restrict", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| failed("set up", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fastpath-control".into())
            .spawn(move || serve(&listener, &control, &flag))
            .map_err(|e| failed("start a thread for", e))?;
        Ok(Self {
            path,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops listening (connections in progress end at their next request) and removes the file.
    pub fn close(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close();
    }
}

fn serve(listener: &UnixListener, control: &Arc<Control>, stop: &Arc<AtomicBool>) {
    let open = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
                    let busy = json!({ "error": { "code": ErrorCode::Control.as_str(), "message": format!("the engine serves {MAX_CONNECTIONS} control connections at once; try again when one has closed"), "problems": [] } });
                    let _ = writeln!(stream, "{busy}");
                    continue;
                }
                open.fetch_add(1, Ordering::AcqRel);
                let (control, stop, done) =
                    (Arc::clone(control), Arc::clone(stop), Arc::clone(&open));
                let spawned = std::thread::Builder::new()
                    .name("fastpath-control-conn".into())
                    .spawn(move || {
                        connection(stream, &control, &stop);
                        done.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::AcqRel);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Numbers connections: a capture belongs to the connection that started it.
static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Ends a connection's captures however its thread leaves (closed, broken, engine stopping).
struct Session<'a> {
    control: &'a Control,
    id: u64,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.control.session_closed(self.id);
    }
}

/// Serves one connection's requests until it closes or the engine stops.
fn connection(stream: UnixStream, control: &Control, stop: &AtomicBool) {
    let session = Session {
        control,
        id: SESSIONS.fetch_add(1, Ordering::Relaxed),
    };
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let (Ok(mut out), Ok(mut progress_out)) = (stream.try_clone(), stream.try_clone()) else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let room = MAX_LINE - line.len() as u64;
        match (&mut reader).take(room).read_until(b'\n', &mut line) {
            Ok(0) if room > 0 => return,
            Ok(_) if line.last() == Some(&b'\n') => {}
            Ok(_) if line.len() as u64 >= MAX_LINE => {
                let too_long = json!({ "error": { "code": ErrorCode::Control.as_str(), "message": format!("a request line is at most {} MiB; send a large route file in parts", MAX_LINE >> 20), "problems": [] } });
                let _ = writeln!(out, "{too_long}");
                return;
            }
            // The rest of the line is on its way (or the peer stops mid-line: the next read says).
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => return,
        }
        let text = String::from_utf8_lossy(&line);
        let mut progress = |done: usize, total: usize| {
            let line = json!({ "progress": { "done": done, "total": total } });
            let _ = writeln!(progress_out, "{line}");
        };
        let answer = control.handle_json_in(text.trim(), &mut progress, Some(session.id));
        line.clear();
        if writeln!(out, "{answer}").is_err() {
            return;
        }
    }
}
