//! The generator: frames, sizes, ranges, rates and pacing.

use super::*;
use crate::net;

fn config(json: &str) -> GeneratorConfig {
    serde_json::from_str(json).unwrap()
}

/// One `net_null` port, for compiling generators.
fn facts() -> PortFacts {
    PortFacts {
        macs: vec![[2, 0, 0, 0, 0, 1]],
        tx_queues: vec![1],
        drivers: vec!["net_null".into()],
        ids: vec![0],
    }
}

fn generator(count: Option<u64>, made: &Arc<AtomicU64>) -> Generator {
    let facts = facts();
    let mut g = compile_generator(&config("{}"), 0, &facts, 0, Arc::clone(made), 0, "").unwrap();
    g.count = count;
    g
}

#[test]
fn a_generator_budget_holds_across_programs() {
    let made = Arc::new(AtomicU64::new(0));
    let (old, new) = (generator(Some(100), &made), generator(Some(100), &made));
    // Two programs sharing one budget (the moment of a swap) never make more than `count`.
    assert_eq!(
        [
            old.claim(32),
            new.claim(32),
            old.claim(32),
            new.claim(32),
            old.claim(32)
        ],
        [32, 32, 32, 4, 0]
    );
    assert_eq!(made.load(Relaxed), 100);
    let unlimited = generator(None, &Arc::new(AtomicU64::new(0)));
    assert_eq!(unlimited.claim(32), 32);
    assert_eq!(unlimited.claim_from(32), (32, 32));
}

#[test]
fn weights_interleave_in_proportion() {
    let imix = size_weights(&config(r#"{ "sizes": "imix" }"#));
    let order = schedule(&imix);
    assert_eq!(order.len(), 12);
    for (i, want) in [7, 4, 1].into_iter().enumerate() {
        assert_eq!(order.iter().filter(|&&k| k == i).count(), want);
    }
    // Smooth: the big size is not first, and no size runs more than twice in a row.
    assert_eq!(order[0], 0);
    assert!(order.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])));
    let list = schedule(&size_weights(&config(r#"{ "sizes": [100, 200, 300] }"#)));
    assert_eq!(list, [0, 1, 2]);
    let reduced = schedule(&[(64, 300), (1500, 100)]);
    assert_eq!(reduced.len(), 4);
}

/// Every packet's IPv4 header and UDP checksums verify over the whole frame, as fields
/// step through their ranges and probes are stamped, for both families.
#[test]
fn frames_carry_valid_checksums_and_stamps() {
    let facts = facts();
    for (json, v6) in [
        (
            r#"{ "sizes": [60, 61, 1514], "srcIp": "10.0.0.1-10.0.0.3", "dstIp": "10.1.0.255-10.1.1.1", "srcPort": "1000-1004", "dstPort": 53, "probe": true }"#,
            false,
        ),
        (
            r#"{ "sizes": [80, 333], "srcIp": "2001:db8::ffff-2001:db8::1:1", "dstIp": "2001:db8:1::1", "dstPort": "7-8", "probe": true }"#,
            true,
        ),
    ] {
        let g = compile_generator(&config(json), 0, &facts, 0, Arc::default(), 5, "").unwrap();
        let mut cursor = Cursor::default();
        let mut sources = std::collections::BTreeSet::new();
        for seq in 0..40u64 {
            let mut frame = vec![0u8; g.next_len(&cursor)];
            g.write(&mut cursor, &mut frame, (seq, 1_000_000 + seq));
            let udp = payload_offset(v6) - 8;
            let ip = if v6 { 14..54 } else { 14..34 };
            if !v6 {
                assert_eq!(net::checksum(&frame[ip.clone()]), 0, "IPv4 header");
            }
            // UDP: pseudo-header + datagram sums to 0xffff.
            let (addrs, proto_len) = if v6 { (22..54, 40) } else { (26..34, 20) };
            let len = frame.len() - 14 - proto_len;
            let mut pseudo = frame[addrs.clone()].to_vec();
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&(len as u16).to_be_bytes());
            pseudo.extend_from_slice(&frame[udp..]);
            assert_eq!(net::checksum(&pseudo), 0, "UDP of {json} #{seq}");
            assert_ne!(&frame[udp + 6..udp + 8], &[0, 0]);
            assert_eq!(probe_of(&frame), Some((5, seq, 1_000_000 + seq)));
            let mut seen = frame.clone();
            mark_seen(&mut seen);
            assert_eq!(probe_of(&seen), None, "a probe counts once");
            let mut pseudo = seen[addrs.clone()].to_vec();
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&(len as u16).to_be_bytes());
            pseudo.extend_from_slice(&seen[udp..]);
            assert_eq!(net::checksum(&pseudo), 0, "UDP once seen");
            sources.insert(frame[if v6 { 36..38 } else { 28..30 }].to_vec());
        }
        assert_eq!(sources.len(), 3, "three source addresses in turn");
    }
    assert_eq!(probe_of(&[0u8; 64]), None);
}

