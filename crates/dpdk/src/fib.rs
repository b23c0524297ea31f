//! Longest-prefix-match tables: `rte_fib` (IPv4, `DIR24_8`) and `rte_fib6` (IPv6, TRIE).
//!
//! Both map a prefix to a next hop (a small integer the caller gives meaning to) and answer
//! a whole burst of addresses in one call, so a route stage crosses FFI once per burst.
//! Both hold a table of 2^24 entries for the first 24 bits (DPDK's design: one memory read
//! for most IPv4 lookups), so their size depends on the width of a next hop: the narrowest
//! entry that holds every next hop the caller declares is chosen, 1 byte (IPv4 only) up to 8.
//! The memory comes from EAL's heap (`rte_malloc`): EAL must be running, and a table must
//! be made while EAL runs. A table dropped after EAL was cleaned up frees nothing: its memory
//! went with EAL's (a compiled program may outlive the engine's EAL by a moment).

use std::ffi::CString;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{DpdkError, ToResult};

/// DPDK's `SOCKET_ID_ANY` (a macro bindgen does not see): memory from any NUMA socket.
const SOCKET_ID_ANY: i32 = -1;

/// DPDK names every table (its RIB and memory zones too); names must be unique per process.
static NEXT_TABLE: AtomicU64 = AtomicU64::new(0);

fn unique_name(family: &str) -> CString {
    let n = NEXT_TABLE.fetch_add(1, Ordering::Relaxed);
    CString::new(format!("fp-{family}-{n}")).expect("no NUL in a generated name")
}

/// Second-level groups an IPv4 table gets at most: as many /24s may hold longer routes (as
/// in DPDK's l3fwd), and 2-byte entries can number them. Past that, adding is `ENOSPC`.
const MAX_GROUPS4: u64 = (1 << 15) - 1;

/// The largest next hop an entry of `bytes` bytes holds: `DIR24_8` and TRIE take the top bit
/// to mark an entry that points to a further table.
fn widest_next_hop(bytes: u32) -> u64 {
    (1u64 << (bytes * 8 - 1)) - 1
}

/// DPDK's `max_routes` counts the nodes of the table's RIB, a binary trie: `routes` routes take
/// a node each and at most one more per branching point, `2 × routes − 1` in all.
fn rib_nodes(routes: u32) -> Result<i32, DpdkError> {
    i32::try_from(u64::from(routes.max(1)) * 2)
        .map_err(|_| invalid(format!("a FIB of {routes} routes")))
}

/// The route of length 0, kept beside DPDK's table: DPDK 22.11 mishandles it (deleting it
/// from a `DIR24_8` table with other routes left the whole table answering the default; the
/// range arithmetic overflows at depth 0). Misses answer it instead of the table's default.
#[derive(Debug, Clone, Copy)]
struct ZeroRoute {
    /// What the table answers for a miss.
    miss: u64,
    /// The route's next hop, if there is one.
    next_hop: Option<u64>,
}

impl ZeroRoute {
    fn delete(&mut self, context: impl FnOnce() -> String) -> Result<(), DpdkError> {
        match self.next_hop.take() {
            Some(_) => Ok(()),
            None => Err(DpdkError {
                context: context(),
                errno: libc::ENOENT,
            }),
        }
    }

    /// Misses become the route's next hop.
    #[inline]
    fn fill(&self, next_hops: &mut [u64]) {
        if let Some(nh) = self.next_hop {
            for hop in next_hops.iter_mut().filter(|h| **h == self.miss) {
                *hop = nh;
            }
        }
    }
}

/// Heap bytes a RIB node takes, measured (`rte_malloc_get_socket_stats` around a table's
/// creation, at 4 Ki to 256 Ki routes, both families): the node, its mempool header and
/// the mempool's own rings and memzones, per node.
const RIB_NODE_BYTES: u64 = 448;

/// How a table is laid out: DPDK's entry-width constant, the width in bytes, the number of
/// second-level groups.
struct Shape {
    nh_sz: u32,
    bytes: u32,
    groups: u32,
}

impl Shape {
    /// Heap bytes: 2^24 first-level entries, `groups + 1` groups of 256 (DPDK keeps one
    /// spare), and the RIB's nodes ([`RIB_NODE_BYTES`] each), plus 1 MiB: the heap must find the first-level table in one piece
    /// (without it, a `--no-huge` engine planned to the byte could not place a second table).
    fn bytes(&self, max_routes: u32) -> u64 {
        let entry = u64::from(self.bytes);
        let nodes = u64::from(max_routes.max(1)) * 2;
        (1 << 24) * entry
            + (u64::from(self.groups) + 1) * 256 * entry
            + nodes * RIB_NODE_BYTES
            + (1 << 20)
    }
}

