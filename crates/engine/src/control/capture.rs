//! Capture ops: `capture.start` makes a ring (a 0600 file in /dev/shm) and a tap the workers
//! copy into, and answers the ring's path for the client to map; `capture.stop` ends one;
//! `capture.list` lists them. A capture started over the control socket belongs to that
//! connection: when it closes (the client ended, or was killed), the engine stops the capture
//! and removes its ring, so nothing outlives its reader. Captures started in the engine's own
//! process end with `capture.stop` or with the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::{Failure, Live};
use crate::capture::ring::{Layout, Ring};
use crate::capture::{Point, Tap, MAX_CAPTURES};
use crate::error::{EngineError, ErrorCode};

/// The longest copy of a packet, and the default.
pub const MAX_SNAPLEN: u32 = 65_535;
/// Ring bytes per worker by default, and the most a request may ask.
const DEFAULT_BUFFER_MIB: u32 = 4;
const MAX_BUFFER_MIB: u32 = 256;
/// How long stopping a capture waits for the workers to pass a burst boundary.
const GRACE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the engine knows that a capture needs.
#[derive(Debug, Clone, Default)]
pub struct CaptureFacts {
    /// The engine's name (its rings' file names carry it).
    pub engine: String,
    /// Each port's DPDK port id (engine port order).
    pub port_ids: Vec<u16>,
    /// Each port's name in the config.
    pub port_names: Vec<String>,
    /// Workers (a ring has a lane for each).
    pub workers: usize,
}

/// A running capture, as the control side keeps it.
#[derive(Debug)]
struct Running {
    slot: usize,
    session: Option<u64>,
    pipeline: Option<String>,
    point: Point,
    filter: Option<String>,
    path: PathBuf,
}

/// The engine's captures.
#[derive(Debug, Default)]
pub struct Captures {
    facts: CaptureFacts,
    /// The pipelines' names now (kept by `apply`).
    pub(crate) pipelines: Vec<String>,
    running: BTreeMap<u64, Running>,
    next: u64,
}

/// Where rings live: /dev/shm, like the stats segment without hugepages (a ring is small and
/// read by ordinary processes).
fn ring_dir() -> PathBuf {
    PathBuf::from("/dev/shm")
}

fn ring_prefix(engine: &str) -> String {
    format!("fastpath-capture.{engine}.")
}

impl Captures {
    /// The captures of the engine `plan` started with these ports and this program.
    pub(crate) fn of(
        plan: &crate::plan::Plan,
        ports: &[crate::report::PortSummary],
        program: &crate::compile::Program,
    ) -> Self {
        let facts = CaptureFacts {
            engine: plan.eal.file_prefix.clone(),
            port_ids: ports.iter().map(|p| p.id).collect(),
            port_names: ports.iter().map(|p| p.name.clone()).collect(),
            workers: plan.workers.len(),
        };
        Self::new(
            facts,
            program.pipelines.iter().map(|p| p.name.clone()).collect(),
        )
    }

    /// The captures of an engine starting now. Rings an engine of this name left behind
    /// (it died) are removed: a name runs in one engine at a time.
    pub fn new(facts: CaptureFacts, pipelines: Vec<String>) -> Self {
        let prefix = ring_prefix(&facts.engine);
        if let Ok(entries) = std::fs::read_dir(ring_dir()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Self {
            facts,
            pipelines,
            running: BTreeMap::new(),
            next: 1,
        }
    }
}

/// A request's capture options.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartOptions {
    /// The pipeline; none: every pipeline.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// `input` (default), `output` or `drops`.
    #[serde(default)]
    pub at: Option<String>,
    /// A tcpdump expression; none: every packet.
    #[serde(default)]
    pub filter: Option<String>,
    /// Bytes kept of each packet (default and most: 65,535).
    #[serde(default)]
    pub snaplen: Option<u32>,
    /// Ring MiB per worker (default 4).
    #[serde(default, rename = "bufferMiB")]
    pub buffer_mib: Option<u32>,
}

