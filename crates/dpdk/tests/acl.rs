//! `Acl` on a real EAL: random rules over an IPv4 5-tuple against a linear highest-priority
//! scan, in a child process of its own (EAL starts once per process), as tests/fib.rs does.

use std::time::Instant;

use dpdk::{Acl, AclField, AclKey, AclRule, Eal, EalArgs, FieldKind};
use testkit::Rng;

const CHILD_ENV: &str = "FASTPATH_ACL_TEST_CHILD";

fn in_own_process(name: &str, body: impl FnOnce()) {
    testkit::in_own_process(CHILD_ENV, name, || {
        let eal = Eal::init(&EalArgs::control_only(
            format!("fp-acl-test-{}", std::process::id()),
            512,
        ))
        .expect("EAL starts with --no-huge --no-pci");
        body();
        eal.cleanup().expect("EAL cleans up");
    });
}

/// proto (1 byte), src, dst (4 each), source and destination port (2 each, one group).
const FIELDS: [AclField; 5] = [
    AclField {
        kind: FieldKind::Bitmask,
        size: 1,
        offset: 0,
        input: 0,
    },
    AclField {
        kind: FieldKind::Mask,
        size: 4,
        offset: 4,
        input: 1,
    },
    AclField {
        kind: FieldKind::Mask,
        size: 4,
        offset: 8,
        input: 2,
    },
    AclField {
        kind: FieldKind::Range,
        size: 2,
        offset: 12,
        input: 3,
    },
    AclField {
        kind: FieldKind::Range,
        size: 2,
        offset: 14,
        input: 3,
    },
];

type Key = AclKey<16>;

fn key(proto: u8, src: u32, dst: u32, sp: u16, dp: u16) -> Key {
    let mut k = [0u8; 16];
    k[0] = proto;
    k[4..8].copy_from_slice(&src.to_be_bytes());
    k[8..12].copy_from_slice(&dst.to_be_bytes());
    k[12..14].copy_from_slice(&sp.to_be_bytes());
    k[14..16].copy_from_slice(&dp.to_be_bytes());
    AclKey(k)
}

fn mask(len: u64) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// Whether rule `r` matches key `k` (the reference's reading of the fields).
fn matches(r: &AclRule<5>, k: &Key) -> bool {
    let b = &k.0;
    let proto = u64::from(b[0]);
    let word = |at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let port = |at: usize| u64::from(u16::from_be_bytes([b[at], b[at + 1]]));
    let [(pv, pm), (sv, sl), (dv, dl), (spl, sph), (dpl, dph)] = r.fields;
    proto & pm == pv & pm
        && word(4) & mask(sl) == sv as u32 & mask(sl)
        && word(8) & mask(dl) == dv as u32 & mask(dl)
        && (spl..=sph).contains(&port(12))
        && (dpl..=dph).contains(&port(14))
}

fn random_rules(rng: &mut Rng, n: usize) -> Vec<AclRule<5>> {
    let mut pick = |choices: &[u64]| choices[(rng.next() % choices.len() as u64) as usize];
    // A source prefix always, so that keys from elsewhere match nothing.
    let src_lens = [8, 16, 24, 32];
    let dst_lens = [0, 8, 16, 24, 32];
    (0..n)
        .map(|i| {
            let (proto, pmask) = [(6, 0xff), (17, 0xff), (0, 0), (4, 0x0f)][i % 4];
            let sl = pick(&src_lens);
            let dl = pick(&dst_lens);
            let src = u64::from(mask(sl) & 0x0a00_0000 | (pick(&[0, 1, 2, 3]) as u32) << 8);
            let dst = u64::from(mask(dl) & 0xc612_0000 | (pick(&[0, 1, 2, 3]) as u32) << 8);
            let lo = pick(&[0, 53, 80, 443, 1024, 40000]);
            let hi = lo + pick(&[0, 0, 100, 20000]).min(65535 - lo);
            let sp = if i % 3 == 0 { (lo, hi) } else { (0, 65535) };
            let dp = if i % 3 == 1 { (lo, hi) } else { (0, 65535) };
            AclRule {
                priority: (n - i) as u32,
                id: i as u32 + 1,
                fields: [(proto, pmask), (src, sl), (dst, dl), sp, dp],
            }
        })
        .collect()
}

