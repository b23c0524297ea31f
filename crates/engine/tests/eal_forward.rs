//! Engine tests on a real EAL with DPDK's software vdevs.
//!
//! EAL starts once per process, so each test re-runs this test binary filtered to itself,
//! in a child process with its own `--file-prefix`, and checks the child's verdict.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::config::{
    EalConfig, EngineConfig, LcoreConfig, MemoryConfig, PipelineConfig, PortConfig, WorkerConfig,
};
use engine::{Engine, ErrorCode};

const CHILD_ENV: &str = "FASTPATH_ENGINE_TEST_CHILD";

/// Runs `body` in a fresh process (this binary, filtered to `name`).
fn in_own_process(name: &str, body: impl FnOnce()) {
    testkit::in_own_process(CHILD_ENV, name, body);
}

fn port(name: &str, vdev: &str) -> PortConfig {
    PortConfig {
        name: name.into(),
        vdev: Some(vdev.into()),
        pci: None,
        pcap: None,
        af_packet: None,
        tap: None,
        ring: None,
        null: None,
        memif: None,
        vhost: None,
        virtio_user: None,
        af_xdp: None,
        queues: 1,
        rx_descriptors: 512,
        tx_descriptors: 512,
        promiscuous: true,
        mtu: None,
        mac: None,
    }
}

fn forward(name: &str, from: &str, to: &str) -> PipelineConfig {
    PipelineConfig {
        name: Some(name.into()),
        input: [from].into_iter().collect(),
        generator: None,
        stages: vec![],
        output: [to].into_iter().collect(),
    }
}

fn worker(lcore: u32) -> WorkerConfig {
    WorkerConfig::on(lcore)
}

/// Two ports `a` and `b`, forwarded both ways (io), on one worker.
fn config(tag: &str, a: &str, b: &str) -> EngineConfig {
    EngineConfig {
        ports: vec![port("a", a), port("b", b)],
        lcores: LcoreConfig {
            main: Some(0),
            main_cpu: None,
            workers: vec![worker(1)],
            // The tests of this file run side by side, each engine in a process of its own.
            share_cpus: true,
        },
        memory: MemoryConfig {
            hugepages: Some(false),
            mbufs: 8191,
            mbuf_cache: 128,
        },
        eal: EalConfig {
            file_prefix: Some(format!("fastpath-test-{tag}-{}", std::process::id())),
            log_level: Some("notice".into()),
            ..EalConfig::default()
        },
        pipelines: vec![forward("a-to-b", "a", "b"), forward("b-to-a", "b", "a")],
        stats: engine::config::StatsConfig::default(),
    }
}

fn cpus_allowed() -> String {
    let status = fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list"))
        .unwrap()
        .to_owned()
}

#[test]
fn null_ports_forward_both_ways_without_pinning_the_caller() {
    in_own_process(
        "null_ports_forward_both_ways_without_pinning_the_caller",
        || {
            let before = cpus_allowed();
            let mut engine = Engine::start(&config("null", "net_null0", "net_null1")).unwrap();
            let info = engine.info().clone();
            assert_eq!(info.iova_mode, "VA", "--no-huge must select IOVA as VA");
            assert!(!info.hugepages);
            assert!(info.eal_args.contains(&"--no-pci".to_owned()));
            assert_eq!(
                info.ports
                    .iter()
                    .map(|p| p.driver.as_str())
                    .collect::<Vec<_>>(),
                ["net_null", "net_null"]
            );
            assert_eq!(info.workers[0].rx_queues, ["a:0", "b:0"]);

            std::thread::sleep(Duration::from_millis(300));
            let live = engine.stats().unwrap();
            assert_eq!(
                cpus_allowed(),
                before,
                "EAL must not pin the thread that started the engine"
            );
            // The engine's own view is the stats segment, decoded by kind.
            let n = |v: &serde_json::Value, field: &str| v[field].as_u64().unwrap();
            for port in live["ports"].as_array().unwrap() {
                assert!(
                    n(port, "rxPackets") > 0 && n(port, "txPackets") > 0,
                    "{port}"
                );
            }
            let last = engine.stop().unwrap();
            // Once the workers are done, every packet received was sent or counted as dropped.
            for (port, other) in [(0, 1), (1, 0)] {
                let (rx, tx) = (&last["ports"][port], &last["ports"][other]);
                assert_eq!(
                    n(rx, "rxPackets"),
                    n(tx, "txPackets") + n(tx, "txDropped"),
                    "{rx} → {tx}"
                );
                assert!(n(rx, "rxPackets") >= n(&live["ports"][port], "rxPackets"));
                assert_eq!(n(&last["pipelines"][port], "inPackets"), n(rx, "rxPackets"));
            }
            assert_eq!(
                n(&last["lcores"][0], "rxPackets"),
                n(&last["ports"][0], "rxPackets") + n(&last["ports"][1], "rxPackets")
            );
            assert_eq!(last["alive"], false, "a stopped engine's last snapshot");
            assert_eq!(engine.stop().unwrap_err().code, ErrorCode::Stopped);
            let again = Engine::start(&config("null-again", "net_null2", "net_null3")).unwrap_err();
            assert_eq!(again.code, ErrorCode::EalAlready, "{again}");
        },
    );
}

