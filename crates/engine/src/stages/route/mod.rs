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

use super::{bump, mac_field, CompileContext, StageContext, StageRun, DROP, PREFETCH_DISTANCE};
use crate::error::EngineError;
use crate::net::Mac;
use crate::validate::StageCheck;
use forward::{classify, decrement_hop_limit_v6, decrement_ttl_v4, Class};

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

/// Per-burst forwarded counts of the few next hops a burst usually goes to, added to the
/// segment once per run instead of once per packet; a hop past the first few is counted
/// directly.
#[derive(Debug, Default)]
struct HopCounts {
    hops: [u32; 4],
    counts: [u64; 4],
    used: usize,
}

impl HopCounts {
    /// Counts one packet to hop `h`; `false` when there is no room (count it directly).
    #[inline]
    fn add(&mut self, h: u32) -> bool {
        for k in 0..self.used {
            if self.hops[k] == h {
                self.counts[k] += 1;
                return true;
            }
        }
        if self.used == self.hops.len() {
            return false;
        }
        self.hops[self.used] = h;
        self.counts[self.used] = 1;
        self.used += 1;
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
    /// Counts one packet sent to hop `h`.
    #[inline]
    fn count(&self, h: u32, counts: &mut HopCounts, ctx: &StageContext<'_>) {
        if ctx.counting && !counts.add(h) {
            let slot = self.hops[h as usize].slot;
            bump(ctx.segment.next_hop_counter(ctx.worker, slot), 1);
        }
    }

    /// Sends packet `m` (IPv6 or IPv4, its header at `l3`) to next hop `nh`: TTL or hop limit
    /// − 1, the hop's MACs, counted; its verdict (the hop's port, or [`DROP`] for a miss).
    #[inline]
    fn send<const V6: bool>(
        &self,
        m: &mut dpdk::Mbuf,
        nh: u64,
        l3: u8,
        counts: &mut HopCounts,
        ctx: &StageContext<'_>,
        dropped: &mut [u64; 4],
    ) -> u16 {
        let Some(hop) = self.hops.get(nh as usize) else {
            dropped[drops::NO_ROUTE] += 1;
            return DROP;
        };
        let p = m.data_mut();
        if V6 {
            decrement_hop_limit_v6(p, usize::from(l3));
        } else {
            decrement_ttl_v4(p, usize::from(l3));
        }
        p[..12].copy_from_slice(&hop.macs);
        self.count(nh as u32, counts, ctx);
        hop.port
    }

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
        let (mut v4_pkt, mut v4_l3, mut v4_dst, mut v4_n) = ([0u8; N], [0u8; N], [0u32; N], 0);
        let (mut v6_pkt, mut v6_l3, mut v6_dst, mut v6_n) = ([0u8; N], [0u8; N], [[0u8; 16]; N], 0);
        // Headers a few packets ahead are fetched while this one is read (as the rewriting
        // stages do): a burst's frames are rarely all in cache when it arrives.
        for m in pkts.iter().take(PREFETCH_DISTANCE) {
            m.prefetch_data();
        }
        for (i, (m, v)) in pkts.iter().zip(verdict.iter_mut()).enumerate() {
            if let Some(ahead) = pkts.get(i + PREFETCH_DISTANCE) {
                ahead.prefetch_data();
            }
            if *v == DROP {
                continue;
            }
            // Header offsets are under 256: Ethernet and at most two VLAN tags.
            match classify(m.data()) {
                Class::V4 { l3, dst } => {
                    (v4_pkt[v4_n], v4_l3[v4_n], v4_dst[v4_n]) = (i as u8, l3 as u8, dst);
                    v4_n += 1;
                }
                Class::V6 { l3, dst } => {
                    (v6_pkt[v6_n], v6_l3[v6_n], v6_dst[v6_n]) = (i as u8, l3 as u8, dst);
                    v6_n += 1;
                }
                class => {
                    dropped[match class {
                        Class::Expired => drops::TTL_EXPIRED,
                        Class::BadHeader => drops::BAD_HEADER,
                        _ => drops::NOT_IP,
                    }] += 1;
                    *v = DROP;
                }
            }
        }
        // SAFETY: a worker inside a burst: it acknowledges no newer generation before it returns.
        let tables = unsafe { self.table.load() };
        let mut hops = [self.miss; N];
        if let Some(fib) = &tables.v4 {
            fib.lookup_bulk(&v4_dst[..v4_n], &mut hops[..v4_n]);
        }
        for j in 0..v4_n {
            let i = usize::from(v4_pkt[j]);
            verdict[i] = self.send::<false>(&mut pkts[i], hops[j], v4_l3[j], counts, ctx, dropped);
        }
        let mut hops = [self.miss; N];
        if let Some(fib) = &tables.v6 {
            fib.lookup_bulk(&v6_dst[..v6_n], &mut hops[..v6_n]);
        }
        for j in 0..v6_n {
            let i = usize::from(v6_pkt[j]);
            verdict[i] = self.send::<true>(&mut pkts[i], hops[j], v6_l3[j], counts, ctx, dropped);
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
        if ctx.counting {
            for k in 0..counts.used {
                let slot = self.hops[counts.hops[k] as usize].slot;
                bump(
                    ctx.segment.next_hop_counter(ctx.worker, slot),
                    counts.counts[k],
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