fn invalid(context: String) -> DpdkError {
    DpdkError {
        context,
        errno: libc::EINVAL,
    }
}

/// An IPv4 longest-prefix-match table (`rte_fib`, `DIR24_8`).
pub struct Fib4 {
    raw: NonNull<dpdk_sys::rte_fib>,
    max_next_hop: u64,
    zero: ZeroRoute,
}

// SAFETY: the table is a pointer into EAL's shared heap; lookups only read it and every
// change takes `&mut self`, so shared references only ever read.
unsafe impl Send for Fib4 {}
// SAFETY: as above: `&self` methods are lookups, which DPDK allows from any thread at once.
unsafe impl Sync for Fib4 {}

impl std::fmt::Debug for Fib4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib4")
            .field("max_next_hop", &self.max_next_hop)
            .finish_non_exhaustive()
    }
}

impl Fib4 {
    /// Deepest IPv4 prefix.
    pub const MAX_DEPTH: u8 = 32;

    /// A table with room for `max_routes` routes whose next hops go up to `max_next_hop`;
    /// addresses no route covers answer `default_next_hop`.
    pub fn new(
        max_routes: u32,
        max_next_hop: u64,
        default_next_hop: u64,
    ) -> Result<Self, DpdkError> {
        let Shape {
            nh_sz,
            bytes,
            groups,
        } = Self::shape(max_routes, max_next_hop.max(default_next_hop))?;
        let mut conf = dpdk_sys::rte_fib_conf {
            type_: dpdk_sys::RTE_FIB_DIR24_8,
            default_nh: default_next_hop,
            max_routes: rib_nodes(max_routes)?,
            ..Default::default()
        };
        conf.__bindgen_anon_1.dir24_8.nh_sz = nh_sz;
        conf.__bindgen_anon_1.dir24_8.num_tbl8 = groups;
        let name = unique_name("fib4");
        // SAFETY: name is NUL-terminated and copied by DPDK; conf outlives the call.
        let raw = unsafe { dpdk_sys::rte_fib_create(name.as_ptr(), SOCKET_ID_ANY, &mut conf) };
        let raw = raw
            .to_result(|| format!("rte_fib_create({max_routes} routes, {bytes}-byte next hops)"))?;
        Ok(Self {
            raw,
            max_next_hop: widest_next_hop(bytes),
            zero: ZeroRoute {
                miss: default_next_hop,
                next_hop: None,
            },
        })
    }

    /// The entry width and second-level group count for a table of `max_routes` routes and
    /// next hops up to `need`: each route longer than /24 may need a group of 256 entries
    /// (one per distinct /24 holding such routes), up to [`MAX_GROUPS4`]; the group count
    /// is bounded by the entry width as next hops are.
    fn shape(max_routes: u32, need: u64) -> Result<Shape, DpdkError> {
        let groups = u64::from(max_routes.max(1)).min(MAX_GROUPS4);
        let need = need.max(groups);
        [
            (dpdk_sys::RTE_FIB_DIR24_8_1B, 1),
            (dpdk_sys::RTE_FIB_DIR24_8_2B, 2),
            (dpdk_sys::RTE_FIB_DIR24_8_4B, 4),
            (dpdk_sys::RTE_FIB_DIR24_8_8B, 8),
        ]
        .into_iter()
        .find(|&(_, bytes)| need <= widest_next_hop(bytes))
        .map(|(nh_sz, bytes)| Shape {
            nh_sz,
            bytes,
            groups: groups.min(widest_next_hop(bytes)) as u32,
        })
        .ok_or_else(|| invalid(format!("rte_fib next hop {need}")))
    }

    /// Heap bytes [`Fib4::new`] takes with these arguments (pure arithmetic, callable before
    /// EAL starts): the 2^24 first-level entries, the second-level groups, the RIB's nodes.
    pub fn footprint(max_routes: u32, max_next_hop: u64, default_next_hop: u64) -> u64 {
        Self::shape(max_routes, max_next_hop.max(default_next_hop))
            .map_or(0, |shape| shape.bytes(max_routes))
    }

    /// Adds (or replaces) the route `addr/depth` (host bits are ignored).
    pub fn add(&mut self, addr: Ipv4Addr, depth: u8, next_hop: u64) -> Result<(), DpdkError> {
        if next_hop > self.max_next_hop {
            return Err(invalid(format!(
                "rte_fib_add({addr}/{depth}): next hop {next_hop} above {}",
                self.max_next_hop
            )));
        }
        if depth == 0 {
            self.zero.next_hop = Some(next_hop);
            return Ok(());
        }
        // SAFETY: the table is live; `&mut self` makes this the only change in flight.
        let ret = unsafe { dpdk_sys::rte_fib_add(self.raw.as_ptr(), addr.into(), depth, next_hop) };
        ret.to_result(|| format!("rte_fib_add({addr}/{depth})"))
            .map(drop)
    }

