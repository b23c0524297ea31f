//! The segment written by the engine's writer, read back by the Rust reader; bad files.

use std::sync::atomic::Ordering::Relaxed;

use stats::{Reader, ReaderError, Segment, SegmentSpec};

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("fastpath-stats-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec(name: &str) -> SegmentSpec {
    SegmentSpec {
        name: name.into(),
        ports: vec![("a".into(), 0), ("b".into(), 1)],
        lcores: vec![(1, 1), (2, 1)],
        rx_owners: vec![vec![Some(0)], vec![Some(1)]],
        counting: true,
        extra: Vec::new(),
    }
}

#[test]
fn what_lanes_count_a_reader_sums_per_port() {
    let dir = scratch("roundtrip");
    let seg = Segment::create(&dir, 4096, &spec("eng1")).unwrap();
    let lanes = seg.lanes();
    assert_eq!(lanes.len(), 4);
    lanes[0].rx_packets.store(10, Relaxed); // lcore 1, port a
    lanes[2].rx_packets.store(5, Relaxed); // lcore 2, port a
    lanes[3].tx_packets.store(7, Relaxed); // lcore 2, port b
    lanes[1].tx_dropped.store(2, Relaxed);
    let r = Reader::open(seg.path()).unwrap();
    assert_eq!(r.name().unwrap(), "eng1");
    assert_eq!(r.pid().unwrap(), std::process::id());
    assert!(r.alive().unwrap());
    let snap = r.snapshot().unwrap();
    let counts = |p: usize| {
        ["rxPackets", "txPackets", "txDropped", "unrouted"]
            .map(|f| snap["ports"][p][f].as_u64().unwrap())
    };
    assert_eq!([counts(0), counts(1)], [[15, 0, 0, 0], [0, 7, 2, 0]]);
    // Per worker, summed over ports: lcore 1 received 10 (a), lcore 2 received 5 and sent 7.
    let by_worker =
        |l: usize| ["rxPackets", "txPackets"].map(|f| snap["lcores"][l][f].as_u64().unwrap());
    assert_eq!([by_worker(0), by_worker(1)], [[10, 0], [5, 7]]);
    assert_eq!(r.latest_sample().unwrap(), None, "no sample yet");
    seg.sample();
    lanes[0].rx_packets.store(20, Relaxed);
    seg.sample();
    let (time, values) = Reader::open(seg.path())
        .unwrap()
        .latest_sample()
        .unwrap()
        .unwrap();
    assert!(time > 0);
    assert_eq!(values, vec![[25, 0, 0], [0, 7, 2]]);
    let listed = Reader::list(&[&dir]);
    assert_eq!(listed.len(), 1);
    assert!(listed[0].alive);
    let path = seg.path().to_owned();
    drop(seg);
    assert!(!path.exists(), "a clean stop removes the segment");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_corrupt_and_foreign_files_are_clear_errors() {
    let dir = scratch("bad");
    let seg = Segment::create(&dir, 4096, &spec("eng2")).unwrap();
    let good = std::fs::read(seg.path()).unwrap();
    // The header's size: the bytes in use (the file is whole pages, a little longer).
    let used = u64::from_le_bytes(good[16..24].try_into().unwrap()) as usize;
    for cut in [0, 10, 255, 300, used - 1] {
        match Reader::from_bytes(good[..cut].to_vec()).and_then(|r| r.snapshot()) {
            Err(ReaderError::Corrupt(_)) => {}
            other => panic!("a segment cut at {cut} bytes read as {other:?}"),
        }
    }
    let mut wrong = good.clone();
    wrong[8] = 9;
    assert_eq!(
        Reader::from_bytes(wrong).unwrap_err(),
        ReaderError::Version(9)
    );
    let mut far = good.clone();
    // Point the rx packets entry (second directory entry) far past the end.
    let at = 256 + 128 + 48;
    far[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        Reader::from_bytes(far).unwrap().snapshot(),
        Err(ReaderError::Corrupt(_))
    ));
    assert!(matches!(
        Reader::from_bytes(b"not a segment at all, but long enough?".repeat(10)),
        Err(ReaderError::Corrupt(_))
    ));
    assert!(matches!(
        Reader::open(&dir.join("none")),
        Err(ReaderError::Missing(_))
    ));
    drop(seg);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_counter_beyond_the_catalogue_reaches_the_reader_and_counts_off_point_at_the_driver() {
    let dir = scratch("extra");
    let mut spec = spec("eng3");
    spec.counting = false;
    spec.extra = vec![("port/testProbe".into(), "A test-only counter.".into())];
    let seg = Segment::create(&dir, 4096, &spec).unwrap();
    seg.extra(0, 1, 1).unwrap().store(42, Relaxed);
    seg.extra(0, 0, 1).unwrap().store(1, Relaxed);
    assert!(seg.extra(0, 2, 0).is_none() && seg.extra(1, 0, 0).is_none());
    seg.lanes()[0].rx_packets.store(99, Relaxed); // not counting: the reader ignores the lanes
    seg.set_driver(0, [5, 6, 0, 0, 0, 0, 0, 0]);
    let snap = Reader::open(seg.path()).unwrap().snapshot().unwrap();
    assert_eq!(snap["ports"][1]["testProbe"], serde_json::json!(43));
    assert_eq!(snap["ports"][0]["testProbe"], serde_json::json!(0));
    assert_eq!(
        [
            &snap["ports"][0]["rxPackets"],
            &snap["ports"][0]["txPackets"]
        ],
        [&serde_json::json!(5), &serde_json::json!(6)]
    );
    assert!(
        snap["lcores"][0].get("rxPackets").is_none(),
        "no per-worker packet counts when workers do not count"
    );
    drop(seg);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn liveness_is_the_engines_lock_not_its_pid_nor_a_readers_mapping() {
    let dir = scratch("liveness");
    let seg = Segment::create(&dir, 4096, &spec("live")).unwrap();
    let _mapped = stats::Mapping::open(seg.path()).unwrap();
    assert!(Reader::open(seg.path()).unwrap().alive().unwrap());
    let clash = Segment::create(&dir, 4096, &spec("live")).unwrap_err();
    assert_eq!(clash.kind(), std::io::ErrorKind::AlreadyExists);

    // What a killed engine leaves: the same bytes (a live pid, a fresh heartbeat), no lock.
    let dead = dir.join(stats::file_name("dead"));
    std::fs::copy(seg.path(), &dead).unwrap();
    let _reader = stats::Mapping::open(&dead).unwrap();
    let r = Reader::open(&dead).unwrap();
    assert_eq!(r.pid().unwrap(), std::process::id());
    assert!(
        !r.alive().unwrap(),
        "no one holds the lock: dead, whatever the pid says"
    );
    let next = Segment::create(&dir, 4096, &spec("dead")).unwrap();
    assert!(Reader::open(next.path()).unwrap().alive().unwrap());

    // Retired, the file goes; a new engine's file at that path is not the old one's to remove.
    seg.retire();
    let newer = Segment::create(&dir, 4096, &spec("live")).unwrap();
    drop(seg);
    assert!(newer.path().exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn route_stages_and_next_hops_keep_their_slots_and_nest_in_the_snapshot() {
    let dir = scratch("routes");
    let seg = Segment::create(&dir, 4096, &spec("routes")).unwrap();
    let p = seg.pipeline_slot("router").unwrap();
    let core = seg.route_slot(p, "core").unwrap();
    let edge = seg.route_slot(p, "edge").unwrap();
    assert_ne!(core, edge);
    assert_eq!(
        seg.route_slot(p, "core"),
        Some(core),
        "a name keeps its slot"
    );
    // Next hops are named per stage: the same name under two stages is two slots.
    let up = seg.next_hop_slot(core, "up").unwrap();
    let edge_up = seg.next_hop_slot(edge, "up").unwrap();
    assert_ne!(up, edge_up);
    assert_eq!(seg.next_hop_slot(core, "up"), Some(up));
    // Worker 0 and worker 1 both count: readers sum the copies.
    seg.route_counters(0, core)[0].store(3, Relaxed);
    seg.route_counters(1, core)[0].store(4, Relaxed);
    seg.route_counters(1, core)[3].store(1, Relaxed);
    seg.next_hop_counter(0, up).store(10, Relaxed);
    seg.next_hop_counter(1, edge_up).store(2, Relaxed);
    let snap = Reader::open(seg.path()).unwrap().snapshot().unwrap();
    let routes = &snap["pipelines"][0]["routes"];
    assert_eq!(
        routes,
        &serde_json::json!([
            { "name": "core", "noRoute": 7, "ttlExpired": 0, "badHeader": 0, "notIp": 1,
              "nextHops": [{ "name": "up", "forwarded": 10 }] },
            { "name": "edge", "noRoute": 0, "ttlExpired": 0, "badHeader": 0, "notIp": 0,
              "nextHops": [{ "name": "up", "forwarded": 2 }] },
        ])
    );
    drop(seg);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_workers_view_writes_where_readers_look() {
    let dir = scratch("view");
    let seg = std::sync::Arc::new(Segment::create(&dir, 4096, &spec("viewed")).unwrap());
    assert!(
        stats::WorkerView::new(&seg, 2).is_none(),
        "two workers: no third"
    );
    let view = stats::WorkerView::new(&seg, 1).unwrap();
    view.lane(1).tx_packets.store(9, Relaxed); // lcore 2, port b
    view.lane(0).rx_packets.store(4, Relaxed); // lcore 2, port a
    let slot = seg.pipeline_slot("a-to-b").unwrap();
    view.pipeline(slot)[1].store(3, Relaxed); // out
    seg.set_link_up(0, Some(false));
    seg.set_link_up(1, Some(true));
    assert_eq!(
        [view.link_up(0), view.link_up(1), view.link_up(2)],
        [false, true, true],
        "port a down, b up; a port past the last counts as up"
    );
    let snap = Reader::open(seg.path()).unwrap().snapshot().unwrap();
    assert_eq!(snap["ports"][1]["txPackets"].as_u64(), Some(9));
    assert_eq!(snap["ports"][0]["rxPackets"].as_u64(), Some(4));
    assert_eq!(snap["lcores"][1]["txPackets"].as_u64(), Some(9));
    assert_eq!(snap["lcores"][0]["txPackets"].as_u64(), Some(0));
    assert_eq!(snap["ports"][0]["linkUp"].as_u64(), Some(0));
    let a_to_b = snap["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "a-to-b")
        .unwrap();
    assert_eq!(a_to_b["outPackets"].as_u64(), Some(3), "{a_to_b}");
    assert_eq!(seg.pipeline_counters(1, slot)[1].load(Relaxed), 3);
    assert_eq!(seg.pipeline_counters(0, slot)[1].load(Relaxed), 0);
    drop(view);
    drop(seg);
    std::fs::remove_dir_all(&dir).unwrap();
}
