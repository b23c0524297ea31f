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
    /// The pid lives, the heartbeat is recent and the engine has not stopped.
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