    /// Deletes the route `addr/depth`; `ENOENT` when there is none.
    pub fn delete(&mut self, addr: Ipv4Addr, depth: u8) -> Result<(), DpdkError> {
        if depth == 0 {
            return self.zero.delete(|| format!("rte_fib_delete({addr}/0)"));
        }
        // SAFETY: as in `add`.
        let ret = unsafe { dpdk_sys::rte_fib_delete(self.raw.as_ptr(), addr.into(), depth) };
        ret.to_result(|| format!("rte_fib_delete({addr}/{depth})"))
            .map(drop)
    }

    /// The next hop of each address (host byte order, `u32::from(Ipv4Addr)`), into
    /// `next_hops[..addrs.len()]`.
    #[inline]
    pub fn lookup_bulk(&self, addrs: &[u32], next_hops: &mut [u64]) {
        let n = addrs.len().min(next_hops.len());
        if n == 0 {
            return;
        }
        // SAFETY: both slices hold n elements; DPDK reads `addrs` (declared mutable in C
        // only) and writes `next_hops`. Arguments are valid, so it cannot fail.
        unsafe {
            dpdk_sys::rte_fib_lookup_bulk(
                self.raw.as_ptr(),
                addrs.as_ptr().cast_mut(),
                next_hops.as_mut_ptr(),
                i32::try_from(n).unwrap_or(i32::MAX),
            );
        }
        self.zero.fill(&mut next_hops[..n]);
    }
}

impl Drop for Fib4 {
    fn drop(&mut self) {
        if crate::eal::running() {
            // SAFETY: the table is live and owned by self; nothing looks it up any more.
            unsafe { dpdk_sys::rte_fib_free(self.raw.as_ptr()) };
        }
    }
}

/// An IPv6 longest-prefix-match table (`rte_fib6`, TRIE).
pub struct Fib6 {
    raw: NonNull<dpdk_sys::rte_fib6>,
    max_next_hop: u64,
    zero: ZeroRoute,
}

// SAFETY: as for Fib4.
unsafe impl Send for Fib6 {}
// SAFETY: as for Fib4.
unsafe impl Sync for Fib6 {}

impl std::fmt::Debug for Fib6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib6")
            .field("max_next_hop", &self.max_next_hop)
            .finish_non_exhaustive()
    }
}

impl Fib6 {
    /// Deepest IPv6 prefix.
    pub const MAX_DEPTH: u8 = 128;

    /// As [`Fib4::new`]; entries are at least 2 bytes (TRIE has no 1-byte form).
    pub fn new(
        max_routes: u32,
        max_next_hop: u64,
        default_next_hop: u64,
    ) -> Result<Self, DpdkError> {
        let Shape {
            nh_sz,
            bytes,
            groups,
        } = Self::shape(max_routes, max_next_hop.max(default_next_hop))?;
        let mut conf = dpdk_sys::rte_fib6_conf {
            type_: dpdk_sys::RTE_FIB6_TRIE,
            default_nh: default_next_hop,
            max_routes: rib_nodes(max_routes)?,
            ..Default::default()
        };
        conf.__bindgen_anon_1.trie.nh_sz = nh_sz;
        conf.__bindgen_anon_1.trie.num_tbl8 = groups;
        let name = unique_name("fib6");
        // SAFETY: as in Fib4::new.
        let raw = unsafe { dpdk_sys::rte_fib6_create(name.as_ptr(), SOCKET_ID_ANY, &mut conf) };
        let raw = raw.to_result(|| {
            format!("rte_fib6_create({max_routes} routes, {bytes}-byte next hops)")
        })?;
        Ok(Self {
            raw,
            max_next_hop: widest_next_hop(bytes),
            zero: ZeroRoute {
                miss: default_next_hop,
                next_hop: None,
            },
        })
    }

    /// As [`Fib4::shape`]: a route past /24 takes a group per further byte of its prefix, up
    /// to 13 for a /128; /48 and /64 (the usual) take 3 and 5.
    fn shape(max_routes: u32, need: u64) -> Result<Shape, DpdkError> {
        let groups = u64::from(max_routes.max(1)) * 8;
        // An entry numbers groups as it does next hops: past 32767 groups, 4-byte entries
        // (without this, 4096 routes or more got 2-byte entries and too few groups: ENOSPC).
        let need = need.max(groups);
        [
            (dpdk_sys::RTE_FIB6_TRIE_2B, 2),
            (dpdk_sys::RTE_FIB6_TRIE_4B, 4),
            (dpdk_sys::RTE_FIB6_TRIE_8B, 8),
        ]
        .into_iter()
        .find(|&(_, bytes)| need <= widest_next_hop(bytes))
        .map(|(nh_sz, bytes)| Shape {
            nh_sz,
            bytes,
            groups: groups.min(widest_next_hop(bytes)) as u32,
        })
        .ok_or_else(|| invalid(format!("rte_fib6 next hop {need}")))
    }

