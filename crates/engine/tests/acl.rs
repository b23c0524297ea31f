//! The `acl` stage's classifier against a linear first-match scan written here: 10,000 random
//! rules (IPv4, IPv6 and both; prefixes, port ranges, protocols with masks, VLANs,
//! priorities) and 100,000 random frames (tagged or not, TCP/UDP/ICMP/ESP, fragments, IPv4
//! options, ARP), each frame's winning rule compared. The classifiers live in EAL's heap, so
//! the test runs in a process of its own with a fresh EAL.

use std::time::Instant;

use dpdk::{Eal, EalArgs};
use engine::stages::acl::{
    default_trie_bytes, rules, AclConfig, AclRuleConfig, Classifiers, DefaultAction, PortsForm,
};
use engine::stages::r#match::ActionConfig;
use testkit::Rng;

const CHILD_ENV: &str = "FASTPATH_ACL_STAGE_TEST_CHILD";

fn in_own_process(name: &str, body: impl FnOnce()) {
    testkit::in_own_process(CHILD_ENV, name, || {
        let eal = Eal::init(&EalArgs::control_only(
            format!("fp-acl-stage-test-{}", std::process::id()),
            512,
        ))
        .expect("EAL starts with --no-huge --no-pci");
        body();
        eal.cleanup().expect("EAL cleans up");
    });
}

/// A rule as the reference reads it: plain numbers (addresses as u128, IPv4 in the low bits).
#[derive(Debug, Clone)]
struct Truth {
    v6: Option<bool>,
    src: Option<(u128, u8)>,
    dst: Option<(u128, u8)>,
    sp: Option<(u16, u16)>,
    dp: Option<(u16, u16)>,
    proto: Option<(u8, u8)>,
    vlan: Option<u16>,
    priority: u32,
}

/// A packet as the reference reads it.
#[derive(Debug, Clone)]
struct Packet {
    v6: Option<bool>,
    src: u128,
    dst: u128,
    proto: u8,
    ports: Option<(u16, u16)>,
    vlan: Option<u16>,
}

fn within(prefix: Option<(u128, u8)>, addr: u128, bits: u32) -> bool {
    prefix.is_none_or(|(p, len)| {
        let shift = bits - u32::from(len);
        addr.checked_shr(shift) == p.checked_shr(shift)
    })
}

/// Whether rule `r` matches packet `p`: every condition, in the plainest words.
fn matches(r: &Truth, p: &Packet) -> bool {
    let Some(v6) = p.v6 else { return false };
    let bits = if v6 { 128 } else { 32 };
    let port_ok = |range: Option<(u16, u16)>, pick: fn((u16, u16)) -> u16| {
        range.is_none_or(|(lo, hi)| {
            p.ports
                .is_some_and(|ports| (lo..=hi).contains(&pick(ports)))
        })
    };
    r.v6.is_none_or(|f| f == v6)
        && within(r.src, p.src, bits)
        && within(r.dst, p.dst, bits)
        && r.proto.is_none_or(|(v, m)| p.proto & m == v & m)
        && port_ok(r.sp, |(s, _)| s)
        && port_ok(r.dp, |(_, d)| d)
        && r.vlan.is_none_or(|v| p.vlan == Some(v))
}

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[(rng.next() % from.len() as u64) as usize]
}

fn chance(rng: &mut Rng, percent: u64) -> bool {
    rng.next() % 100 < percent
}

/// Hosts the rules' prefixes are cut from and the packets are sent between, so that rules
/// hit: IPv4 in `10.0.0.0/16`, IPv6 in `2001:db8::/48`.
fn hosts(rng: &mut Rng, v6: bool) -> Vec<u128> {
    (0..64)
        .map(|_| {
            if v6 {
                0x2001_0db8_0000_u128 << 80
                    | u128::from(rng.next() & 0xffff_ffff) << 32
                    | u128::from(rng.next() % 4)
            } else {
                0x0a00_0000 | u128::from(rng.next() % 4) << 8 | u128::from(rng.next() % 64)
            }
        })
        .collect()
}

fn address(addr: u128, v6: bool) -> String {
    if v6 {
        std::net::Ipv6Addr::from(addr).to_string()
    } else {
        std::net::Ipv4Addr::from(addr as u32).to_string()
    }
}

const RANGES: [(u16, u16); 6] = [
    (0, 1023),
    (53, 53),
    (80, 80),
    (443, 443),
    (1024, 65535),
    (5000, 6000),
];

