//! Every rule with its exact message and path, on configs written as the user writes them
//! (JSON here, msgpack on the wire through the same decoder the binding uses).

use serde_json::{json, Value as Json};

use super::problems_in;
use crate::config::wire;
use crate::SCHEMA_VERSION;

/// Two null ports forwarded both ways by one worker: no problems.
pub(super) fn base() -> Json {
    json!({
        "ports": { "a": { "null": {} }, "b": { "null": {} } },
        "lcores": { "workers": [1] },
        "memory": { "hugepages": false, "mbufs": 262_143 },
        "pipelines": [{ "input": "a", "output": "b" }, { "input": "b", "output": "a" }]
    })
}

pub(super) fn encode(config: &Json) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({ "version": SCHEMA_VERSION, "config": config })).unwrap()
}

/// The problems with `config`, as `path: reason` lines.
fn lines(config: &Json) -> Vec<String> {
    problems_in(&encode(config))
        .iter()
        .map(super::Problem::line)
        .collect()
}

fn push(list: &mut Json, item: Json) {
    list.as_array_mut().unwrap().push(item);
}

/// `base()` changed by `edit`, and its problems.
fn with(edit: impl FnOnce(&mut Json)) -> Vec<String> {
    let mut config = base();
    edit(&mut config);
    lines(&config)
}

#[test]
fn good_configs_have_no_problems() {
    assert_eq!(lines(&base()), Vec::<String>::new());
    let rich = json!({
        "eal": { "filePrefix": "fp-1.x", "iovaMode": "VA", "logLevel": "notice", "extraArgs": ["--no-telemetry"] },
        "memory": { "mbufs": 65535, "mbufCache": 512 },
        "ports": {
            "wan": { "pcap": { "rx": "/tmp/in.pcap", "tx": "/tmp/out.pcap", "infiniteRx": true } },
            "lan": { "afPacket": { "iface": "veth0" }, "mtu": 1500, "mac": "02:00:00:00:00:0A" },
            "t": { "tap": {}, "queues": 2 }, "r": { "ring": {} }, "v": { "vdev": "net_memif0,role=server" },
            "p": { "pci": "0000:03:00.0", "queues": 4, "mtu": 9000, "mac": "02:00:00:00:00:0B" },
            "g": { "null": { "size": 64 }, "queues": 2 }
        },
        "lcores": { "main": 0, "workers": [{ "lcore": 1, "rx": [{ "port": "wan", "queue": 0 }] }, { "lcore": 2, "cpu": 1 }] },
        "pipelines": [
            { "name": "filter", "input": ["wan"], "stages": ["macSwap", { "kind": "match", "name": "dns", "match": { "vlan": 4095, "src": "10.0.0.0/8", "dst": "2001:db8::/32", "proto": "udp", "srcPort": [1, 1], "dstPort": 53 }, "action": { "mirror": "r" } }], "output": "lan" },
            { "name": "make", "generator": { "packetSize": 2048, "flows": 65536, "burst": 32, "srcMac": "02-00-00-00-00-01", "srcIp": "10.0.0.1", "count": 1 }, "stages": [{ "kind": "macRewrite", "dst": "02:00:00:00:00:02" }], "output": "t" },
            { "input": ["lan", "r"], "stages": [{ "kind": "bridge", "agingS": 86400 }], "output": ["lan", "r", "v"] }
        ],
        "stats": { "counters": false, "group": "root" }
    });
    assert_eq!(lines(&rich), Vec::<String>::new());
    assert_eq!(
        with(|c| c["stats"] = json!({ "group": 4_294_967_295_u64 })),
        Vec::<String>::new()
    );
}

#[test]
fn eal_and_memory() {
    assert_eq!(
        with(|c| c["eal"] = json!({ "filePrefix": "a b", "logLevel": "" })),
        [
            "eal.filePrefix: \"a b\" use letters, digits, _ . -",
            "eal.logLevel: \"\" Too small: expected string to have >=1 characters",
        ]
    );
    assert_eq!(
        with(|c| c["memory"] = json!({ "mbufs": 0, "mbufCache": 600 })),
        [
            "memory.mbufs: number 0 Too small: expected number to be >=1",
            "memory.mbufCache: number 600 Too big: expected number to be <=512",
        ]
    );
    assert_eq!(
        with(|c| c["memory"] = json!({ "mbufs": 1 << 30 })),
        ["memory.mbufs: number 1073741824 Too big: expected number to be <=1073741823"]
    );
    // Two ports of 1024 rx and 1024 tx descriptors, one worker caching 256 and holding a
    // burst per port and two more, and the main lcore's cache: 4096 + 256 + 128 + 256.
    assert_eq!(
        with(|c| c["memory"] = json!({ "mbufs": 1023 })),
        ["memory.mbufs: 1023 mbufs cannot fill every rx/tx ring and lcore cache; raise it to at least 4736 (or shrink rxDescriptors/txDescriptors)"]
    );
}