fn refused(message: String) -> Failure {
    EngineError::new(ErrorCode::Control, message).into()
}

/// `capture.start`.
pub(super) fn start(
    live: &mut Live,
    options: StartOptions,
    session: Option<u64>,
) -> Result<Json, Failure> {
    let captures = &mut live.captures;
    let point = match options.at.as_deref() {
        None => Point::Input,
        Some(at) => Point::parse(at).ok_or_else(|| {
            refused(format!(
                "a capture point is input, output or drops, not {at:?}"
            ))
        })?,
    };
    if let Some(p) = &options.pipeline {
        if !captures.pipelines.contains(p) {
            return Err(refused(format!(
                "no pipeline is named {p:?}; the engine's pipelines: {}",
                captures.pipelines.join(", ")
            )));
        }
    }
    let snaplen = options.snaplen.unwrap_or(MAX_SNAPLEN);
    if snaplen == 0 || snaplen > MAX_SNAPLEN {
        return Err(refused(format!(
            "snaplen is 1 to {MAX_SNAPLEN} bytes, not {snaplen}"
        )));
    }
    let buffer = options.buffer_mib.unwrap_or(DEFAULT_BUFFER_MIB);
    if buffer == 0 || buffer > MAX_BUFFER_MIB {
        return Err(refused(format!(
            "bufferMiB is 1 to {MAX_BUFFER_MIB} (per worker), not {buffer}"
        )));
    }
    if captures.running.len() >= MAX_CAPTURES {
        return Err(refused(format!(
            "{MAX_CAPTURES} captures run already; stop one first (fastpath capture ends its own when it exits)"
        )));
    }
    let filter = match options.filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(expr) => Some(dpdk::PacketFilter::compile(expr, snaplen).map_err(|e| {
            refused(format!(
                "the filter {expr:?} is not one libpcap compiles: {e}; write it as tcpdump would take it"
            ))
        })?),
    };
    let id = captures.next;
    captures.next += 1;
    let (ring, path) = make_ring(&captures.facts, id, &options, point, snaplen, buffer)?;
    let jit = filter.as_ref().is_some_and(dpdk::PacketFilter::is_jit);
    let tap = Box::new(Tap {
        pipeline: options.pipeline.clone(),
        point,
        filter,
        snaplen,
        ring,
    });
    let slot = live.shared.taps.install(tap).map_err(|tap| {
        let _ = std::fs::remove_file(tap.ring.path());
        refused(format!(
            "{MAX_CAPTURES} captures run already; stop one first"
        ))
    })?;
    let filter = options.filter.filter(|f| !f.trim().is_empty());
    let answer = json!({
        "id": id,
        "path": path.display().to_string(),
        "pipeline": options.pipeline,
        "at": point.as_str(),
        "filter": filter,
        "jit": jit,
        "snaplen": snaplen,
    });
    live.captures.running.insert(
        id,
        Running {
            slot,
            session,
            pipeline: options.pipeline,
            point,
            filter,
            path,
        },
    );
    Ok(answer)
}

