//! `Fib4` / `Fib6` on a real EAL: random tables against a linear longest-prefix scan.
//!
//! The tables allocate from EAL's heap, and EAL starts once per process, so the test re-runs
//! this binary filtered to itself in a child with its own `--file-prefix` (no hugepages, no
//! PCI, main lcore only) and checks the child's verdict.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use dpdk::{Eal, EalArgs, Fib4, Fib6};
use testkit::Rng;

const CHILD_ENV: &str = "FASTPATH_FIB_TEST_CHILD";

/// Runs `body` on a fresh EAL (no hugepages, no PCI, main lcore only) in a process of its own.
fn in_own_process(name: &str, body: impl FnOnce()) {
    testkit::in_own_process(CHILD_ENV, name, || {
        let eal = Eal::init(&EalArgs::control_only(
            format!("fp-fib-test-{}", std::process::id()),
            512,
        ))
        .expect("EAL starts with --no-huge --no-pci");
        body();
        eal.cleanup().expect("EAL cleans up");
    });
}

const DEFAULT: u64 = 0x7FF;

/// The longest route covering `addr`, by a scan: (prefix as bits, depth, next hop).
fn reference(routes: &[(u128, u8, u64)], addr: u128, bits: u32) -> u64 {
    let mask = |depth: u8| {
        if depth == 0 {
            0
        } else {
            (u128::MAX << (bits - u32::from(depth))) & (u128::MAX >> (128 - bits))
        }
    };
    routes
        .iter()
        .filter(|&&(p, d, _)| addr & mask(d) == p & mask(d))
        .max_by_key(|&&(_, d, _)| d)
        .map_or(DEFAULT, |&(_, _, nh)| nh)
}

/// Random routes of depths `depths`, each prefix once (the last add of a prefix wins in DPDK;
/// the reference keeps one per prefix too).
fn random_routes(rng: &mut Rng, n: usize, bits: u32, depths: &[u8]) -> Vec<(u128, u8, u64)> {
    let mut routes: Vec<(u128, u8, u64)> = Vec::new();
    while routes.len() < n {
        let depth = depths[(rng.next() % depths.len() as u64) as usize];
        let raw = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> (128 - bits);
        let keep = if depth == 0 {
            0
        } else {
            (u128::MAX << (bits - u32::from(depth))) & (u128::MAX >> (128 - bits))
        };
        let prefix = raw & keep;
        if routes.iter().any(|&(p, d, _)| p == prefix && d == depth) {
            continue;
        }
        routes.push((prefix, depth, rng.next() % 1000));
    }
    routes
}

/// An address near a route (so that deep routes get hit), or anywhere.
fn random_addr(rng: &mut Rng, routes: &[(u128, u8, u64)], bits: u32) -> u128 {
    let all = u128::MAX >> (128 - bits);
    let noise = (u128::from(rng.next()) << 64 | u128::from(rng.next())) & all;
    if rng.next().is_multiple_of(4) {
        return noise;
    }
    let (p, d, _) = routes[(rng.next() % routes.len() as u64) as usize];
    // Keep the route's bits and a few more, so near-misses of deeper routes show up too.
    let fixed = (u32::from(d) + (rng.next() % 8) as u32).min(bits);
    let keep = if fixed == 0 {
        0
    } else {
        (u128::MAX << (bits - fixed)) & all
    };
    (p & keep) | (noise & !keep)
}

#[test]
fn fib4_agrees_with_a_linear_scan() {
    in_own_process("fib4_agrees_with_a_linear_scan", || {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let routes = random_routes(
            &mut rng,
            2000,
            32,
            &[0, 8, 16, 20, 23, 24, 24, 24, 25, 28, 30, 32],
        );
        let mut fib = Fib4::new(2000, 1000, DEFAULT).unwrap();
        for &(p, d, nh) in &routes {
            fib.add(Ipv4Addr::from(p as u32), d, nh).unwrap();
        }
        let check = |fib: &Fib4, routes: &[(u128, u8, u64)], rng: &mut Rng| {
            let addrs: Vec<u32> = (0..50_000)
                .map(|_| random_addr(rng, routes, 32) as u32)
                .collect();
            let mut hops = vec![u64::MAX; addrs.len()];
            for (a, h) in addrs.chunks(32).zip(hops.chunks_mut(32)) {
                fib.lookup_bulk(a, h);
            }
            for (&a, &h) in addrs.iter().zip(&hops) {
                let covering: Vec<_> = routes
                    .iter()
                    .filter(|&&(p, d, _)| d == 0 || (u128::from(a) >> (32 - d)) == p >> (32 - d))
                    .collect();
                assert_eq!(
                    h,
                    reference(routes, u128::from(a), 32),
                    "{} {covering:?}",
                    Ipv4Addr::from(a)
                );
            }
        };
        check(&fib, &routes, &mut rng);
        // Delete half; the rest must still answer as the scan says.
        let (gone, kept) = routes.split_at(1000);
        for &(p, d, _) in gone {
            fib.delete(Ipv4Addr::from(p as u32), d).unwrap();
        }
        check(&fib, kept, &mut rng);
        let (p, d, _) = gone[0];
        let err = fib.delete(Ipv4Addr::from(p as u32), d).unwrap_err();
        assert_eq!(err.errno, libc::ENOENT, "{err}");
        let err = fib.add(Ipv4Addr::UNSPECIFIED, 33, 1).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL, "{err}");
        let err = fib.add(Ipv4Addr::UNSPECIFIED, 8, 1 << 15).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL, "{err}");
        drop(fib);
    });
}

