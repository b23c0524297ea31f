//! Other live engines on this machine, as their stats segments show them. A worker busy-polls
//! its CPU whole: two poll loops on one CPU each get about half of it, with no word from
//! either. So an engine refuses to start a worker on a CPU that a worker of another live
//! engine polls, naming that engine, unless its config allows it (`lcores.shareCpus`).

use std::path::{Path, PathBuf};

use crate::bring_up::stats_dirs;
use crate::error::{EngineError, ErrorCode};
use crate::plan::Plan;

/// A worker of another live engine, on a CPU this one plans to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Neighbour {
    /// The CPU both would poll.
    pub cpu: u32,
    /// The other engine's name and pid.
    pub engine: String,
    /// Its pid.
    pub pid: u32,
    /// Its worker's lcore, as its segment names it.
    pub lcore: String,
}

/// The workers of live engines (other than this process, and other than one named `name`,
/// whose clash the segment reports) whose segments in `dirs` say they poll one of `cpus`.
pub(crate) fn polling(dirs: &[&Path], cpus: &[u32], name: &str) -> Vec<Neighbour> {
    let me = std::process::id();
    let mut found = Vec::new();
    for listing in stats::Reader::list(dirs) {
        if !listing.alive || listing.pid == me || listing.name == name {
            continue;
        }
        // A segment that vanished or changed since it was listed: that engine is stopping.
        let Ok(snapshot) = stats::Reader::open(&listing.path).and_then(|r| r.snapshot()) else {
            continue;
        };
        let lcores = snapshot["lcores"].as_array().cloned().unwrap_or_default();
        for lcore in lcores {
            let Some(cpu) = lcore["cpu"].as_u64().and_then(|c| u32::try_from(c).ok()) else {
                continue;
            };
            if cpus.contains(&cpu) {
                found.push(Neighbour {
                    cpu,
                    engine: listing.name.clone(),
                    pid: listing.pid,
                    lcore: lcore["name"].as_str().unwrap_or("?").to_string(),
                });
            }
        }
    }
    found
}

/// Refuses `plan` when another live engine (its segment in [`stats_dirs`]) polls a CPU one
/// of its workers would, unless `share` (the config's `lcores.shareCpus`).
pub(crate) fn refuse_shared_cpus(plan: &Plan, share: bool) -> Result<(), EngineError> {
    if share {
        return Ok(());
    }
    let cpus: Vec<u32> = plan.workers.iter().map(|w| w.cpu).collect();
    let dirs = stats_dirs();
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let Some(n) = polling(&dirs, &cpus, &plan.eal.file_prefix)
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let worker = plan
        .workers
        .iter()
        .find(|w| w.cpu == n.cpu)
        .map_or(0, |w| w.lcore);
    Err(EngineError::new(
        ErrorCode::Lcore,
        format!(
            "CPU {} is already polled by engine {:?} (pid {}, worker lcore {}); worker lcore {worker} of this one would share it and each would get about half. \
             Give this worker another CPU (lcores.workers[].cpu, or another lcore id), stop that engine, or set lcores.shareCpus: true to run anyway",
            n.cpu, n.engine, n.pid, n.lcore
        ),
    ))
}
