//! What `run` used to refuse only after EAL started, refused before it with the same words:
//! the software drivers' limits on a port's fields, a stats group this machine lacks, the
//! stats segment's room, and (the plan's part, on the rx queue layout) a sending worker
//! without a tx queue. PCI devices and other vdevs stay unknown until they are probed.

use serde_json::{json, Value as Json};

use super::{problems_in, Problem};
use crate::config::EngineConfig;
use crate::plan::Plan;
use crate::SCHEMA_VERSION;

fn encode(config: &Json) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({ "version": SCHEMA_VERSION, "config": config })).unwrap()
}

/// The problems with `config`, as `path: reason` lines.
fn lines(config: &Json) -> Vec<String> {
    problems_in(&encode(config))
        .iter()
        .map(Problem::line)
        .collect()
}

/// Port `b` as given, fed from a null port `a` by one worker.
fn port_b(b: &Json) -> Vec<String> {
    lines(&json!({
        "memory": { "hugepages": false, "mbufs": 262_143 },
        "ports": { "a": { "null": {} }, "b": b },
        "lcores": { "workers": [1] },
        "pipelines": [{ "input": "a", "output": "b" }]
    }))
}

const NONE: [&str; 0] = [];

#[test]
fn a_port_asks_its_driver_only_what_it_can_do() {
    let pcap = json!({ "rx": "/tmp/in.pcap" });
    assert_eq!(
        port_b(&json!({ "pcap": pcap, "queues": 2, "mtu": 1400, "mac": "02:00:00:00:00:01" })),
        [
            "ports.b.queues: driver net_pcap offers at most 1 rx queue(s) here; 2 were asked for: set queues to at most 1",
            "ports.b.mtu: driver net_pcap cannot set an MTU; remove mtu from this port",
            "ports.b.mac: driver net_pcap cannot set its MAC address; remove mac from this port",
        ]
    );
    assert_eq!(
        port_b(&json!({ "vdev": "net_pcap9,rx_pcap=/tmp/a,rx_pcap=/tmp/b", "queues": 2 })),
        NONE
    );
    assert_eq!(
        port_b(&json!({ "pcap": {} })),
        ["ports.b.pcap: needs rx, tx or both: without a file the driver has no queue to open"]
    );
    assert_eq!(
        port_b(&json!({ "ring": {}, "queues": 17, "mtu": 1500, "mac": "02:00:00:00:00:01" })),
        [
            "ports.b.queues: driver net_ring offers at most 16 rx queue(s) here; 17 were asked for: set queues to at most 16",
            "ports.b.mtu: driver net_ring cannot set an MTU; remove mtu from this port",
            "ports.b.mac: driver net_ring cannot set its MAC address; remove mac from this port",
        ]
    );
    assert_eq!(
        port_b(&json!({ "afPacket": { "iface": "veth0" }, "mtu": 1501 })),
        ["ports.b.mtu: driver net_af_packet takes an MTU of at most 1500; lower it"]
    );
    assert_eq!(port_b(&json!({ "tap": {}, "mtu": 1504 })), NONE);
    assert_eq!(
        port_b(&json!({ "tap": {}, "mtu": 1505 })),
        ["ports.b.mtu: driver net_tap takes an MTU of at most 1504; lower it"]
    );
    // Unknown until probed: whatever a PCI device or another vdev offers.
    assert_eq!(
        port_b(&json!({ "pci": "0000:03:00.0", "queues": 64, "mtu": 9000 })),
        NONE
    );
    assert_eq!(
        port_b(&json!({ "vdev": "net_virtio_user0,path=/tmp/v", "queues": 64, "mtu": 9000 })),
        NONE
    );
    // Socket paths both ends agree on, interface names.
    assert_eq!(
        port_b(&json!({ "memif": { "role": "client", "socket": "m.sock" } })),
        ["ports.b.memif.socket: \"m.sock\" is not a socket path: give an absolute path of at most 107 bytes without ',', '=' or control characters"]
    );
    assert_eq!(
        port_b(&json!({ "virtioUser": { "path": "/tmp/v.sock,server=1" } })).len(),
        1
    );
    assert_eq!(
        port_b(&json!({ "afXdp": { "iface": "eth0,queue_count=9" } })),
        ["ports.b.afXdp.iface: \"eth0,queue_count=9\" is not an interface name (1 to 15 letters, digits, _, . or -)"]
    );
    // memif and vhost ports set neither (testpmd: ENOTSUP).
    assert_eq!(
        port_b(&json!({ "memif": { "role": "server", "socket": "/run/m.sock" }, "mtu": 9000 })),
        ["ports.b.mtu: driver net_memif cannot set an MTU; remove mtu from this port"]
    );
    assert_eq!(
        port_b(
            &json!({ "vhost": { "socket": "/run/v.sock" }, "queues": 2, "mac": "02:00:00:00:00:01" })
        ),
        ["ports.b.mac: driver net_vhost cannot set its MAC address; remove mac from this port"]
    );
}