    /// As [`Fib4::footprint`], for [`Fib6::new`].
    pub fn footprint(max_routes: u32, max_next_hop: u64, default_next_hop: u64) -> u64 {
        Self::shape(max_routes, max_next_hop.max(default_next_hop))
            .map_or(0, |shape| shape.bytes(max_routes))
    }

    /// Adds (or replaces) the route `addr/depth` (host bits are ignored).
    pub fn add(&mut self, addr: Ipv6Addr, depth: u8, next_hop: u64) -> Result<(), DpdkError> {
        if next_hop > self.max_next_hop {
            return Err(invalid(format!(
                "rte_fib6_add({addr}/{depth}): next hop {next_hop} above {}",
                self.max_next_hop
            )));
        }
        if depth == 0 {
            self.zero.next_hop = Some(next_hop);
            return Ok(());
        }
        let octets = addr.octets();
        // SAFETY: the table is live; octets is 16 bytes; `&mut self`: the only change.
        let ret =
            unsafe { dpdk_sys::rte_fib6_add(self.raw.as_ptr(), octets.as_ptr(), depth, next_hop) };
        ret.to_result(|| format!("rte_fib6_add({addr}/{depth})"))
            .map(drop)
    }

    /// Deletes the route `addr/depth`; `ENOENT` when there is none.
    pub fn delete(&mut self, addr: Ipv6Addr, depth: u8) -> Result<(), DpdkError> {
        if depth == 0 {
            return self.zero.delete(|| format!("rte_fib6_delete({addr}/0)"));
        }
        let octets = addr.octets();
        // SAFETY: as in `add`.
        let ret = unsafe { dpdk_sys::rte_fib6_delete(self.raw.as_ptr(), octets.as_ptr(), depth) };
        ret.to_result(|| format!("rte_fib6_delete({addr}/{depth})"))
            .map(drop)
    }

    /// The next hop of each address (network order bytes, `Ipv6Addr::octets`).
    #[inline]
    pub fn lookup_bulk(&self, addrs: &[[u8; 16]], next_hops: &mut [u64]) {
        let n = addrs.len().min(next_hops.len());
        if n == 0 {
            return;
        }
        // SAFETY: as in Fib4::lookup_bulk.
        unsafe {
            dpdk_sys::rte_fib6_lookup_bulk(
                self.raw.as_ptr(),
                addrs.as_ptr().cast_mut(),
                next_hops.as_mut_ptr(),
                i32::try_from(n).unwrap_or(i32::MAX),
            );
        }
        self.zero.fill(&mut next_hops[..n]);
    }
}

impl Drop for Fib6 {
    fn drop(&mut self) {
        if crate::eal::running() {
            // SAFETY: as for Fib4.
            unsafe { dpdk_sys::rte_fib6_free(self.raw.as_ptr()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprints_follow_the_entry_width() {
        let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
        // Few next hops: 1-byte IPv4 entries, 2-byte IPv6 ones (TRIE has no narrower).
        let v4 = mib(Fib4::footprint(16, 4, 4));
        assert!((17.0..17.2).contains(&v4), "{v4}");
        let v6 = mib(Fib6::footprint(16, 4, 4));
        assert!((33.0..33.2).contains(&v6), "{v6}");
        // 4096 IPv6 routes reserve 32768 groups: more than 2-byte entries number.
        let v6 = mib(Fib6::footprint(4096, 4, 4));
        assert!((100.0..101.0).contains(&v6), "{v6}");
        assert!(Fib6::shape(4095, 4).unwrap().bytes == 2);
        assert!(Fib6::shape(4096, 4).unwrap().bytes == 4);
        // A million routes: 2-byte entries and the most groups they number; the RIB's two
        // million nodes weigh most.
        let big = mib(Fib4::footprint(1 << 20, 4, 4));
        assert!((945.0..945.1).contains(&big), "{big}");
    }

    #[test]
    fn entry_widths_leave_the_top_bit_to_dpdk() {
        assert_eq!(widest_next_hop(1), 127);
        assert_eq!(widest_next_hop(2), 32_767);
        assert_eq!(widest_next_hop(8), i64::MAX as u64);
    }
}
