//! Reclaiming in scratch directories standing in for /dev/shm, hugetlbfs and /var/run/dpdk.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{claim_runtime_dir, reclaim_in, Places, MARKER};

fn spec(name: &str) -> stats::SegmentSpec {
    stats::SegmentSpec {
        name: name.into(),
        ports: vec![("a".into(), 0)],
        lcores: vec![(1, 1)],
        rx_owners: vec![vec![Some(0)]],
        counting: true,
        extra: Vec::new(),
    }
}

fn scratch(tag: &str) -> (PathBuf, Places) {
    let root = std::env::temp_dir().join(format!("fastpath-reclaim-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let places = Places {
        stats: vec![root.join("shm")],
        hugetlbfs: vec![root.join("huge")],
        runtime_base: root.join("dpdk"),
    };
    for d in [&places.stats[0], &places.hugetlbfs[0], &places.runtime_base] {
        fs::create_dir_all(d).unwrap();
    }
    (root, places)
}

fn touch(path: &Path, bytes: usize) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, vec![1u8; bytes]).unwrap();
}

/// Every file under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
            out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn dead_engines_of_any_name_go_live_ones_and_other_programs_stay() {
    let (root, places) = scratch("any");
    let shm = &places.stats[0];
    let huge = &places.hugetlbfs[0];
    let run = &places.runtime_base;
    // A live engine: its segment and marker held (by this process, on their own files).
    let live = stats::Segment::create(shm, 4096, &spec("live")).unwrap();
    let live_claim = claim_runtime_dir(&run.join("live")).unwrap();
    touch(&run.join("live/config"), 100);
    // A killed engine: its segment's bytes (this very pid, a fresh heartbeat), no lock.
    fs::copy(live.path(), shm.join(stats::file_name("killed"))).unwrap();
    touch(&run.join("killed/config"), 4096);
    touch(&run.join("killed/fbarray_memzone"), 8192);
    touch(&huge.join("killedmap_0"), 10);
    touch(&huge.join("killedmap_12"), 10);
    touch(&huge.join("killedmap_x"), 10);
    // A page a live DPDK process maps: it holds a shared lock on it.
    touch(&huge.join("killedmap_3"), 10);
    let mapped = fs::File::open(huge.join("killedmap_3")).unwrap();
    // SAFETY: flock(2) on a descriptor `mapped` owns.
    assert_eq!(unsafe { libc::flock(mapped.as_raw_fd(), libc::LOCK_SH) }, 0);
    // A dead engine whose segment is gone: its marker, unlocked.
    touch(&run.join("marked/config"), 10);
    touch(&run.join("marked").join(MARKER), 0);
    fs::write(run.join("marked").join(MARKER), "4242\n").unwrap();
    // Another DPDK program's leftovers, and a directory named like a default engine.
    touch(&run.join("other-testpmd/config"), 10);
    touch(&huge.join("other-testpmdmap_0"), 10);
    touch(&run.join("fastpath-99999/config"), 10);

    let before = tree(&root);
    let dry = reclaim_in(&places, true);
    assert_eq!(tree(&root), before, "a dry run removes nothing");
    let done = reclaim_in(&places, false);
    assert_eq!(dry, done, "a dry run says what a run does");

    let names: Vec<_> = done
        .engines
        .iter()
        .map(|e| (e.name.as_str(), e.pid))
        .collect();
    assert_eq!(
        names,
        [("killed", Some(std::process::id())), ("marked", Some(4242))]
    );
    let killed = &done.engines[0];
    assert_eq!(
        killed.freed.files, 5,
        "segment, two runtime files, two numbered pages"
    );
    assert!(killed.paths.iter().any(|p| p.ends_with("huge/killedmap_*")));
    assert_eq!(done.engines[1].freed.files, 2);
    assert_eq!(
        tree(&root),
        [
            "dpdk",
            "dpdk/fastpath-99999",
            "dpdk/fastpath-99999/config",
            "dpdk/live",
            "dpdk/live/config",
            "dpdk/live/fastpath.lock",
            "dpdk/other-testpmd",
            "dpdk/other-testpmd/config",
            "huge",
            "huge/killedmap_3",
            "huge/killedmap_x",
            "huge/other-testpmdmap_0",
            "shm",
            "shm/fastpath-stats.live",
        ]
    );
    assert!(done.notes()[0].starts_with("reclaimed what dead engine \"killed\" (pid "));

    // Once the live engine is gone too, its files follow.
    drop((live_claim, live, mapped));
    let after = reclaim_in(&places, false);
    let names: Vec<_> = after.engines.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["live"]);
    // A page file with neither segment nor marker of its name is no longer known to be ours.
    assert!(tree(&root).contains(&"huge/killedmap_3".to_owned()));
    assert_eq!(tree(&root).len(), 10);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_engine_from_before_the_lock_is_judged_by_pid_and_heartbeat() {
    let (root, places) = scratch("legacy");
    let shm = &places.stats[0];
    let seg = stats::Segment::create(shm, 4096, &spec("old")).unwrap();
    let mut bytes = fs::read(seg.path()).unwrap();
    // No lock flag: as an older engine wrote it, alive by this pid and a fresh heartbeat.
    bytes[stats::header::FLAGS..stats::header::FLAGS + 4].copy_from_slice(&0u32.to_le_bytes());
    fs::write(shm.join(stats::file_name("older")), &bytes).unwrap();
    touch(&places.runtime_base.join("older/config"), 10);
    assert!(reclaim_in(&places, false).engines.is_empty());
    assert_eq!(tree(&places.runtime_base), ["older", "older/config"]);
    drop(seg);
    fs::remove_dir_all(&root).unwrap();
}
