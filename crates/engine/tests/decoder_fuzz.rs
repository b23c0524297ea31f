//! Reliability: the msgpack config decoder on bad bytes. Random byte strings and random
//! changes to a valid encoded config must decode or give `ERR_CONFIG`, never panic (a
//! fixed-seed generator: reproducible).

use engine::{EngineConfig, ErrorCode};
use testkit::Rng;

/// A valid config on the wire, msgpack-encoded: `{ version, config }` with the config as
/// `@fastpath/types` writes it (maps with field names, shorthands and all).
fn valid() -> Vec<u8> {
    let wire = serde_json::json!({
        "version": engine::SCHEMA_VERSION,
        "config": {
            "ports": { "a": { "null": {} }, "b": { "pcap": { "rx": "in.pcap" } } },
            "lcores": { "workers": [1, { "lcore": 2, "rx": [{ "port": "a", "queue": 0 }] }] },
            "memory": { "hugepages": false, "mbufs": 8191 },
            "pipelines": [{
                "name": "p",
                "input": "a",
                "stages": ["macSwap", { "kind": "match", "match": { "proto": "udp", "dstPort": 53 }, "action": { "forward": "b" } }],
                "output": ["b"]
            }],
            "stats": { "counters": true, "group": 0 }
        }
    });
    rmp_serde::to_vec_named(&wire).unwrap()
}

fn decode(bytes: &[u8]) {
    if let Err(e) = EngineConfig::from_msgpack(bytes) {
        assert_eq!(e.code, ErrorCode::Config, "{e}");
        assert!(!e.message.is_empty());
    }
}

#[test]
fn reliability_the_valid_config_decodes() {
    let config = EngineConfig::from_msgpack(&valid()).unwrap();
    assert_eq!(config.ports.len(), 2);
}

#[test]
fn reliability_random_bytes_are_config_errors() {
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    for _ in 0..20_000 {
        let len = (rng.next() % 256) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        decode(&bytes);
    }
}

#[test]
fn reliability_corrupted_and_cut_configs_are_config_errors_or_configs() {
    let good = valid();
    let mut rng = Rng(0x0bad_cafe_f00d_0001);
    for len in 0..good.len() {
        decode(&good[..len]);
    }
    for _ in 0..20_000 {
        let mut copy = good.clone();
        for _ in 0..=(rng.next() % 4) {
            let at = (rng.next() as usize) % copy.len();
            copy[at] = rng.next() as u8;
        }
        decode(&copy);
    }
}
