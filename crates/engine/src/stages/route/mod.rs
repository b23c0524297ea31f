//! `route`: longest-prefix-match routing over DPDK's FIBs (IPv4 `DIR24_8`, IPv6 TRIE), with a
//! next-hop table (port, MACs) and RFC 1812 forwarding: bad IPv4 headers, expired TTLs and
//! unroutable packets are dropped and counted; the rest leave with TTL − 1 (the checksum
//! patched as RFC 1624 says) and the next hop's MACs, on its port.
//!
//! The tables ([`table::RouteTable`]) are built at compile and live on while the stage's
//! config stays the same: `apply()` of a config whose stage is unchanged keeps them (with the
//! routes added live), a changed stage gets new ones. Routes change live through the engine's
//! route API ([`crate::control`]), double-buffered so that no worker pauses or sees half a
//! change. A family without routes or `maxRoutes` has no table (each is 2^24 entries,
//! megabytes of EAL's heap): its packets go to the default.

mod config;
pub mod file;
mod forward;
pub mod table;

pub use config::{
    declared, parse_prefix, stage_name, Declared, MaxRoutes, NextHopConfig, RouteConfig,
    RouteEntryConfig, RoutePrefix,
};
pub use table::{At, Capacity, Changed, Edit, Refused, RouteTable};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    bump, mac_field, Batch, CompileContext, StageContext, StageRun, DROP, PREFETCH_DISTANCE,
};
use crate::error::EngineError;
use crate::net::Mac;
use crate::validate::StageCheck;
use forward::{classify_any, plain_v4, plain_v6, ttl_decremented, Class};

/// Where the stage's drop counters sit in its `route/…` line.
mod drops {
    pub const NO_ROUTE: usize = 0;
    pub const TTL_EXPIRED: usize = 1;
    pub const BAD_HEADER: usize = 2;
    pub const NOT_IP: usize = 3;
}

/// A compiled next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// Output port.
    pub port: u16,
    /// The frame's new Ethernet addresses, written as one: the destination, then the source
    /// (the port's own unless the config gives one).
    pub macs: [u8; 12],
    /// `nextHop/…` counter slot.
    pub slot: usize,
}

/// Forwarded counts per next hop over one run of the stage, added to the segment once per
/// run instead of once per packet: the first [`HopCounts::HOPS`] hops (a route stage
/// rarely has more) in an array, any later hop counted directly.
#[derive(Debug, Default)]
struct HopCounts {
    counts: [u32; HopCounts::HOPS],
}

impl HopCounts {
    const HOPS: usize = 16;

    /// Counts one packet to hop `h`; `false` when it is past the array (count it directly).
    #[inline]
    fn add(&mut self, h: usize) -> bool {
        let Some(count) = self.counts.get_mut(h) else {
            return false;
        };
        *count += 1;
        true
    }
}

/// The compiled `route` stage.
#[derive(Debug)]
pub struct Route {
    /// Next hops, in name order; a FIB answers an index into this.
    pub hops: Vec<NextHop>,
    /// What the FIBs answer for no route: a hop's index (the default) or `hops.len()`.
    pub miss: u64,
    /// The tables, shared with the engine's route API (and with the next program, if it runs
    /// this stage unchanged).
    pub table: Arc<RouteTable>,
    /// `route/…` counter slot.
    pub slot: usize,
}

impl Route {
    /// One burst of at most [`dpdk::BURST_SIZE`] packets: sorted by family (the rest dropped
    /// and counted), looked up one call per family, then each sent to its next hop with its
    /// TTL or hop limit one lower and the hop's MACs.
    #[inline]
    fn run_burst(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        ctx: &StageContext<'_>,
        dropped: &mut [u64; 4],
        counts: &mut HopCounts,
    ) {
        const N: usize = dpdk::BURST_SIZE;
        let n = pkts.len().min(verdict.len()).min(N);
        // Per family, the packets to route: where each one's frame and IP header are, and its
        // destination.
        let mut v4 = Batch::<u32, Frame>::new();
        let mut v6 = Batch::<[u8; 16], Frame>::new();
        // Headers a few packets ahead are fetched while this one is read (as the rewriting
        // stages do): a burst's frames are rarely all in cache when it arrives.
        for m in pkts.iter().take(PREFETCH_DISTANCE) {
            m.prefetch_data();
        }
        for i in 0..n {
            if let Some(ahead) = pkts.get(i + PREFETCH_DISTANCE) {
                ahead.prefetch_data();
            }
            if verdict[i] == DROP {
                continue;
            }
            let p = pkts[i].data_mut();
            if let Some(dst) = plain_v4(p) {
                v4.push(dst, Frame::new(p, i, 14));
                continue;
            }
            if let Some(dst) = plain_v6(p) {
                v6.push(*dst, Frame::new(p, i, 14));
                continue;
            }
            match classify_any(p) {
                Class::V4 { l3, dst } => {
                    v4.push(dst, Frame::new(p, i, l3));
                }
                Class::V6 { l3 } => {
                    let at = usize::from(l3) + 24;
                    let dst = p.get(at..at + 16).and_then(|d| d.first_chunk::<16>());
                    let dst = dst.expect("classify checked 40 bytes of header");
                    v6.push(*dst, Frame::new(p, i, l3));
                }
                class => {
                    dropped[match class {
                        Class::Expired => drops::TTL_EXPIRED,
                        Class::BadHeader => drops::BAD_HEADER,
                        _ => drops::NOT_IP,
                    }] += 1;
                    verdict[i] = DROP;
                }
            }
        }
        // SAFETY: a worker inside a burst: it acknowledges no newer generation before it returns.
        let tables = unsafe { self.table.load() };
        let mut hops = [self.miss; N];
        if !v4.is_empty() {
            let hops = &mut hops[..v4.len()];
            if let Some(fib) = &tables.v4 {
                fib.lookup_bulk(v4.firsts(), hops);
            }
            self.send::<false>(v4.seconds(), hops, verdict, counts, ctx, dropped);
        }
        if !v6.is_empty() {
            let hops = &mut hops[..v6.len()];
            hops.fill(self.miss);
            if let Some(fib) = &tables.v6 {
                fib.lookup_bulk(v6.firsts(), hops);
            }
            self.send::<true>(v6.seconds(), hops, verdict, counts, ctx, dropped);
        }
    }