#[test]
fn a_tap_port_has_as_many_rx_queues_as_the_tx_queues_it_gets() {
    let two_workers = |queues: u16| {
        lines(&json!({
            "memory": { "hugepages": false, "mbufs": 262_143 },
            "ports": { "a": { "null": {} }, "t": { "tap": {}, "queues": queues } },
            "lcores": { "workers": [1, 2] },
            "pipelines": [{ "input": "a", "output": "t" }]
        }))
    };
    assert_eq!(
        two_workers(1),
        ["ports.t.queues: driver net_tap needs as many rx queues as tx queues, and the engine gives this port 2 tx queue(s) (one per worker, up to 16); set queues to 2"]
    );
    assert_eq!(two_workers(2), NONE);
}

#[test]
fn a_port_mac_is_unicast() {
    for (mac, why) in [
        ("01:00:5e:00:00:01", "is a multicast address"),
        ("00:00:00:00:00:00", "is all zeros"),
    ] {
        // Any driver: ethdev refuses these before asking it.
        assert_eq!(
            port_b(&json!({ "pci": "0000:03:00.0", "mac": mac })),
            [format!("ports.b.mac: \"{mac}\" {why}, which a port cannot take; give a unicast one (first byte even) such as 02:00:00:00:00:01")]
        );
    }
    assert_eq!(
        port_b(&json!({ "null": {}, "mac": "02:00:00:00:00:01" })),
        NONE
    );
}

#[test]
fn a_stats_group_name_is_a_group_of_this_machine() {
    let group = |group: Json| {
        lines(&json!({
            "memory": { "hugepages": false, "mbufs": 262_143 },
            "ports": { "a": { "null": {} } },
            "lcores": { "workers": [1] },
            "pipelines": [{ "input": "a", "output": "a" }],
            "stats": { "group": group }
        }))
    };
    assert_eq!(
        group(json!("monitoring-nowhere")),
        ["stats.group: there is no group named \"monitoring-nowhere\" on this machine; create it (groupadd monitoring-nowhere) or give a gid"]
    );
    assert_eq!(group(json!("root")), NONE);
    // A gid need not be any group's.
    assert_eq!(group(json!(987_654)), NONE);
}

#[test]
fn the_stats_segment_has_room_for_every_counter() {
    let pipelines: Vec<Json> = (0..=stats::PIPELINE_SLOTS)
        .map(|i| json!({ "name": format!("p{i}"), "generator": {}, "output": "a" }))
        .collect();
    let config = |pipelines: &[Json]| {
        json!({
            "memory": { "hugepages": false, "mbufs": 262_143 },
            "ports": { "a": { "null": {} } },
            "lcores": { "workers": [1] },
            "pipelines": pipelines
        })
    };
    assert_eq!(lines(&config(&pipelines[..stats::PIPELINE_SLOTS])), NONE);
    assert_eq!(
        lines(&config(&pipelines)),
        ["pipelines[64]: the stats segment counts at most 64 pipelines, and this is one more; merge some, or run them in another engine"]
    );
    // 512 match stages fit, over any pipelines; the 513th does not.
    let rules = |n: usize| -> Vec<Json> {
        (0..n)
            .map(|s| json!({ "kind": "match", "name": format!("r{s}"), "match": {}, "action": "count" }))
            .collect()
    };
    let two = |first: usize, second: usize| {
        config(&[
            json!({ "generator": {}, "stages": rules(first), "output": "a" }),
            json!({ "generator": {}, "stages": rules(second), "output": "a" }),
        ])
    };
    assert_eq!(lines(&two(500, 12)), NONE);
    assert_eq!(
        lines(&two(500, 13)),
        ["pipelines[1].stages[12]: the stats segment counts at most 512 match stages in all, and this is one more; merge some, or run them in another engine"]
    );
}