#[test]
fn ports_need_a_name_one_source_and_their_own_device() {
    assert_eq!(
        with(|c| c["ports"] = json!({})),
        [
            "ports: no ports: give at least one (e.g. a: { vdev: \"net_null0\" })",
            "pipelines[0].input: \"a\" is not a port (ports: )",
            "pipelines[0].output: \"b\" is not a port (ports: )",
            "pipelines[1].input: \"b\" is not a port (ports: )",
            "pipelines[1].output: \"a\" is not a port (ports: )",
        ]
    );
    assert_eq!(
        with(|c| {
            c["ports"]["1a"] = json!({ "ring": {} });
            c["ports"]["a"] = json!({});
            c["ports"]["b"] = json!({ "null": {}, "ring": {} });
        }),
        [
            "ports[\"1a\"]: \"1a\" port names start with a letter, then letters, digits, _ or -",
            "ports.a: needs a source: one of vdev, pci, pcap, afPacket, tap, ring, null, memif, vhost, virtioUser, afXdp",
            "ports.b: has ring and null; give exactly one source",
        ]
    );
    assert_eq!(
        with(|c| {
            c["ports"]["a"] = json!({ "vdev": "net_ring1" });
            c["ports"]["b"] = json!({ "ring": {} });
            c["ports"]["c"] = json!({ "vdev": "net_ring1,x=y" });
        }),
        [
            "ports.b: device \"net_ring1\" is already port \"a\"; each port needs its own device",
            "ports.c: device \"net_ring1\" is already port \"a\"; each port needs its own device",
        ]
    );
}

#[test]
fn port_strings_that_reach_a_driver_are_checked() {
    assert_eq!(
        with(|c| {
            c["ports"]["a"] = json!({ "vdev": ",x", "queues": 0, "rxDescriptors": 0, "mtu": 20, "mac": "02:00:00:00:00:0g" });
            c["ports"]["b"] = json!({ "pci": "03:00.8", "queues": 65, "txDescriptors": 0, "mac": "+2:00:00:00:00:01" });
            c["ports"]["c"] = json!({ "pcap": { "rx": "in.pcap,iface=eth0", "tx": "out\n" } });
            c["ports"]["d"] = json!({ "afPacket": { "iface": "eth0,qpairs=64" } });
            c["ports"]["e"] = json!({ "tap": { "iface": "a-name-longer-than-15" }, "null": { "size": 10 } });
            c["ports"]["f"] = json!({ "null": { "size": 9001 } });
        }),
        [
            "ports.a.vdev: \",x\" must start with a device name such as net_null0, then optional ,key=value arguments",
            "ports.a.queues: number 0 Too small: expected number to be >=1",
            "ports.a.rxDescriptors: number 0 Too small: expected number to be >=1",
            "ports.a.mtu: number 20 Too small: expected number to be >=68",
            "ports.a.mac: \"02:00:00:00:00:0g\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "ports.b.pci: \"03:00.8\" must be a PCI address like 0000:03:00.0",
            "ports.b.queues: number 65 Too big: expected number to be <=64",
            "ports.b.txDescriptors: number 0 Too small: expected number to be >=1",
            "ports.b.mac: \"+2:00:00:00:00:01\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "ports.c.pcap.rx: \"in.pcap,iface=eth0\" cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters",
            "ports.c.pcap.tx: \"out\\n\" cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters",
            "ports.d.afPacket.iface: \"eth0,qpairs=64\" is not an interface name (1 to 15 letters, digits, _, . or -)",
            "ports.e: has tap and null; give exactly one source",
            "ports.e.tap.iface: \"a-name-longer-than-15\" is not an interface name (1 to 15 letters, digits, _, . or -)",
            "ports.e.null.size: number 10 Too small: expected number to be >=14",
            "ports.f.null.size: number 9001 Too big: expected number to be <=9000",
        ]
    );
}