/// A classic pcap file of `frames`.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for word in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for (i, frame) in frames.iter().enumerate() {
        let len = frame.len() as u32;
        for word in [1_700_000_000u32, i as u32, len, len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    fs::write(path, out).unwrap();
}

/// The frames of a little-endian pcap file (micro- or nanosecond timestamps).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap();
    let magic = u32::from_le_bytes(data[..4].try_into().unwrap());
    assert!(
        [0xa1b2_c3d4, 0xa1b2_3c4d].contains(&magic),
        "not a little-endian pcap: {magic:#x}"
    );
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(data[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    frames
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fastpath-engine-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn pcap_ports_deliver_every_packet_byte_for_byte() {
    in_own_process("pcap_ports_deliver_every_packet_byte_for_byte", || {
        let dir = scratch("pcap");
        let frames: Vec<Vec<u8>> = (0..200u32)
            .map(|i| {
                let mut f = vec![0u8; 60 + (i as usize % 40)];
                f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
                f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
                f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
                f[14..18].copy_from_slice(&i.to_be_bytes());
                f
            })
            .collect();
        write_pcap(&dir.join("in.pcap"), &frames);
        write_pcap(&dir.join("none.pcap"), &[]);
        let d = dir.display();
        let mut engine = Engine::start(&config(
            "pcap",
            &format!("net_pcap0,rx_pcap={d}/in.pcap,tx_pcap={d}/out0.pcap"),
            &format!("net_pcap1,rx_pcap={d}/none.pcap,tx_pcap={d}/out1.pcap"),
        ))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let sent = |e: &Engine| {
            e.stats().unwrap()["ports"][1]["txPackets"]
                .as_u64()
                .unwrap()
        };
        while sent(&engine) < 200 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let last = engine.stop().unwrap();
        let port = |p: usize, field: &str| last["ports"][p][field].as_u64().unwrap();
        assert_eq!(port(0, "rxPackets"), 200);
        assert_eq!(port(1, "txPackets"), 200);
        assert_eq!(port(1, "txDropped"), 0);
        assert_eq!(port(1, "rxPackets"), 0);
        // pcap counts bytes: the driver's count reached the segment before the ports closed.
        let bytes: usize = frames.iter().map(Vec::len).sum();
        assert_eq!(port(0, "rxBytes"), bytes as u64);
        assert_eq!(
            read_pcap(&dir.join("out1.pcap")),
            frames,
            "port 1 must send what port 0 received, in order"
        );
        assert!(read_pcap(&dir.join("out0.pcap")).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn an_unknown_vdev_fails_init_with_a_hint_and_the_process_lives_on() {
    in_own_process(
        "an_unknown_vdev_fails_init_with_a_hint_and_the_process_lives_on",
        || {
            let err = Engine::start(&config("bogus", "net_bogus0", "net_null1")).unwrap_err();
            assert_eq!(err.code, ErrorCode::EalInit, "{err}");
            assert!(err.message.contains("net_bogus0"), "{err}");
            assert!(err.message.contains("check each --vdev spec"), "{err}");
            let again = Engine::start(&config("bogus2", "net_null0", "net_null1")).unwrap_err();
            assert_eq!(again.code, ErrorCode::EalAlready, "{again}");
        },
    );
}