/// Plans `config` as the start does before EAL, on CPUs 0-3 without hugepages: its error.
fn plan_error(config: &Json) -> Option<String> {
    let config = EngineConfig::decode(&encode(config)).unwrap();
    Plan::new(&config, &[0, 1, 2, 3], &probe::Hugepages::default())
        .err()
        .map(|e| e.message)
}

/// Two workers that both run a pipeline from a two-queue null port `a` to `b` (and a match
/// stage that forwards to `c`).
fn two_senders(b: &Json, c: &Json) -> Json {
    json!({
        "memory": { "hugepages": false, "mbufs": 262_143 },
        "ports": { "a": { "null": {}, "queues": 2 }, "b": b, "c": c },
        "lcores": { "workers": [1, 2] },
        "pipelines": [{
            "input": "a",
            "stages": [{ "kind": "match", "match": { "vlan": 7 }, "action": { "forward": "c" } }],
            "output": "b"
        }]
    })
}

#[test]
fn every_sending_worker_has_a_tx_queue_before_eal() {
    let one_file = json!({ "pcap": { "tx": "/tmp/out.pcap" } });
    let null = json!({ "null": {} });
    assert_eq!(
        plan_error(&two_senders(&one_file, &null)).as_deref(),
        Some("pipelines[0].output: port \"b\" (net_pcap) has 1 tx queue(s), so only the first 1 worker(s) can send to it, but this pipeline also runs on lcore 2; use fewer workers or poll its inputs from the first ones")
    );
    assert_eq!(
        plan_error(&two_senders(&null, &json!({ "afPacket": { "iface": "veth0" } }))).as_deref(),
        Some("pipelines[0].stages[0].action.forward: port \"c\" (net_af_packet) has 1 tx queue(s), so only the first 1 worker(s) can send to it, but this pipeline also runs on lcore 2; use fewer workers or poll its inputs from the first ones")
    );
    // A tx queue for each: two tx files, or qpairs for two.
    let two_files = json!({ "vdev": "net_pcap9,tx_pcap=/tmp/a.pcap,tx_pcap=/tmp/b.pcap" });
    let qpairs = json!({ "vdev": "net_af_packet9,iface=veth0,qpairs=2" });
    assert_eq!(plan_error(&two_senders(&two_files, &qpairs)), None);
    // Only the first worker runs it: one tx queue is enough.
    let mut one_runner = two_senders(&one_file, &null);
    one_runner["ports"]["a"]["queues"] = json!(1);
    assert_eq!(plan_error(&one_runner), None);
    // A PCI device's queues are known once it is probed: compile checks it then.
    assert_eq!(
        plan_error(&two_senders(&json!({ "pci": "0000:03:00.0" }), &null)),
        None
    );
}

#[test]
fn a_generator_runs_on_its_own_worker() {
    // Generators are dealt to workers in turn: the second runs on lcore 2.
    let config = json!({
        "memory": { "hugepages": false, "mbufs": 262_143 },
        "ports": { "a": { "null": {} }, "b": { "pcap": { "tx": "/tmp/out.pcap" } } },
        "lcores": { "workers": [1, 2] },
        "pipelines": [
            { "generator": {}, "output": "a" },
            { "generator": {}, "output": ["a", "b"] }
        ]
    });
    assert_eq!(
        plan_error(&config).as_deref(),
        Some("pipelines[1].output[1]: port \"b\" (net_pcap) has 1 tx queue(s), so only the first 1 worker(s) can send to it, but this pipeline also runs on lcore 2; use fewer workers or poll its inputs from the first ones")
    );
}