#[test]
fn a_port_named_twice_on_the_wire_is_refused() {
    // A record cannot hold a key twice, but a msgpack map can: another client's bytes.
    let bytes = rmp_serde::to_vec_named(&base()).unwrap();
    let mut config: wire::Value = rmp_serde::from_slice(&bytes).unwrap();
    let wire::Value::Map(fields) = &mut config else {
        unreachable!()
    };
    let (_, ports) = fields
        .iter_mut()
        .find(|(k, _)| *k == wire::Value::Str("ports".into()))
        .unwrap();
    let wire::Value::Map(ports) = ports else {
        unreachable!()
    };
    ports.push(ports[0].clone());
    let config: crate::EngineConfig = wire::from_value(config).unwrap();
    let lines: Vec<String> = super::problems(&config)
        .iter()
        .map(super::Problem::line)
        .collect();
    // Its device is its own (`net_null2`: generated names carry the port's index).
    assert_eq!(lines, ["ports.a: the name is already used by port 0"]);
}

#[test]
fn lcores_and_their_queues() {
    assert_eq!(
        with(|c| c["lcores"] = json!({ "main": 200, "mainCpu": 2000, "workers": [] })),
        [
            "lcores.main: number 200 Too big: expected number to be <=127",
            "lcores.mainCpu: number 2000 Too big: expected number to be <=1023",
            "lcores.workers: no worker lcores: the poll loops need at least one, e.g. workers: [1]",
        ]
    );
    assert_eq!(
        with(|c| c["lcores"] =
            json!({ "main": 1, "workers": [1, 1, 128, { "lcore": 129, "cpu": 1024 }] })),
        [
            "lcores.workers[0]: lcore 1 is the main lcore; workers need lcores of their own",
            "lcores.workers[1]: lcore 1 is listed twice",
            "lcores.workers[1]: lcore 1 is the main lcore; workers need lcores of their own",
            "lcores.workers[2]: number 128 Too big: expected number to be <=127",
            "lcores.workers[3].lcore: number 129 Too big: expected number to be <=127",
            "lcores.workers[3].cpu: number 1024 Too big: expected number to be <=1023",
        ]
    );
    let queues = |rx: Json| {
        with(|c| {
            c["ports"]["c"] = json!({ "null": {}, "queues": 2 });
            c["lcores"]["workers"] = json!([{ "lcore": 1, "rx": rx }, { "lcore": 2, "rx": [{ "port": "a", "queue": 0 }] }]);
        })
    };
    assert_eq!(
        queues(json!([{ "port": "x", "queue": 0 }, { "port": "a", "queue": 1 }, { "port": "b", "queue": 64 }, { "port": "c", "queue": 1 }])),
        [
            "lcores.workers[0].rx[0].port: \"x\" is not a port (ports: a, b, c)",
            "lcores.workers[0].rx[1].queue: port \"a\" has 1 rx queue(s), so queue 1 does not exist",
            "lcores.workers[0].rx[2].queue: number 64 Too big: expected number to be <=63",
            "lcores.workers[0].rx[3]: queue 1 of port \"c\" is polled but the port is no pipeline's input",
            "lcores.workers: queue 0 of port \"b\" (an input of a pipeline) is polled by no worker; list it in a worker's rx",
        ]
    );
    assert_eq!(
        queues(json!([{ "port": "a", "queue": 0 }, { "port": "b", "queue": 0 }])),
        ["lcores.workers[1].rx[0]: queue 0 of port \"a\" is already polled by lcore 1; a queue has one owner"]
    );
}

#[test]
fn pipelines_refer_to_ports_once() {
    assert_eq!(
        with(|c| {
            c["pipelines"] = json!([
                { "name": "p", "input": ["a", "c"], "output": ["b", ""] },
                { "name": "p", "input": "a" },
                { "name": "" },
                { "name": "pipeline0", "input": "b", "output": "b" },
            ]);
        }),
        [
            "pipelines[0].input[1]: \"c\" is not a port (ports: a, b)",
            "pipelines[0].output[1]: \"\" Too small: expected string to have >=1 characters",
            "pipelines[1].name: \"p\" is already pipelines[0]",
            "pipelines[1].input: port \"a\" is already the input of pipelines[0]; a port feeds one pipeline",
            "pipelines[2]: needs an input port or a generator",
            "pipelines[2].name: \"\" Too small: expected string to have >=1 characters",
        ]
    );
}