/// Capture `id`'s ring: its pcapng header by `librte_pcapng`, its time base, a lane per worker.
fn make_ring(
    facts: &CaptureFacts,
    id: u64,
    options: &StartOptions,
    point: Point,
    snaplen: u32,
    buffer: u32,
) -> Result<(Ring, PathBuf), Failure> {
    // librte_pcapng names interfaces `dpdk:<port id>`; the comment says which port each is.
    let mut ports: Vec<(u16, &str)> = facts
        .port_ids
        .iter()
        .copied()
        .zip(facts.port_names.iter().map(String::as_str))
        .collect();
    ports.sort_unstable();
    let ports = ports
        .iter()
        .map(|(id, name)| format!("dpdk:{id} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let comment = format!(
        "Fastpath engine {:?}: pipeline {}, at {}{}; interfaces: {ports}",
        facts.engine,
        options.pipeline.as_deref().unwrap_or("(every pipeline)"),
        point.as_str(),
        options
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| format!(", filter \"{}\"", f.trim()))
            .unwrap_or_default()
    );
    let header = dpdk::pcapng_header("Fastpath", &comment).map_err(|e| {
        Failure::from(EngineError::new(
            ErrorCode::Internal,
            format!("librte_pcapng could not write the capture's header: {e}; this is a bug: please report it"),
        ))
    })?;
    // librte_pcapng writes an interface block per ethdev port in port id order.
    let mut sorted = facts.port_ids.clone();
    sorted.sort_unstable();
    let interfaces = facts
        .port_ids
        .iter()
        .map(|id| sorted.iter().position(|s| s == id).unwrap_or(0) as u16)
        .collect();
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let tsc_base = dpdk::tsc();
    let layout = Layout {
        lanes: facts.workers.max(1),
        lane_bytes: (buffer as usize) << 20,
        tsc_hz: dpdk::tsc_hz(),
        tsc_base,
        ns_base: now.tv_sec.cast_unsigned() * 1_000_000_000 + now.tv_nsec.cast_unsigned(),
        pcapng: header,
        snaplen,
        interfaces,
    };
    let path = ring_dir().join(format!("{}{id}", ring_prefix(&facts.engine)));
    let ring = Ring::create(&path, &layout).map_err(|e| {
        refused(format!(
            "could not create the capture ring {} ({} MiB): {e}; free room in /dev/shm or ask for a smaller bufferMiB",
            path.display(),
            buffer as usize * layout.lanes
        ))
    })?;
    Ok((ring, path))
}

/// Ends capture `id`: no worker copies into its ring once this returns; the ring is marked
/// stopped (its reader drains it, then ends) and its file removed (the reader's mapping
/// stays valid until it lets go). Answers the counts.
fn end(live: &mut Live, id: u64) -> Option<Json> {
    let running = live.captures.running.remove(&id)?;
    let tap = live.shared.taps.unlink(running.slot);
    let grace = live.shared.publisher.synchronize(GRACE_TIMEOUT).is_ok();
    let _ = std::fs::remove_file(&running.path);
    let tap = tap?;
    tap.ring.set_stopped();
    let (captured, dropped) = tap.ring.counts();
    if grace {
        drop(tap);
    } else {
        // A worker did not pass a burst boundary in time and may still copy into it: keep it.
        Box::leak(tap);
    }
    Some(json!({ "id": id, "captured": captured, "dropped": dropped }))
}

/// `capture.stop`.
pub(super) fn stop(live: &mut Live, id: u64) -> Result<Json, Failure> {
    end(live, id).ok_or_else(|| {
        refused(format!(
            "no capture {id} runs (it ended, or its client's connection closed); capture.list lists those that run"
        ))
    })
}

/// `capture.list`.
pub(super) fn list(live: &Live) -> Json {
    let captures: Vec<Json> = live
        .captures
        .running
        .iter()
        .map(|(id, r)| {
            let counts = live.shared.taps.counts(r.slot);
            json!({
                "id": id,
                "pipeline": r.pipeline,
                "at": r.point.as_str(),
                "filter": r.filter,
                "path": r.path.display().to_string(),
                "captured": counts.0,
                "dropped": counts.1,
            })
        })
        .collect();
    json!({ "captures": captures })
}

/// Ends the captures connection `session` started (it closed).
pub(super) fn session_closed(live: &mut Live, session: u64) {
    let ids: Vec<u64> = live
        .captures
        .running
        .iter()
        .filter(|(_, r)| r.session == Some(session))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        end(live, id);
    }
}

/// Ends every capture (the engine stops).
pub(super) fn end_all(live: &mut Live) {
    let ids: Vec<u64> = live.captures.running.keys().copied().collect();
    for id in ids {
        end(live, id);
    }
}
