//! The stats segments on this machine, and one mapped for JavaScript to read in place.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use engine::{EngineError, ErrorCode};
use napi::bindgen_prelude::ArrayBuffer;
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::to_js;

/// An engine's stats segment found on this machine.
#[napi(object)]
#[derive(Debug)]
pub struct EngineListing {
    pub name: String,
    pub pid: u32,
    /// The engine holds its segment's lock (the kernel drops it when the process dies,
    /// however it dies) and has not stopped; false: a dead engine's, which `reclaim` removes.
    pub alive: bool,
    pub path: String,
}

/// Every engine stats segment on this machine (hugetlbfs mounts and /dev/shm).
#[napi]
pub fn list_engines() -> Vec<EngineListing> {
    let dirs = engine::stats_dirs();
    let dirs: Vec<&std::path::Path> = dirs.iter().map(std::path::PathBuf::as_path).collect();
    stats::Reader::list(&dirs)
        .into_iter()
        .map(|e| EngineListing {
            name: e.name,
            pid: e.pid,
            alive: e.alive,
            path: e.path.display().to_string(),
        })
        .collect()
}

/// What one dead engine left, and what was (or would be) freed of it.
#[napi(object)]
#[derive(Debug)]
pub struct DeadEngine {
    /// Its name (EAL file prefix).
    pub name: String,
    /// Its pid, as its segment or runtime directory says (dead: the kernel may reuse it).
    pub pid: Option<u32>,
    /// Its stats segment, EAL runtime directory, `<hugetlbfs mount>/<name>map_*`.
    pub paths: Vec<String>,
    pub files: f64,
    pub bytes: f64,
    pub hugepages: f64,
}

/// What `reclaim` found: the dead engines, totals, and what it left alone and why.
#[napi(object)]
#[derive(Debug)]
pub struct Reclaimed {
    pub engines: Vec<DeadEngine>,
    pub files: f64,
    pub bytes: f64,
    pub hugepages: f64,
    /// What could not be judged or removed (another user's files), with what to do.
    pub left_alone: Vec<String>,
}

/// Removes what dead engines of any name left (stats segments, EAL runtime directories,
/// hugepage files), or with `dry_run` only says what it would remove. Never a live engine's
/// files nor another DPDK program's. Every engine start does the same.
#[napi]
pub fn reclaim(dry_run: bool) -> Reclaimed {
    let found = engine::reclaim(dry_run);
    let total = found.total();
    Reclaimed {
        engines: found
            .engines
            .into_iter()
            .map(|e| DeadEngine {
                name: e.name,
                pid: e.pid,
                paths: e.paths,
                files: e.freed.files as f64,
                bytes: e.freed.bytes as f64,
                hugepages: e.freed.hugepages as f64,
            })
            .collect(),
        files: total.files as f64,
        bytes: total.bytes as f64,
        hugepages: total.hugepages as f64,
        left_alone: found.left_alone,
    }
}

/// Where stats segments live, in search order.
#[napi]
pub fn stats_dirs() -> Vec<String> {
    engine::stats_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect()
}

/// The segments mapped for JavaScript, by the address of their first byte: how
/// [`release_stats`] finds the mapping behind an `ArrayBuffer` (and refuses any other).
static MAPPED: Mutex<BTreeMap<usize, Arc<stats::Mapping>>> = Mutex::new(BTreeMap::new());

fn mapped() -> std::sync::MutexGuard<'static, BTreeMap<usize, Arc<stats::Mapping>>> {
    MAPPED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps a stats segment read-only and hands it to JavaScript as one `ArrayBuffer` whose
/// bytes change as the engine counts. Read it only: the memory is read-only, so a write
/// through it would fault (`@fastpath/control`'s `StatsReader` keeps it private).
#[napi(ts_return_type = "ArrayBuffer")]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn map_stats(env: &Env, path: String) -> Result<ArrayBuffer<'_>> {
    let mapping = stats::Mapping::open(std::path::Path::new(&path)).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "the segment is 0640: read it as the engine's user or as a member of the group it was given (stats.group)"
        } else {
            "is the engine running?"
        };
        to_js(&EngineError::new(
            ErrorCode::Stats,
            format!("cannot map the stats segment {path}: {e}; {hint}"),
        ))
    })?;
    let mapping = Arc::new(mapping);
    let (ptr, len) = (mapping.as_ptr(), mapping.len());
    mapped().insert(ptr as usize, Arc::clone(&mapping));
    // SAFETY: `ptr` points at `len` mapped bytes that stay mapped until the finalizer drops
    // the last `Arc` of the mapping, which happens only when JavaScript has let go of the
    // ArrayBuffer (the registry's copy goes first, in the finalizer).
    unsafe {
        ArrayBuffer::from_external(env, ptr, len, mapping, |_, mapping| {
            mapped().remove(&(mapping.as_ptr() as usize));
            drop(mapping);
        })
    }
}

/// Lets go of the pages behind an `ArrayBuffer` from [`map_stats`] now rather than at
/// garbage collection: it then reads zeros. A stopped engine's own reader calls this, so that
/// its segment's hugepage is free the moment `stop()` resolves.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn release_stats(buffer: ArrayBuffer) -> Result<()> {
    let mapping = mapped().get(&(buffer.as_ptr() as usize)).cloned();
    let mapping = mapping.ok_or_else(|| {
        to_js(&EngineError::new(
            ErrorCode::Stats,
            "releaseStats takes an ArrayBuffer that mapStats returned",
        ))
    })?;
    mapping.release().map_err(|e| {
        to_js(&EngineError::new(
            ErrorCode::Stats,
            format!("could not release the stats mapping: {e}"),
        ))
    })
}