    /// Sends each of `frames` (IPv6 or IPv4) to its next hop `hops[j]`: TTL or hop limit − 1,
    /// the hop's MACs, counted, its verdict the hop's port ([`DROP`] for a miss).
    #[inline]
    fn send<const V6: bool>(
        &self,
        frames: &[Frame],
        hops: &[u64],
        verdict: &mut [u16],
        counts: &mut HopCounts,
        ctx: &StageContext<'_>,
        dropped: &mut [u64; 4],
    ) {
        for (frame, &nh) in frames.iter().zip(hops) {
            let Some(hop) = self.hops.get(nh as usize) else {
                dropped[drops::NO_ROUTE] += 1;
                verdict[usize::from(frame.packet)] = DROP;
                continue;
            };
            // SAFETY: `frame` was made by `Frame::new` from this burst's packet, which the
            // stage holds (`&mut`) for the whole burst and classify found to have the header.
            unsafe { frame.rewrite::<V6>(&hop.macs) };
            verdict[usize::from(frame.packet)] = hop.port;
            if ctx.counting && !counts.add(nh as usize) {
                bump(ctx.segment.next_hop_counter(ctx.worker, hop.slot), 1);
            }
        }
    }
}

/// A packet to route, as the first pass over a burst found it: where its frame is, its index
/// in the burst, and its IP header's offset. The frame is written through this pointer in
/// the second pass, after the lookup, without looking at the mbuf again.
#[derive(Debug, Clone, Copy)]
struct Frame {
    data: *mut u8,
    packet: u8,
    l3: u8,
}

impl Frame {
    /// Packet `packet`'s frame `data`, whose IP header the first pass found at `l3`.
    #[inline]
    fn new(data: &mut [u8], packet: usize, l3: u8) -> Self {
        Self {
            data: data.as_mut_ptr(),
            // Bursts hold at most 32 packets.
            packet: packet as u8,
            l3,
        }
    }

    /// Writes the next hop's MACs and takes one off the TTL (patching the checksum) or the
    /// hop limit.
    ///
    /// # Safety
    /// The frame is alive and not referred to elsewhere, and holds the Ethernet header and
    /// an IP header of the family `V6` says at `l3` (as the first pass checked).
    #[inline]
    unsafe fn rewrite<const V6: bool>(&self, macs: &[u8; 12]) {
        let l3 = usize::from(self.l3);
        // SAFETY: the caller's promise: 12 bytes of MACs, and (IPv4) 12 bytes of header at
        // l3 or (IPv6) 40.
        unsafe {
            self.data.cast::<[u8; 12]>().write_unaligned(*macs);
            if V6 {
                *self.data.add(l3 + 7) -= 1;
            } else {
                let word = self.data.add(l3 + 8).cast::<[u8; 4]>();
                word.write_unaligned(ttl_decremented(word.read_unaligned()));
            }
        }
    }
}

/// The running route tables that `config` keeps (its stage of that pipeline and name is the
/// same): their standby copies can stay through `apply()`.
pub fn kept_tables(
    config: &crate::config::EngineConfig,
    tables: &crate::compile::RouteTables,
) -> std::collections::HashSet<(String, String)> {
    let mut kept = std::collections::HashSet::new();
    for (i, pipeline) in config.pipelines.iter().enumerate() {
        for (s, stage) in pipeline.stages.iter().enumerate() {
            if let super::StageConfig::Route(route) = stage {
                let key = (config.pipeline_name(i), stage_name(route, s));
                if tables.get(&key).is_some_and(|t| t.config == *route) {
                    kept.insert(key);
                }
            }
        }
    }
    kept
}

/// Heap bytes the stage's tables take (what the memory plan counts before EAL starts, once
/// per copy): a table per family with room ([`config::capacity`]), sized as compile makes it.
pub fn table_bytes(config: &RouteConfig) -> u64 {
    let room = config::counted_capacity(config);
    let hops = config.next_hops.len() as u64;
    let v4 = match room.v4 {
        0 => 0,
        n => dpdk::Fib4::footprint(n, hops, hops),
    };
    let v6 = match room.v6 {
        0 => 0,
        n => dpdk::Fib6::footprint(n, hops, hops),
    };
    v4 + v6
}

