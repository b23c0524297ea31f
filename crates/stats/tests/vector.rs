//! The test vector shared with the TypeScript reader: `test/fixtures/stats-v2.bin` is a
//! segment this writer produced, and `test/fixtures/stats-v2.json` is how this reader decodes
//! it (regenerate both with `FASTPATH_WRITE_VECTOR=1 cargo test -p stats`).
//! `test/stats-vector.test.ts` must decode the same bytes to the same JSON.

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;

use serde_json::json;
use stats::{MemorySummary, Reader, Scalar, Segment, SegmentSpec};

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../test/fixtures/stats-v2.bin"
);
const DECODED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../test/fixtures/stats-v2.json"
);

/// Probe counters and histograms of pipeline slot `filter`: worker 0 forwarded 90 packets
/// at 1000 ns and 10 at 5000 ns, worker 1 one at 300 ns; 4 probe round trips on worker 1, 2
/// probes lost and 1 reordered.
fn write_histograms(seg: &Segment, filter: usize) {
    let [.., lost, reordered, _, _] = seg.pipeline_counters(0, filter);
    lost.store(2, Relaxed);
    reordered.store(1, Relaxed);
    let latency = seg.pipeline_histogram(0, filter, false);
    stats::histogram::record(latency, 1000, 90);
    stats::histogram::record(latency, 5000, 10);
    stats::histogram::record(seg.pipeline_histogram(1, filter, false), 300, 1);
    for rtt in [20_000, 21_000, 22_000, 90_000] {
        stats::histogram::record(seg.pipeline_histogram(1, filter, true), rtt, 1);
    }
}