#[test]
fn generators_are_sized_addressed_and_sent_somewhere() {
    assert_eq!(
        with(|c| {
            push(&mut c["pipelines"], json!({
                "generator": { "packetSize": 59, "flows": 0, "burst": 33, "srcMac": "02:00:00:00:00", "dstMac": "x", "srcIp": "1.2.3", "dstIp": "010.0.0.1", "count": 0 }
            }));
        }),
        [
            "pipelines[2].generator.packetSize: number 59 Too small: expected number to be >=60",
            "pipelines[2].generator.flows: number 0 Too small: expected number to be >=1",
            "pipelines[2].generator.burst: number 33 Too big: expected number to be <=32",
            "pipelines[2].generator.srcMac: \"02:00:00:00:00\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "pipelines[2].generator.dstMac: \"x\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "pipelines[2].generator.srcIp: \"1.2.3\" is not an IPv4 or IPv6 address, nor a range first-last of them",
            "pipelines[2].generator.dstIp: \"010.0.0.1\" is not an IPv4 or IPv6 address, nor a range first-last of them",
            "pipelines[2].generator.count: number 0 Too small: expected number to be >=1",
            "pipelines[2].output: a generator needs an output port",
        ]
    );
    assert_eq!(
        with(|c| push(
            &mut c["pipelines"],
            json!({ "generator": { "packetSize": 2049, "flows": 65537 }, "output": "a" })
        )),
        [
            "pipelines[2].generator.packetSize: number 2049 Too big: expected number to be <=2048",
            "pipelines[2].generator.flows: number 65537 Too big: expected number to be <=65536",
        ]
    );
}

#[test]
fn generator_sizes_rates_ranges_and_probes_are_checked() {
    let generator = |g: Json| {
        with(|c| {
            push(
                &mut c["pipelines"],
                json!({ "generator": g, "output": "a" }),
            );
        })
    };
    assert_eq!(
        generator(json!({
            "packetSize": 64, "sizes": "imax", "srcIp": "10.0.0.9-10.0.0.1", "dstIp": "2001:db8::1",
            "srcPort": "9-70000", "dstPort": "x", "rate": { "pps": 0, "bps": 1e9 }
        })),
        [
            "pipelines[2].generator.packetSize: give packetSize or sizes, not both",
            "pipelines[2].generator.srcIp: \"10.0.0.9-10.0.0.1\" is an empty range (its last address is below its first)",
            "pipelines[2].generator.srcPort: 70000 is not a port (0-65535)",
            "pipelines[2].generator.dstPort: \"x\" is not a port (0-65535) nor a range lo-hi of them",
            "pipelines[2].generator.sizes: \"imax\" is not a size mix; the one named mix is \"imix\" (7:4:1 of 60, 566 and 1514 bytes)",
            "pipelines[2].generator.rate: give exactly one of pps, bps and percent",
            "pipelines[2].generator.rate.pps: 0 is out of range: above 0 and at most 1000000000",
        ]
    );
    assert_eq!(
        generator(json!({
            "sizes": [64, { "size": 70, "weight": 0 }, 3000], "srcIp": "10.0.0.1", "dstIp": "2001:db8::1",
            "flows": 4, "srcPort": "1-2", "rate": { "percent": 101 }
        })),
        [
            "pipelines[2].generator.dstIp: \"2001:db8::1\" is IPv6 but srcIp is IPv4: both addresses are of one family",
            "pipelines[2].generator.flows: flows varies the source address and port itself: give flows or address and port ranges, not both",
            "pipelines[2].generator.sizes[1].weight: number 0 Too small: expected number to be >=1",
            "pipelines[2].generator.sizes[2]: number 3000 Too big: expected number to be <=2048",
            "pipelines[2].generator.rate.percent: 101 is out of range: above 0 and at most 100",
        ]
    );
    assert_eq!(
        generator(json!({ "sizes": [60, { "size": 79, "weight": 2 }], "srcIp": "2001:db8::1", "dstIp": "2001:db8::2", "probe": true })),
        [
            "pipelines[2].generator.sizes[0]: 60 bytes cannot hold a probe's stamp over IPv6: a probe needs at least 80 bytes",
            "pipelines[2].generator.sizes[1].size: 79 bytes cannot hold a probe's stamp over IPv6: a probe needs at least 80 bytes",
        ]
    );
    assert_eq!(
        generator(json!({ "sizes": [{ "size": 64, "weight": 4097 }, { "size": 128, "weight": 1 }] })),
        ["pipelines[2].generator.sizes: the weights make a cycle of 4098 packets (after dividing by their greatest common divisor); at most 4096: round them"]
    );
    let ok: [Json; 4] = [
        json!({ "sizes": "imix", "rate": { "percent": 10 }, "srcIp": "10.0.0.1-10.0.0.255", "srcPort": "1024-2047", "dstPort": 53, "probe": true }),
        json!({ "sizes": [64, 1500], "rate": { "bps": 1e9 }, "srcIp": "2001:db8::1", "dstIp": "2001:db8::2-2001:db8::ff" }),
        json!({ "sizes": 128, "rate": { "pps": 0.5 }, "count": 10 }),
        json!({ "packetSize": 60, "probe": true, "flows": 300 }),
    ];
    for g in ok {
        assert_eq!(generator(g.clone()), Vec::<String>::new(), "{g}");
    }
}