/// The stage's tables holding the routes its config gives (checked by validate; the routes
/// file is read again, so a file changed since is reported, not trusted).
fn build_table(
    config: &RouteConfig,
    index: impl Fn(&str) -> Option<u32>,
    miss: u64,
    path: &str,
) -> Result<RouteTable, EngineError> {
    let (declared, problems) = declared(config);
    if let Some((at, why)) = problems.first() {
        return Err(EngineError::config(&format!("{path}.{at}"), why));
    }
    let mut routes = BTreeMap::new();
    for d in &declared {
        let problem = |field: &str, why: String| {
            let (at, line) = d.at(field);
            EngineError::config(&format!("{path}.{at}"), format!("{line}{why}"))
        };
        let hop = index(&d.via)
            .ok_or_else(|| problem("via", format!("{} is not a next hop of this stage", d.via)))?;
        if routes.insert(d.prefix, hop).is_some() {
            return Err(problem(
                "prefix",
                format!(
                    "{} is given twice (the routes file changed since the config was checked?)",
                    d.prefix
                ),
            ));
        }
    }
    let capacity = config::capacity(config, &declared);
    let hop_names = config.next_hops.keys().cloned().collect();
    RouteTable::new(config.clone(), hop_names, capacity, miss, routes).map_err(|e| {
        EngineError::config(
            path,
            format!(
                "{e}: the stage's route tables need {} MiB of EAL's memory, and the engine planned room for its first config's tables (twice, for live changes); restart the engine with this config",
                table_bytes(config).div_ceil(1 << 20)
            ),
        )
    })
}

impl StageRun for Route {
    type Config = RouteConfig;

    fn check(config: &RouteConfig, cx: &mut StageCheck<'_>) {
        config::check(config, cx);
    }

    fn sends_to(config: &RouteConfig) -> Vec<(&str, &'static str)> {
        config
            .next_hops
            .values()
            .map(|hop| (hop.port.as_str(), "nextHops"))
            .collect()
    }

    fn table_bytes(config: &RouteConfig) -> u64 {
        table_bytes(config)
    }

    fn compile(
        config: &RouteConfig,
        cx: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
        let name = config::stage_name(config, cx.stage);
        let full = |what: &str, room: usize| {
            EngineError::config(
                &cx.path,
                format!("the stats segment has room for {room} {what} over the engine's life; restart the engine"),
            )
        };
        let slot = cx
            .segment
            .route_slot(cx.pipeline_slot, &name)
            .ok_or_else(|| full("route stages", stats::ROUTE_SLOTS))?;
        let mut hops = Vec::with_capacity(config.next_hops.len());
        for (hop_name, hop) in &config.next_hops {
            let port = cx.port(&hop.port)?;
            let mut macs = [0u8; 12];
            macs[..6].copy_from_slice(&mac_field(&hop.dst_mac)?);
            macs[6..].copy_from_slice(&match &hop.src_mac {
                Some(src) => mac_field(src)?,
                None => cx.port_macs[usize::from(port)],
            });
            hops.push(NextHop {
                port,
                macs,
                slot: cx
                    .segment
                    .next_hop_slot(slot, hop_name)
                    .ok_or_else(|| full("next hops", stats::NEXT_HOP_SLOTS))?,
            });
        }
        let index = |via: &str| {
            config
                .next_hops
                .keys()
                .position(|k| k == via)
                .map(|i| i as u32)
        };
        let miss = config
            .default
            .as_deref()
            .and_then(index)
            .map_or(hops.len() as u64, u64::from);
        let key = (cx.pipeline_name.to_owned(), name);
        // The same stage as the running program's: its tables (and their live routes) go on.
        let table = match cx.routes.get(&key) {
            Some(table) if table.config == *config => Arc::clone(table),
            _ => Arc::new(build_table(config, index, miss, &cx.path)?),
        };
        cx.next_routes.insert(key, Arc::clone(&table));
        Ok(Some(Self {
            hops,
            miss,
            table,
            slot,
        }))
    }

    #[inline]
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        _port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    ) {
        let mut dropped = [0u64; 4];
        let mut counts = HopCounts::default();
        for (p, v) in pkts
            .chunks_mut(dpdk::BURST_SIZE)
            .zip(verdict.chunks_mut(dpdk::BURST_SIZE))
        {
            self.run_burst(p, v, ctx, &mut dropped, &mut counts);
        }
        for (hop, &n) in self.hops.iter().zip(&counts.counts) {
            if n > 0 {
                bump(
                    ctx.segment.next_hop_counter(ctx.worker, hop.slot),
                    u64::from(n),
                );
            }
        }
        if ctx.counting && dropped != [0; 4] {
            let line = ctx.segment.route_counters(ctx.worker, self.slot);
            for (counter, n) in line.iter().zip(dropped) {
                if n > 0 {
                    bump(counter, n);
                }
            }
        }
    }
}
