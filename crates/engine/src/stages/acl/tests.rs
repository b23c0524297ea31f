//! The acl stage's keys, prefixes and memory accounting, without EAL.

use super::classify::prefix_word;
use super::*;
use crate::net::{self, Headers, Ip};

#[test]
fn ipv6_prefixes_split_into_four_words() {
    let p = parse_prefix("2001:db8:ff00::/40").unwrap();
    assert_eq!(prefix_word(Some(p), 128, 0), (0x2001_0db8, 32));
    assert_eq!(prefix_word(Some(p), 128, 1), (0xff00_0000, 8));
    assert_eq!(prefix_word(Some(p), 128, 2), (0, 0));
    assert_eq!(prefix_word(None, 128, 3), (0, 0));
    let p = parse_prefix("198.18.0.0/15").unwrap();
    assert_eq!(prefix_word(Some(p), 32, 0), (0xc612_0000, 15));
}

#[test]
fn keys_carry_the_fields_in_network_order() {
    let h = Headers {
        proto: Some(17),
        ports: Some((1024, 53)),
        vlan: Some(7),
        ..Headers::default()
    };
    let k = v4_key(&h, 0x0a00_0001, 0xc612_0005).0;
    assert_eq!(k[0], 17);
    assert_eq!(k[4..8], [10, 0, 0, 1]);
    assert_eq!(k[8..12], [198, 18, 0, 5]);
    assert_eq!(k[12..20], [4, 0, 0, 53, 0, 7, 0, 1]);
    // No ports, no tag: ports 0, the VLAN above every id, has-ports 0.
    let k = v6_key(&Headers::default(), 1, 2).0;
    assert_eq!(k[19], 1);
    assert_eq!(k[35], 2);
    assert_eq!(k[36..44], [0, 0, 0, 0, 0xff, 0xff, 0, 0]);
}

#[test]
fn the_plan_counts_each_familys_bound() {
    let rule = |src: Option<&str>| AclRuleConfig {
        name: None,
        priority: None,
        src: src.map(str::to_owned),
        dst: None,
        src_ports: None,
        dst_ports: None,
        proto: None,
        proto_mask: None,
        vlan: None,
        action: ActionConfig::Count,
    };
    let mut config = AclConfig {
        name: None,
        rules: vec![
            rule(Some("10.0.0.0/8")),
            rule(Some("2001:db8::/32")),
            rule(None),
        ],
        rules_file: None,
        default: DefaultAction::Pass,
        memory_mib: None,
    };
    // Two rules a family (the one without a prefix is in both).
    let tries = (4 << 20) + 2 * 2048;
    assert_eq!(
        table_bytes(&config),
        dpdk::Acl::<V4_KEY>::footprint(7, 2, tries) + dpdk::Acl::<V4_KEY>::footprint(13, 2, tries)
    );
    config.memory_mib = Some(1);
    assert_eq!(
        table_bytes(&config),
        2 * 4096 + 2 * (16 + 16 * 7) + 2 * (16 + 16 * 13) + 2 * (1 << 20)
    );
    config.rules.truncate(1);
    assert_eq!(table_bytes(&config), 4096 + 16 + 16 * 7 + (1 << 20));
}

#[test]
fn the_plain_ipv4_key_is_the_key_of_the_parsed_headers() {
    let mut rng = testkit::Rng(0xAC1_5EED);
    let (mut plain, mut other) = (0, 0);
    for round in 0..100_000 {
        let len = 30 + (rng.next() % 40) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Mostly the usual frame, with the fields that decide the key drawn from the cases.
        if round % 8 != 0 && len >= 15 {
            f[12..15].copy_from_slice(&[0x08, 0x00, 0x45]);
            if len > 23 {
                f[23] = [6, 17, 132, 1, 47, rng.next() as u8][round % 6];
            }
            if len > 21 && round % 3 == 0 {
                // Not a fragment (the flags may still say "more").
                f[20] &= 0xe0;
                f[21] = 0;
            }
        }
        let h = net::parse(&f);
        if let Some(key) = plain_v4_key(&f) {
            plain += 1;
            let (Some(Ip::V4(s)), Some(Ip::V4(d))) = (h.src, h.dst) else {
                panic!("a plain key for a frame parse finds no IPv4 in: {f:02x?}");
            };
            assert_eq!(key, v4_key(&h, s, d), "{f:02x?}");
        } else {
            other += 1;
            assert!(len < 38 || f[12..15] != [0x08, 0x00, 0x45], "{f:02x?}");
        }
    }
    assert!(plain > 50_000 && other > 10_000, "{plain} {other}");
}