fn random_keys(rng: &mut Rng, n: usize) -> Vec<Key> {
    (0..n)
        .map(|_| {
            let proto = [6, 17, 1, 4, 20][(rng.next() % 5) as usize];
            let src = 0x0a00_0000 | ((rng.next() % 4) as u32) << 8 | (rng.next() % 256) as u32;
            let dst = 0xc612_0000 | ((rng.next() % 4) as u32) << 8 | (rng.next() % 256) as u32;
            let src = if rng.next().is_multiple_of(8) {
                0x8000_0000 | rng.next() as u32
            } else {
                src
            };
            let ports = [53, 80, 443, 1024, 1100, 21000, 40000, 50000, 65535];
            let sp = ports[(rng.next() % ports.len() as u64) as usize];
            let dp = ports[(rng.next() % ports.len() as u64) as usize];
            key(proto, src, dst, sp, dp)
        })
        .collect()
}

#[test]
fn classify_agrees_with_a_linear_scan() {
    in_own_process("classify_agrees_with_a_linear_scan", || {
        let mut rng = Rng(0x05ee_dac1);
        let rules = random_rules(&mut rng, 3000);
        let before = dpdk::heap_allocated_bytes();
        let started = Instant::now();
        let acl = Acl::<16>::build(&FIELDS, &rules, 0).expect("builds");
        let built = started.elapsed();
        let took = dpdk::heap_allocated_bytes() - before;
        println!("3000 rules: built in {built:?}, {took} heap bytes");
        assert_eq!(acl.len(), 3000);
        let keys = random_keys(&mut rng, 50_000);
        let mut got = vec![0u32; keys.len()];
        acl.classify(&keys, &mut got);
        let mut hits = 0;
        for (k, &id) in keys.iter().zip(&got) {
            let want = rules
                .iter()
                .filter(|r| matches(r, k))
                .max_by_key(|r| r.priority)
                .map_or(0, |r| r.id);
            assert_eq!(id, want, "key {k:?}");
            hits += usize::from(want != 0);
        }
        // The keys hit rules and miss them both, so both answers were checked.
        assert!(hits > keys.len() / 10 && hits < keys.len(), "{hits}");
    });
}

#[test]
fn memory_is_bounded_and_freed() {
    in_own_process("memory_is_bounded_and_freed", || {
        let mut rng = Rng(7);
        let rules = random_rules(&mut rng, 2000);
        let before = dpdk::heap_allocated_bytes();
        let budget = 4 << 20;
        let acl = Acl::<16>::build(&FIELDS, &rules, budget).expect("builds in 4 MiB");
        let took = dpdk::heap_allocated_bytes() - before;
        assert!(
            took <= Acl::<16>::footprint(5, rules.len(), budget),
            "{took} bytes"
        );
        drop(acl);
        assert_eq!(dpdk::heap_allocated_bytes(), before, "freed on drop");
        // Tries that cannot fit are an error, not a crash.
        let err = Acl::<16>::build(&FIELDS, &rules, 4096).unwrap_err();
        assert!(err.context.starts_with("rte_acl_build(2000 rules"), "{err}");
        assert_eq!(dpdk::heap_allocated_bytes(), before, "freed on error");
    });
}

#[test]
fn bad_rules_are_refused() {
    in_own_process("bad_rules_are_refused", || {
        let rule = AclRule {
            priority: 1,
            id: 0,
            fields: [(6, 0xff), (0, 0), (0, 0), (0, 65535), (0, 65535)],
        };
        let err = Acl::<16>::build(&FIELDS, &[rule], 0).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        let err = Acl::<16>::build(&FIELDS, &[], 0).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        // A one-rule classifier: matches and misses.
        let rule = AclRule { id: 9, ..rule };
        let acl = Acl::<16>::build(&FIELDS, &[rule], 0).expect("builds");
        let mut got = [7u32; 2];
        acl.classify(&[key(6, 1, 2, 3, 4), key(17, 1, 2, 3, 4)], &mut got);
        assert_eq!(got, [9, 0]);
    });
}