fn random_rule(
    rng: &mut Rng,
    i: usize,
    v4_hosts: &[u128],
    v6_hosts: &[u128],
) -> (Truth, AclRuleConfig) {
    let v6 = match rng.next() % 20 {
        0..=8 => Some(false),
        9..=17 => Some(true),
        _ => None,
    };
    let prefix = |rng: &mut Rng| -> Option<(u128, u8)> {
        let v6 = v6?;
        if !chance(rng, 60) {
            return None;
        }
        let (host, bits, len) = if v6 {
            (
                pick(rng, v6_hosts),
                128,
                pick(rng, &[32u8, 48, 64, 96, 127, 128]),
            )
        } else {
            (
                pick(rng, v4_hosts),
                32,
                pick(rng, &[8u8, 16, 22, 24, 30, 32]),
            )
        };
        let shift = bits - u32::from(len);
        Some(((host >> shift) << shift, len))
    };
    let src = prefix(rng);
    let dst = prefix(rng);
    let sp = chance(rng, 25).then(|| pick(rng, &RANGES));
    let dp = chance(rng, 35).then(|| pick(rng, &RANGES));
    let proto = chance(rng, 40).then(|| {
        if chance(rng, 10) {
            (0x10, 0xf0) // 16-31
        } else {
            (pick(rng, &[6u8, 17, 1, 58]), 0xff)
        }
    });
    let vlan = chance(rng, 8).then(|| pick(rng, &[10u16, 20]));
    let priority = if chance(rng, 15) {
        pick(rng, &[1u32, 2, 3])
    } else {
        0
    };
    let text =
        |p: Option<(u128, u8)>| p.map(|(a, len)| format!("{}/{len}", address(a, v6 == Some(true))));
    let ports = |r: Option<(u16, u16)>| {
        r.map(|(lo, hi)| {
            if lo == hi {
                PortsForm::Number(lo)
            } else {
                PortsForm::Text(format!("{lo}-{hi}"))
            }
        })
    };
    let config = AclRuleConfig {
        name: Some(format!("r{i}")),
        priority: (priority > 0).then_some(priority),
        src: text(src),
        dst: text(dst),
        src_ports: ports(sp),
        dst_ports: ports(dp),
        proto: proto.map(|(v, _)| v),
        proto_mask: proto.and_then(|(_, m)| (m != 0xff).then_some(m)),
        vlan,
        action: ActionConfig::Count,
    };
    // A family-less rule without prefixes applies to both; one with a prefix to its family.
    let family = if src.is_none() && dst.is_none() {
        None
    } else {
        v6
    };
    let truth = Truth {
        v6: family,
        src,
        dst,
        sp,
        dp,
        proto,
        vlan,
        priority,
    };
    (truth, config)
}

/// A random frame and what the reference sees in it.
fn random_frame(rng: &mut Rng, v4_hosts: &[u128], v6_hosts: &[u128]) -> (Vec<u8>, Packet) {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    let vlan = chance(rng, 20).then(|| pick(rng, &[10u16, 20, 30]));
    if let Some(v) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&(v | 0x2000).to_be_bytes()); // priority bits set: ignored
    }
    if chance(rng, 3) {
        f.extend_from_slice(&0x0806u16.to_be_bytes());
        f.extend_from_slice(&[0; 28]);
        let p = Packet {
            v6: None,
            src: 0,
            dst: 0,
            proto: 0,
            ports: None,
            vlan,
        };
        return (f, p);
    }
    let v6 = chance(rng, 50);
    let addr = |rng: &mut Rng, hosts: &[u128]| {
        if chance(rng, 85) {
            pick(rng, hosts)
        } else if v6 {
            u128::from(rng.next()) << 64 | u128::from(rng.next())
        } else {
            u128::from(rng.next() as u32)
        }
    };
    let hosts = if v6 { v6_hosts } else { v4_hosts };
    let (src, dst) = (addr(rng, hosts), addr(rng, hosts));
    let proto = pick(rng, &[6u8, 6, 17, 17, 1, 58, 50, 20]);
    let ports = [
        pick(rng, &[53u16, 80, 443, 1000, 2000, 5500, 40000]),
        pick(rng, &[53u16, 80, 443, 1000, 2000, 5500, 40000]),
    ];
    let fragment = !v6 && chance(rng, 5);
    if v6 {
        f.extend_from_slice(&0x86ddu16.to_be_bytes());
        let mut ip = [0u8; 40];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&8u16.to_be_bytes());
        ip[6] = proto;
        ip[7] = 64;
        ip[8..24].copy_from_slice(&src.to_be_bytes());
        ip[24..40].copy_from_slice(&dst.to_be_bytes());
        f.extend_from_slice(&ip);
    } else {
        f.extend_from_slice(&0x0800u16.to_be_bytes());
        let options = chance(rng, 10);
        let ihl = if options { 6 } else { 5 };
        let mut ip = vec![0u8; ihl * 4];
        ip[0] = 0x40 | ihl as u8;
        ip[2..4].copy_from_slice(&((ihl * 4 + 8) as u16).to_be_bytes());
        if fragment {
            ip[6..8].copy_from_slice(&185u16.to_be_bytes());
        }
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&(src as u32).to_be_bytes());
        ip[16..20].copy_from_slice(&(dst as u32).to_be_bytes());
        f.extend_from_slice(&ip);
    }
    f.extend_from_slice(&ports[0].to_be_bytes());
    f.extend_from_slice(&ports[1].to_be_bytes());
    f.extend_from_slice(&[0; 4]);
    let has_ports = matches!(proto, 6 | 17) && !fragment;
    let p = Packet {
        v6: Some(v6),
        src,
        dst,
        proto,
        ports: has_ports.then_some((ports[0], ports[1])),
        vlan,
    };
    (f, p)
}