#[test]
fn fib4_holds_its_size_and_refuses_routes_past_its_room() {
    in_own_process(
        "fib4_holds_its_size_and_refuses_routes_past_its_room",
        || {
            let mut fib = Fib4::new(64, 3, 0).unwrap();
            // Room for 64 routes whatever their shape (the RIB's branching nodes included)...
            let mut added = 0u32;
            let err = loop {
                let addr = Ipv4Addr::from(added.reverse_bits() ^ 0x0A00_0000);
                match fib.add(addr, 32, 1 + u64::from(added % 3)) {
                    Ok(()) => added += 1,
                    Err(e) => break e,
                }
                assert!(added < 1000, "a FIB of 64 routes took {added}");
            };
            // ...and no room past twice that: DPDK says so.
            assert!((64..=128).contains(&added), "{added} routes fit");
            assert_eq!(err.errno, libc::ENOSPC, "{err}");
            let mut hops = [9; 2];
            fib.lookup_bulk(&[0x0A00_0000, 0x0B00_0001], &mut hops);
            assert_eq!(hops, [1, 0]);
        },
    );
}

#[test]
fn fib6_agrees_with_a_linear_scan() {
    in_own_process("fib6_agrees_with_a_linear_scan", || {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let routes = random_routes(
            &mut rng,
            1000,
            128,
            &[0, 16, 32, 40, 48, 48, 56, 64, 64, 96, 127, 128],
        );
        let mut fib = Fib6::new(1000, 1000, DEFAULT).unwrap();
        for &(p, d, nh) in &routes {
            fib.add(Ipv6Addr::from(p), d, nh).unwrap();
        }
        let check = |fib: &Fib6, routes: &[(u128, u8, u64)], rng: &mut Rng| {
            let addrs: Vec<[u8; 16]> = (0..20_000)
                .map(|_| random_addr(rng, routes, 128).to_be_bytes())
                .collect();
            let mut hops = vec![u64::MAX; addrs.len()];
            for (a, h) in addrs.chunks(32).zip(hops.chunks_mut(32)) {
                fib.lookup_bulk(a, h);
            }
            for (a, &h) in addrs.iter().zip(&hops) {
                let addr = u128::from_be_bytes(*a);
                assert_eq!(h, reference(routes, addr, 128), "{}", Ipv6Addr::from(addr));
            }
        };
        check(&fib, &routes, &mut rng);
        let (gone, kept) = routes.split_at(500);
        for &(p, d, _) in gone {
            fib.delete(Ipv6Addr::from(p), d).unwrap();
        }
        check(&fib, kept, &mut rng);
        let err = fib.add(Ipv6Addr::UNSPECIFIED, 129, 1).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL, "{err}");
    });
}

#[test]
fn routes_of_length_0_come_and_go() {
    in_own_process("routes_of_length_0_come_and_go", || {
        let mut fib = Fib4::new(8, 9, DEFAULT).unwrap();
        fib.add(Ipv4Addr::new(10, 0, 0, 0), 8, 1).unwrap();
        fib.add(Ipv4Addr::UNSPECIFIED, 0, 2).unwrap();
        fib.add(Ipv4Addr::new(10, 1, 0, 0), 16, 3).unwrap();
        let mut hops = [0; 3];
        fib.lookup_bulk(&[0x0A00_0001, 0x0B00_0001, 0x0A01_0001], &mut hops);
        assert_eq!(hops, [1, 2, 3]);
        fib.delete(Ipv4Addr::UNSPECIFIED, 0).unwrap();
        fib.lookup_bulk(&[0x0A00_0001, 0x0B00_0001, 0x0A01_0001], &mut hops);
        assert_eq!(hops, [1, DEFAULT, 3]);
        let err = fib.delete(Ipv4Addr::UNSPECIFIED, 0).unwrap_err();
        assert_eq!(err.errno, libc::ENOENT, "{err}");

        let mut fib = Fib6::new(8, 9, DEFAULT).unwrap();
        let a = |text: &str| text.parse::<Ipv6Addr>().unwrap();
        fib.add(a("2001:db8::"), 32, 1).unwrap();
        fib.add(Ipv6Addr::UNSPECIFIED, 0, 2).unwrap();
        let addrs = [a("2001:db8::1").octets(), a("2001:db9::1").octets()];
        let mut hops = [0; 2];
        fib.lookup_bulk(&addrs, &mut hops);
        assert_eq!(hops, [1, 2]);
        fib.delete(Ipv6Addr::UNSPECIFIED, 0).unwrap();
        fib.lookup_bulk(&addrs, &mut hops);
        assert_eq!(hops, [1, DEFAULT]);
    });
}