/// One flow and no probes: the templates are finished once, and every frame is the one a
/// generator that varies its fields makes for the same addresses and ports.
#[test]
fn a_fixed_flow_copies_frames_finished_once() {
    let facts = facts();
    let fixed = r#"{ "sizes": [60, 1514], "srcIp": "10.0.0.1", "dstIp": "10.1.0.9", "srcPort": 1000, "dstPort": 53 }"#;
    // The same, but the source port steps through three: its packets 0 and 3 (sizes 60 and
    // 1514) have source port 1000.
    let varying = r#"{ "sizes": [60, 1514], "srcIp": "10.0.0.1", "dstIp": "10.1.0.9", "srcPort": "1000-1002", "dstPort": 53 }"#;
    let make = |json: &str, n: usize| {
        let g = compile_generator(&config(json), 0, &facts, 0, Arc::default(), 0, "").unwrap();
        let mut cursor = Cursor::default();
        let frames: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let mut frame = vec![0xaa; g.next_len(&cursor)];
                g.write(&mut cursor, &mut frame, (0, 0));
                frame
            })
            .collect();
        (g.fixed, frames)
    };
    let (is_fixed, same) = make(fixed, 6);
    let (varies, reference) = make(varying, 6);
    assert!(is_fixed && !varies);
    assert_eq!(same[0], reference[0], "60 bytes, source port 1000");
    assert_eq!(same[3], reference[3], "1514 bytes, source port 1000");
    assert_ne!(same[0], reference[2], "source port 1002 differs");
    assert_eq!([&same[0], &same[1]], [&same[2], &same[3]]);
    assert_eq!(net::checksum(&same[0][14..34]), 0, "IPv4 header");
}

#[test]
fn rates_turn_into_packets_per_second_by_the_mean_frame() {
    let rate = |json: &str| serde_json::from_str::<RateConfig>(json).unwrap();
    let imix: Vec<(u64, u64)> = IMIX.iter().map(|&(s, w)| (u64::from(s), w)).collect();
    assert_eq!(
        packets_per_second(&rate(r#"{ "pps": 1500.5 }"#), &imix, None),
        Ok(1500.5)
    );
    // 64-byte frames: 68 bytes with the FCS, 88 on the wire with preamble and gap.
    let small = [(64, 1)];
    assert_eq!(
        packets_per_second(&rate(r#"{ "bps": 544000 }"#), &small, None),
        Ok(1000.0)
    );
    let line = packets_per_second(&rate(r#"{ "percent": 100 }"#), &small, Some(10_000)).unwrap();
    assert!((line - 14_204_545.45).abs() < 0.01, "{line}");
    // IMIX's mean wire frame: (7 × 84 + 4 × 590 + 1538) / 12 = 373.83 bytes.
    let imix_line = packets_per_second(&rate(r#"{ "percent": 50 }"#), &imix, Some(10_000)).unwrap();
    assert!((imix_line - 5e9 / (8.0 * 4486.0 / 12.0)).abs() < 0.01);
    assert_eq!(
        packets_per_second(&rate(r#"{ "percent": 50 }"#), &imix, Some(0)),
        Err("percent: the output port's link speed is unknown (its link is down, or its driver does not say); give rate.pps or rate.bps".into())
    );
}

#[test]
fn the_pacer_spreads_and_writes_off_what_it_cannot_catch_up() {
    let mut g = generator(None, &Arc::default());
    g.ticks_per_packet = Some(100.0);
    g.slack = 128;
    let mut c = Cursor::default();
    assert_eq!(g.pace(&mut c, 1000), (0, 0));
    // 10 packets due after 1000 ticks.
    assert_eq!(g.pace(&mut c, 2000), (10, 0));
    Generator::paced(&mut c, 10);
    assert_eq!(g.pace(&mut c, 2050), (0, 0));
    // 1000 due: 128 of slack, 32 made now, 862 written off.
    assert_eq!(g.pace(&mut c, 101_000), (32, 862));
}