#[test]
fn acl_decisions_agree_with_a_linear_first_match_scan() {
    in_own_process("acl_decisions_agree_with_a_linear_first_match_scan", || {
        let mut rng = Rng(0xac1_5ca9);
        let v4_hosts = hosts(&mut rng, false);
        let v6_hosts = hosts(&mut rng, true);
        let (truths, configs): (Vec<Truth>, Vec<AclRuleConfig>) = (0..10_000)
            .map(|i| random_rule(&mut rng, i, &v4_hosts, &v6_hosts))
            .unzip();
        let config = AclConfig {
            name: None,
            rules: configs,
            rules_file: None,
            default: DefaultAction::Pass,
            memory_mib: None,
        };
        let specs = rules(&config).expect("the random rules are valid");
        let started = Instant::now();
        let before = dpdk::heap_allocated_bytes();
        let classifiers = Classifiers::build(&specs, default_trie_bytes).expect("10k rules build");
        let took = dpdk::heap_allocated_bytes() - before;
        println!(
            "10,000 rules: classifiers built in {:?}, {:.1} MiB of EAL's heap (planned {:.1} MiB)",
            started.elapsed(),
            took as f64 / f64::from(1 << 20),
            engine::stages::acl::table_bytes(&config) as f64 / f64::from(1 << 20)
        );
        assert!(
            took <= engine::stages::acl::table_bytes(&config),
            "the plan covers what a build takes"
        );

        let (frames, packets): (Vec<Vec<u8>>, Vec<Packet>) = (0..100_000)
            .map(|_| random_frame(&mut rng, &v4_hosts, &v6_hosts))
            .unzip();
        let views: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let mut ids = vec![0u32; views.len()];
        let started = Instant::now();
        classifiers.classify(&views, &mut ids);
        let elapsed = started.elapsed();
        println!(
            "100,000 frames classified in {elapsed:?} ({:.1} M/s, headers parsed and keys built included)",
            views.len() as f64 / elapsed.as_secs_f64() / 1e6
        );

        // The reference: the highest priority, then the first written, of the rules that match.
        let mut order: Vec<usize> = (0..truths.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(truths[i].priority));
        let (mut hits, mut misses) = (0, 0);
        for (n, (p, &id)) in packets.iter().zip(&ids).enumerate() {
            let want = order.iter().find(|&&i| matches(&truths[i], p));
            let got = (id as usize).checked_sub(1).map(|k| specs[k].name.as_str());
            let want_name = want.map(|&i| format!("r{i}"));
            assert_eq!(
                got,
                want_name.as_deref(),
                "frame {n}: {p:?}\n{:02x?}",
                frames[n]
            );
            if want.is_some() {
                hits += 1;
            } else {
                misses += 1;
            }
        }
        println!("{hits} frames matched a rule, {misses} none");
        // Both answers were checked many times over.
        assert!(
            hits > 10_000 && misses > 1_000,
            "{hits} hits, {misses} misses"
        );
    });
}

#[test]
fn rules_whose_tries_exceed_the_bound_are_refused() {
    in_own_process("rules_whose_tries_exceed_the_bound_are_refused", || {
        // Random prefixes and random ranges on both ports: the costly kind (about 13 KiB of tries
        // a rule).
        let mut rng = Rng(99);
        let configs: Vec<AclRuleConfig> = (0..1000)
            .map(|i| {
                let range = |rng: &mut Rng| {
                    let (a, b) = (rng.next() % 65536, rng.next() % 65536);
                    PortsForm::Text(format!("{}-{}", a.min(b), a.max(b)))
                };
                let prefix = |rng: &mut Rng| {
                    let len = rng.next() % 33;
                    let addr =
                        (rng.next() as u32) & u32::MAX.checked_shl(32 - len as u32).unwrap_or(0);
                    Some(format!("{}/{len}", std::net::Ipv4Addr::from(addr)))
                };
                AclRuleConfig {
                    name: Some(format!("r{i}")),
                    priority: None,
                    src: prefix(&mut rng),
                    dst: prefix(&mut rng),
                    src_ports: Some(range(&mut rng)),
                    dst_ports: Some(range(&mut rng)),
                    proto: Some(6),
                    proto_mask: None,
                    vlan: None,
                    action: ActionConfig::Drop,
                }
            })
            .collect();
        let config = AclConfig {
            name: None,
            rules: configs,
            rules_file: None,
            default: DefaultAction::Pass,
            memory_mib: Some(1),
        };
        let specs = rules(&config).expect("the rules are valid");
        let before = dpdk::heap_allocated_bytes();
        let err = Classifiers::build(&specs, |_| 1 << 20).expect_err("1 MiB is too little");
        assert_eq!(err.errno, 34, "ERANGE: {err}");
        assert_eq!(dpdk::heap_allocated_bytes(), before, "nothing kept");
        // With room, the same rules build.
        let classifiers = Classifiers::build(&specs, |_| 64 << 20).expect("64 MiB is enough");
        assert!(classifiers.v4.is_some() && classifiers.v6.is_none());
    });
}
