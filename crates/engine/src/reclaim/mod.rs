//! Reclaiming what dead engines left. An engine killed by `kill -9`, the OOM killer or a
//! crash leaves its stats segment (a hugepage, in hugetlbfs), EAL's runtime directory and,
//! were hugepage files not unlinked, those. Default names (`fastpath-<pid>`) never repeat,
//! so waiting for a later engine of the same name frees nothing. Every engine start and
//! `fastpath clean` therefore remove what dead engines of any name left.
//!
//! Dead means no one holds the lock an engine keeps on its segment and on the marker in its
//! runtime directory ([`stats::lock`]), not that its pid is gone. Only what can be told to
//! be Fastpath's is touched: a segment (`fastpath-stats.<name>`), the runtime directory and
//! hugepage files (`<name>map_<n>`) of that name, and runtime directories holding the
//! [`files::MARKER`]. Never another DPDK program's prefix, nor a directory a live DPDK
//! process uses (EAL's config lock), nor a hugepage file one maps (EAL's page lock).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

mod files;

pub use files::Freed;
pub(crate) use files::{claim_runtime_dir, owner_of, release_runtime_dir};

use files::{dpdk_config_locked, marker_pid, sweep, MARKER};

/// What one dead engine left, and what was (or would be) freed of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEngine {
    /// Its name (EAL file prefix).
    pub name: String,
    /// Its pid, as its segment or marker says (a dead pid: the kernel may reuse it).
    pub pid: Option<u32>,
    /// What it left: its segment, its runtime directory, `<mount>/<name>map_*`.
    pub paths: Vec<String>,
    /// What they held.
    pub freed: Freed,
}

/// What a reclaim found: dead engines, and what it left alone and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reclaimed {
    /// Dead engines whose files were (or would be) removed, by name.
    pub engines: Vec<DeadEngine>,
    /// What could not be judged or removed, and what to do about it.
    pub left_alone: Vec<String>,
}

impl Reclaimed {
    /// Everything freed.
    pub fn total(&self) -> Freed {
        let mut total = Freed::default();
        for e in &self.engines {
            total.add(e.freed);
        }
        total
    }

    /// One line per dead engine: what an engine start says in `info.notes`.
    pub fn notes(&self) -> Vec<String> {
        self.engines
            .iter()
            .map(|e| {
                format!(
                    "reclaimed what {} left: {} ({})",
                    e.describe(),
                    e.paths.join(", "),
                    e.freed
                )
            })
            .collect()
    }
}

impl DeadEngine {
    /// `dead engine "NAME" (pid N)`.
    pub fn describe(&self) -> String {
        let pid = self.pid.map_or_else(String::new, |p| format!(" (pid {p})"));
        format!("dead engine {:?}{pid}", self.name)
    }
}

/// Where to look: the stats segment directories, the hugetlbfs mounts, EAL's runtime base.
#[derive(Debug, Clone)]
pub(crate) struct Places {
    pub stats: Vec<PathBuf>,
    pub hugetlbfs: Vec<PathBuf>,
    pub runtime_base: PathBuf,
}

impl Places {
    /// This machine's, for this user.
    pub(crate) fn here() -> Self {
        let hugepages = probe::Hugepages::read(Path::new("/")).unwrap_or_default();
        Self {
            stats: crate::bring_up::stats_dirs(),
            hugetlbfs: hugepages.mounts.into_iter().map(|m| m.path).collect(),
            runtime_base: crate::bring_up::eal_runtime_base(),
        }
    }
}

/// Removes what dead engines left on this machine (only says what when `dry_run`).
pub fn reclaim(dry_run: bool) -> Reclaimed {
    reclaim_in(&Places::here(), dry_run)
}

/// A name that can only be a file prefix: one path component.
fn plausible_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

pub(crate) fn reclaim_in(places: &Places, dry_run: bool) -> Reclaimed {
    let mut out = Reclaimed::default();
    let mut done = BTreeSet::new();
    // Dead segments first: each names the runtime directory and hugepage files of its engine.
    for dir in &places.stats {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file
                .strip_prefix("fastpath-stats.")
                .filter(|n| plausible_name(n))
            else {
                continue;
            };
            let path = entry.path();
            if let Some(dead) = dead_segment(places, &path, name, dry_run, &mut out.left_alone) {
                done.insert(name.to_owned());
                out.engines.push(dead);
            }
        }
    }
    // Then runtime directories Fastpath marked whose engine died without a segment left.
    if let Ok(entries) = fs::read_dir(&places.runtime_base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if done.contains(&name) || !dir.join(MARKER).exists() {
                continue;
            }
            let mut dead = DeadEngine {
                name: name.clone(),
                pid: marker_pid(&dir),
                paths: Vec::new(),
                freed: Freed::default(),
            };
            if live_segment_named(places, &name, None) {
                continue;
            }
            reclaim_prefix(places, &mut dead, dry_run, &mut out.left_alone);
            if !dead.paths.is_empty() {
                out.engines.push(dead);
            }
        }
    }
    out.engines.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Reclaims the segment at `path` and what its engine left, if that engine is dead.