/// A longest-prefix match of its own: a map from (prefix, depth) to next hop, asked from the
/// deepest depth in use up. Independent of the scan above, fast enough for a million lookups.
struct ByDepth {
    bits: u32,
    depths: Vec<u8>,
    routes: HashMap<(u128, u8), u64>,
}

impl ByDepth {
    fn new(routes: &[(u128, u8, u64)], bits: u32) -> Self {
        let mut depths: Vec<u8> = routes.iter().map(|r| r.1).collect();
        depths.sort_unstable_by(|a, b| b.cmp(a));
        depths.dedup();
        Self {
            bits,
            depths,
            routes: routes.iter().map(|&(p, d, nh)| ((p, d), nh)).collect(),
        }
    }

    fn lookup(&self, addr: u128) -> u64 {
        let all = u128::MAX >> (128 - self.bits);
        self.depths
            .iter()
            .find_map(|&d| {
                let keep = (all >> (self.bits - u32::from(d))) << (self.bits - u32::from(d));
                let keep = if d == 0 { 0 } else { keep };
                self.routes.get(&(addr & keep, d)).copied()
            })
            .unwrap_or(DEFAULT)
    }
}

/// `n` distinct random routes with depths drawn from `depths` (a map keeps them distinct).
fn many_routes(rng: &mut Rng, n: usize, bits: u32, depths: &[u8]) -> Vec<(u128, u8, u64)> {
    let all = u128::MAX >> (128 - bits);
    let mut seen = HashMap::with_capacity(n);
    while seen.len() < n {
        let depth = depths[(rng.next() % depths.len() as u64) as usize];
        let raw = (u128::from(rng.next()) << 64 | u128::from(rng.next())) & all;
        let keep = if depth == 0 {
            0
        } else {
            (all >> (bits - u32::from(depth))) << (bits - u32::from(depth))
        };
        seen.entry((raw & keep, depth))
            .or_insert_with(|| rng.next() % 1000);
    }
    seen.into_iter().map(|((p, d), nh)| (p, d, nh)).collect()
}

#[test]
fn a_million_lookups_agree_with_a_map_per_depth() {
    in_own_process("a_million_lookups_agree_with_a_map_per_depth", || {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        // A realistic IPv4 mix: mostly /24, some /16-/23, a few longer.
        let depths4 = [24, 24, 24, 24, 24, 24, 24, 16, 18, 20, 22, 23, 25, 28, 32];
        let routes = many_routes(&mut rng, 50_000, 32, &depths4);
        let reference = ByDepth::new(&routes, 32);
        let mut fib = Fib4::new(50_000, 1000, DEFAULT).unwrap();
        for &(p, d, nh) in &routes {
            fib.add(Ipv4Addr::from(p as u32), d, nh).unwrap();
        }
        let mut addrs = [0u32; 32];
        let mut hops = [0u64; 32];
        for _ in 0..1_000_000 / 32 {
            for a in &mut addrs {
                *a = random_addr(&mut rng, &routes, 32) as u32;
            }
            fib.lookup_bulk(&addrs, &mut hops);
            for (&a, &h) in addrs.iter().zip(&hops) {
                assert_eq!(h, reference.lookup(u128::from(a)), "{}", Ipv4Addr::from(a));
            }
        }
        drop(fib);

        let depths6 = [32, 40, 44, 48, 48, 48, 56, 64, 64, 64, 96, 128];
        let routes = many_routes(&mut rng, 5_000, 128, &depths6);
        let reference = ByDepth::new(&routes, 128);
        let mut fib = Fib6::new(5_000, 1000, DEFAULT).unwrap();
        for &(p, d, nh) in &routes {
            fib.add(Ipv6Addr::from(p), d, nh).unwrap();
        }
        let mut addrs = [[0u8; 16]; 32];
        for _ in 0..1_000_000 / 32 {
            for a in &mut addrs {
                *a = random_addr(&mut rng, &routes, 128).to_be_bytes();
            }
            fib.lookup_bulk(&addrs, &mut hops);
            for (a, &h) in addrs.iter().zip(&hops) {
                let addr = u128::from_be_bytes(*a);
                assert_eq!(h, reference.lookup(addr), "{}", Ipv6Addr::from(addr));
            }
        }
    });
}