#[test]
fn stages_check_their_fields() {
    let stages = |stages: Json| with(|c| c["pipelines"][0]["stages"] = stages);
    assert_eq!(
        stages(json!([
            { "kind": "macRewrite", "dst": "02:00:00:00:00:zz", "src": "02:00:00:00:00:01:02" },
            { "kind": "match", "match": { "vlan": 4096, "src": "10.0.0.0/33", "dst": "10.0.0.0/8/8", "srcPort": [9, 8], "dstPort": [8, 9] }, "action": { "forward": "c" } },
            { "kind": "match", "name": "stage1", "match": { "src": "2001:db8::/129", "dst": "10.0.0.0/+8" }, "action": { "mirror": "" } },
            { "kind": "match", "name": "", "match": {}, "action": "count" },
        ])),
        [
            "pipelines[0].stages[0].dst: \"02:00:00:00:00:zz\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "pipelines[0].stages[0].src: \"02:00:00:00:00:01:02\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "pipelines[0].stages[1].match.vlan: number 4096 Too big: expected number to be <=4095",
            "pipelines[0].stages[1].match.src: \"10.0.0.0/33\" is not a valid IPv4 prefix",
            "pipelines[0].stages[1].match.dst: \"10.0.0.0/8/8\" is not a valid IPv4 or IPv6 prefix",
            "pipelines[0].stages[1].match.srcPort: [9, 8] is an empty range (low above high)",
            "pipelines[0].stages[1].action.forward: \"c\" is not a port (ports: a, b)",
            "pipelines[0].stages[2].name: \"stage1\" already names stages[1]; counters are kept by name",
            "pipelines[0].stages[2].match.src: \"2001:db8::/129\" is not a valid IPv6 prefix",
            "pipelines[0].stages[2].match.dst: \"10.0.0.0/+8\" is not a valid IPv4 prefix",
            "pipelines[0].stages[2].action.mirror: \"\" Too small: expected string to have >=1 characters",
            "pipelines[0].stages[3].name: \"\" Too small: expected string to have >=1 characters",
        ]
    );
    assert_eq!(
        stages(json!(["drop", { "kind": "bridge", "agingS": 0 }, { "kind": "bridge", "agingS": 86401 }])),
        [
            "pipelines[0].input: port \"a\" is bridged, so it must be an output too",
            "pipelines[0].stages[1].agingS: number 0 Too small: expected number to be >=1",
            "pipelines[0].stages[1]: a bridge forwards between the pipeline's output ports; give at least two",
            "pipelines[0].stages[2].agingS: number 86401 Too big: expected number to be <=86400",
            "pipelines[0].stages[2]: a bridge forwards between the pipeline's output ports; give at least two",
        ]
    );
}

#[test]
fn stats_groups_are_names_or_ids() {
    assert_eq!(
        with(|c| c["stats"] = json!({ "group": "1x" })),
        ["stats.group: \"1x\" is not a group name"]
    );
    assert_eq!(
        with(|c| c["stats"] = json!({ "group": "4294967296" })),
        ["stats.group: \"4294967296\" is not a group name"]
    );
    assert_eq!(
        with(|c| c["stats"] = json!({ "group": "1000" })),
        Vec::<String>::new()
    );
}

#[test]
fn every_problem_is_reported_in_config_order() {
    // test/fixtures/bad.config.json's rules, and more: all of them, sections in order.
    let config = json!({
        "stats": { "group": "-" },
        "pipelines": [{ "input": "a", "stages": [{ "kind": "match", "match": { "src": "192.168.0.0/40" }, "action": "drop" }], "output": "c" }],
        "lcores": { "workers": [1, 1] },
        "ports": { "a": { "null": {} }, "b": { "null": {}, "mac": "02:00:00:00:00:0g" } },
        "memory": { "mbufCache": 513 },
        "eal": { "logLevel": "" }
    });
    assert_eq!(
        lines(&config),
        [
            "eal.logLevel: \"\" Too small: expected string to have >=1 characters",
            "memory.mbufCache: number 513 Too big: expected number to be <=512",
            "ports.b.mac: \"02:00:00:00:00:0g\" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            "lcores.workers[1]: lcore 1 is listed twice",
            "pipelines[0].stages[0].match.src: \"192.168.0.0/40\" is not a valid IPv4 prefix",
            "pipelines[0].output: \"c\" is not a port (ports: a, b)",
            "stats.group: \"-\" is not a group name",
        ]
    );
}