fn write_vector() {
    let dir = std::env::temp_dir().join(format!("fastpath-stats-vector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = SegmentSpec {
        name: "vector".into(),
        ports: vec![("wan".into(), 0), ("lan".into(), 1)],
        lcores: vec![(1, 1), (2, 3)],
        // wan has two rx queues, one per lcore; lan one, polled by lcore 2.
        rx_owners: vec![vec![Some(0), Some(1)], vec![Some(1)]],
        counting: true,
        extra: Vec::new(),
    };
    let seg = Segment::create(&dir, 4096, &spec).unwrap();
    let lanes = seg.lanes();
    // lcore 1: wan rx 1000, lan tx 990, lan tx_dropped 10; lcore 2: lan rx 500, wan tx 500, wan unrouted 3.
    lanes[0].rx_packets.store(1000, Relaxed);
    lanes[1].tx_packets.store(990, Relaxed);
    lanes[1].tx_dropped.store(10, Relaxed);
    lanes[3].rx_packets.store(500, Relaxed);
    lanes[2].tx_packets.store(500, Relaxed);
    lanes[2].unrouted.store(3, Relaxed);
    let filter = seg.pipeline_slot("filter").unwrap();
    assert_eq!(
        seg.pipeline_slot("filter"),
        Some(filter),
        "a name keeps its slot"
    );
    let [pin, pout, pdropped, ..] = seg.pipeline_counters(0, filter);
    pin.store(1000, Relaxed);
    pout.store(990, Relaxed);
    pdropped.store(10, Relaxed);
    write_histograms(&seg, filter);
    seg.pipeline_counters(1, filter)[0].store(500, Relaxed);
    let rule = seg.rule_slot(filter, "no-dns").unwrap();
    seg.rule_counter(1, rule).store(7, Relaxed);
    // An ACL stage "fw": rule "ssh" hit 5 + 2 times, "rest" never; 3 packets unmatched.
    let acl = seg.acl_slot(filter, "fw").unwrap();
    let ssh = seg.acl_rule_slot(acl, "ssh").unwrap();
    assert_eq!(seg.acl_rule_slot(acl, "rest"), Some(ssh + 1));
    assert_eq!(
        seg.acl_rule_slot(acl, "ssh"),
        Some(ssh),
        "a name keeps its slot"
    );
    seg.acl_rule_counter(0, ssh).store(5, Relaxed);
    seg.acl_rule_counter(1, ssh).store(2, Relaxed);
    seg.acl_unmatched_counter(1, acl).store(3, Relaxed);
    let [loops, idle, busy_cycles, idle_cycles] = seg.loops(0).unwrap();
    loops.store(7, Relaxed);
    idle.store(2, Relaxed);
    busy_cycles.store(3_000, Relaxed);
    idle_cycles.store(1_000, Relaxed);
    assert!(seg.loops(2).is_none());
    seg.set_tsc_hz(2_000_000_000);
    seg.set_queue_counts(0, 2, 2);
    seg.set_queue_counts(1, 1, 2);
    // wan's link is up; lan's driver cannot tell (null).
    seg.set_link_up(0, Some(true));
    seg.set_queues(
        0,
        &[
            [1500, 96_000, 250, 16_000, 1],
            [501, 32_064, 250, 16_000, 0],
        ],
    );
    seg.set_queues(1, &[[500, 32_000, 990, 63_360, 0]]);
    seg.set_driver(0, [2001, 500, 2001 * 64, 500 * 64, 1, 2, 3, 4]);
    seg.set_driver(1, [500, 1000, 500 * 64, 1000 * 64, 1, 2, 3, 4]);
    seg.set(Scalar::Generation, 3);
    seg.set(Scalar::MempoolCapacity, 8191);
    seg.set(Scalar::MempoolAvailable, 8000);
    seg.set(Scalar::MempoolInUse, 191);
    seg.add(Scalar::MempoolDrySamples, 2);
    // IOVA as PA, two 2 MiB pages that are not IOVA-contiguous: two runs.
    seg.set_memory(
        &MemorySummary {
            iova_mode: 1,
            bytes: 4 << 20,
            segments: 2,
            page_size: 2 << 20,
            heap_total: 4 << 20,
            heap_allocated: 3 << 20,
            planned: 4 << 20,
        },
        &[
            (0x1_0000_0000, 0x8000_0000, 2 << 20, 1, 0),
            (0x1_0020_0000, 0x9000_0000, 2 << 20, 1, -1),
        ],
    );
    seg.set_started();
    seg.sample();
    lanes[0].rx_packets.store(2000, Relaxed);
    seg.sample();
    seg.set_failure("worker lcore 2 (worker 1) panicked: a test");
    seg.mark_stopped();
    std::fs::copy(seg.path(), VECTOR).unwrap();
    drop(seg);
    std::fs::remove_dir_all(&dir).unwrap();
    let decoded = Reader::open(Path::new(VECTOR)).unwrap().snapshot().unwrap();
    let mut text = serde_json::to_string_pretty(&decoded).unwrap();
    text.push('\n');
    std::fs::write(DECODED, text).unwrap();
}

#[test]
fn the_committed_vector_reads_as_expected() {
    if std::env::var_os("FASTPATH_WRITE_VECTOR").is_some() {
        write_vector();
    }
    let r = Reader::open(Path::new(VECTOR))
        .expect("test/fixtures/stats-v2.bin: regenerate with FASTPATH_WRITE_VECTOR=1");
    assert_eq!(r.name().unwrap(), "vector");
    assert!(!r.alive().unwrap(), "the vector's engine has stopped");
    let snap = r.snapshot().unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DECODED).unwrap()).unwrap();
    assert_eq!(
        snap, committed,
        "test/fixtures/stats-v2.json: regenerate with FASTPATH_WRITE_VECTOR=1"
    );
    // What the vector's writer wrote, by name, as every reader must see it.
    let port = |p: usize, field: &str| snap["ports"][p][field].clone();
    assert_eq!(
        [
            port(0, "rxPackets"),
            port(0, "txPackets"),
            port(0, "unrouted"),
            port(0, "txDropped")
        ],
        [json!(2000), json!(500), json!(3), json!(0)]
    );
    assert_eq!(
        [
            port(1, "rxPackets"),
            port(1, "txPackets"),
            port(1, "txDropped")
        ],
        [json!(500), json!(990), json!(10)]
    );
    assert_eq!(
        [
            port(0, "driverRxPackets"),
            port(0, "rxBytes"),
            port(0, "rxNombuf")
        ],
        [json!(2001), json!(2001 * 64), json!(4)]
    );
    assert_eq!(
        snap["ports"][0]["queues"],
        json!([
            { "name": "0", "rxLcore": "1", "rxPackets": 1500, "rxBytes": 96_000, "txPackets": 250, "txBytes": 16_000, "errors": 1 },
            { "name": "1", "rxLcore": "2", "rxPackets": 501, "rxBytes": 32_064, "txPackets": 250, "txBytes": 16_000, "errors": 0 },
        ])
    );
    assert_eq!(
        snap["ports"][1]["queues"][1]["rxLcore"],
        json!(null),
        "lan's tx-only queue pair has no rx owner"
    );
    assert_eq!(
        snap["lcores"][0],
        json!({
            "name": "1", "cpu": 1, "loops": 7, "idleLoops": 2, "busyCycles": 3000, "idleCycles": 1000, "tscHz": 2_000_000_000,
            "rxPackets": 2000, "txPackets": 990, "txDropped": 10, "txLinkDown": 0,
        })
    );
    assert_eq!(
        snap["pipelines"],
        json!([{ "name": "filter", "inPackets": 1500, "outPackets": 990, "dropped": 10, "generated": 0,
            "probesLost": 2, "probesReordered": 1, "paceMissed": 0,
            "latency": { "count": 101, "minNs": 300, "p50Ns": 1007, "p90Ns": 1007, "p99Ns": 4991, "p999Ns": 4991, "maxNs": 5000 },
            "probes": { "count": 4, "minNs": 20_000, "p50Ns": 20_991, "p90Ns": 88_063, "p99Ns": 88_063, "p999Ns": 88_063, "maxNs": 90_000 },
            "rules": [{ "name": "no-dns", "matched": 7 }], "routes": [],
            "acls": [{ "name": "fw", "unmatched": 3, "aclRules": [{ "name": "ssh", "hits": 7 }, { "name": "rest", "hits": 0 }] }] }])
    );
    assert_eq!(
        snap["mempool"],
        json!({ "capacity": 8191, "available": 8000, "inUse": 191, "drySamples": 2 })
    );
    assert_eq!(snap["generation"], json!(3));
    assert_eq!(
        snap["failure"],
        json!("worker lcore 2 (worker 1) panicked: a test")
    );
    assert_eq!(snap["failed"], json!(true));
    assert_eq!(
        snap["memoryRuns"][1],
        json!({ "name": "0x100200000", "iova": 0x9000_0000_u64, "bytes": 2 << 20, "segments": 1, "socket": null })
    );
    assert_eq!(snap["memory"]["runs"], json!(2));
    let (_, latest) = r.latest_sample().unwrap().unwrap();
    assert_eq!(latest, vec![[2000, 500, 3], [500, 990, 10]]);
}