fn dead_segment(
    places: &Places,
    path: &Path,
    name: &str,
    dry_run: bool,
    left_alone: &mut Vec<String>,
) -> Option<DeadEngine> {
    let held = match stats::lock::claim(path) {
        Ok(Some(held)) => held,
        Ok(None) => return None,
        Err(e) => {
            let owner = owner_of(path).unwrap_or_else(|| "another user".into());
            left_alone.push(format!(
                "{}: {e}: it is {owner}'s and this user cannot tell whether its engine lives (fastpath clean as that user or root removes it if not)",
                path.display()
            ));
            return None;
        }
    };
    // An engine from before the lock does not hold it: its pid and heartbeat say.
    let reader = stats::Reader::open(path).ok();
    if reader
        .as_ref()
        .is_some_and(|r| !r.locks().unwrap_or(true) && r.alive_by_pid().unwrap_or(true))
    {
        return None;
    }
    let mut dead = DeadEngine {
        name: name.to_owned(),
        pid: reader.and_then(|r| r.pid().ok()),
        paths: vec![path.display().to_string()],
        freed: Freed::default(),
    };
    reclaim_prefix_except(places, &mut dead, dry_run, left_alone, Some(path));
    let mut errors = Vec::new();
    sweep(path, dry_run, &mut dead.freed, &mut errors);
    left_alone.extend(errors);
    drop(held);
    Some(dead)
}

fn reclaim_prefix(places: &Places, dead: &mut DeadEngine, dry_run: bool, left: &mut Vec<String>) {
    reclaim_prefix_except(places, dead, dry_run, left, None);
}

/// Reclaims the runtime directory and hugepage files of `dead.name`, unless a live engine of
/// that name (other than the segment at `except`, being reclaimed) or a live DPDK process
/// uses them.
fn reclaim_prefix_except(
    places: &Places,
    dead: &mut DeadEngine,
    dry_run: bool,
    left_alone: &mut Vec<String>,
    except: Option<&Path>,
) {
    let dir = places.runtime_base.join(&dead.name);
    let marker = dir.join(MARKER);
    // Held while the directory goes: an engine of this name starting meanwhile waits for it.
    let held = match stats::lock::claim(&marker) {
        Ok(held) => held,
        Err(e) => {
            left_alone.push(format!("{}: {e}", marker.display()));
            return;
        }
    };
    let marked_live = held.is_none() && marker.exists();
    if marked_live || dpdk_config_locked(&dir) || live_segment_named(places, &dead.name, except) {
        return;
    }
    let mut errors = Vec::new();
    if dir.is_dir() {
        dead.paths.push(dir.display().to_string());
        sweep(&dir, dry_run, &mut dead.freed, &mut errors);
    }
    drop(held);
    // DPDK keeps a shared lock on every hugepage file it maps: a locked one is in use.
    for mount in &places.hugetlbfs {
        let mut found = false;
        for page_file in page_files(mount, &dead.name) {
            if let Ok(Some(page)) = stats::lock::claim(&page_file) {
                sweep(&page_file, dry_run, &mut dead.freed, &mut errors);
                drop(page);
                found = true;
            }
        }
        if found {
            dead.paths.push(
                mount
                    .join(format!("{}map_*", dead.name))
                    .display()
                    .to_string(),
            );
        }
    }
    left_alone.extend(errors);
}

/// EAL's hugepage files of the instance `name` in `mount`: `<name>map_<n>`.
fn page_files(mount: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(mount) else {
        return Vec::new();
    };
    let stem = format!("{name}map_");
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .strip_prefix(&stem)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|entry| entry.path())
        .collect()
}

/// Removes the hugepage files this engine's EAL (`prefix`) kept linked to serve secondary
/// processes, which EAL leaves behind at cleanup (and after a failed start), holding their
/// pages. Called once EAL is done with them.
pub(crate) fn remove_own_page_files(prefix: &str) {
    for mount in Places::here().hugetlbfs {
        for page_file in page_files(&mount, prefix) {
            let _ = fs::remove_file(page_file);
        }
    }
}

/// Whether a segment named `name` (other than `except`) belongs to a live engine; one that
/// cannot be read counts as live.
fn live_segment_named(places: &Places, name: &str, except: Option<&Path>) -> bool {
    places.stats.iter().any(|dir| {
        let path = dir.join(stats::file_name(name));
        if Some(path.as_path()) == except || fs::symlink_metadata(&path).is_err() {
            return false;
        }
        stats::Reader::open(&path).map_or(true, |r| r.alive().unwrap_or(true))
    })
}

#[cfg(test)]
mod tests;
