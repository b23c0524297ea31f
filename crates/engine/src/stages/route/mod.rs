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

use super::{bump, mac_field, CompileContext, StageContext, StageRun, DROP};
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

/// Where a routed packet's IP header starts, by family.
#[derive(Debug, Clone, Copy)]
enum L3 {
    V4(usize),
    V6(usize),
}

/// A compiled next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// Output port.
    pub port: u16,
    /// Destination MAC.
    pub dst: Mac,
    /// Source MAC; `None`: the port's own.
    pub src: Option<Mac>,
    /// `nextHop/…` counter slot.
    pub slot: usize,
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
    /// Sends packet `m` to next hop `nh`: TTL or hop limit − 1, its MACs; `None` for a miss.
    #[inline]
    fn apply(
        &self,
        m: &mut dpdk::Mbuf,
        nh: u64,
        l3: L3,
        port_macs: &[Mac],
        ctx: &StageContext<'_>,
    ) -> Option<u16> {
        let hop = self.hops.get(nh as usize)?;
        let p = m.data_mut();
        match l3 {
            L3::V4(at) => decrement_ttl_v4(p, at),
            L3::V6(at) => decrement_hop_limit_v6(p, at),
        }
        p[..6].copy_from_slice(&hop.dst);
        p[6..12].copy_from_slice(
            hop.src
                .as_ref()
                .unwrap_or(&port_macs[usize::from(hop.port)]),
        );
        if ctx.counting {
            bump(ctx.segment.next_hop_counter(ctx.worker, hop.slot), 1);
        }
        Some(hop.port)
    }

    /// One burst of at most [`dpdk::BURST_SIZE`] packets.
    #[inline]
    fn run_burst(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        port_macs: &[Mac],
        ctx: &StageContext<'_>,
        dropped: &mut [u64; 4],
    ) {
        const N: usize = dpdk::BURST_SIZE;
        let (mut v4_pkt, mut v4_l3, mut v4_dst, mut v4_n) = ([0u8; N], [0u16; N], [0u32; N], 0);
        let (mut v6_pkt, mut v6_l3, mut v6_dst, mut v6_n) =
            ([0u8; N], [0u16; N], [[0u8; 16]; N], 0);
        for (i, (m, v)) in pkts.iter().zip(verdict.iter_mut()).enumerate() {
            if *v == DROP {
                continue;
            }
            match classify(m.data()) {
                Class::V4 { l3, dst } => {
                    (v4_pkt[v4_n], v4_l3[v4_n], v4_dst[v4_n]) = (i as u8, l3 as u16, dst);
                    v4_n += 1;
                }
                Class::V6 { l3, dst } => {
                    (v6_pkt[v6_n], v6_l3[v6_n], v6_dst[v6_n]) = (i as u8, l3 as u16, dst);
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
        let mut send = |i: u8, nh: u64, l3: L3| {
            let i = usize::from(i);
            verdict[i] = self
                .apply(&mut pkts[i], nh, l3, port_macs, ctx)
                .unwrap_or_else(|| {
                    dropped[drops::NO_ROUTE] += 1;
                    DROP
                });
        };
        for j in 0..v4_n {
            send(v4_pkt[j], hops[j], L3::V4(usize::from(v4_l3[j])));
        }
        let mut hops = [self.miss; N];
        if let Some(fib) = &tables.v6 {
            fib.lookup_bulk(&v6_dst[..v6_n], &mut hops[..v6_n]);
        }
        for j in 0..v6_n {
            send(v6_pkt[j], hops[j], L3::V6(usize::from(v6_l3[j])));
        }
    }
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
            hops.push(NextHop {
                port: cx.port(&hop.port)?,
                dst: mac_field(&hop.dst_mac)?,
                src: hop.src_mac.as_deref().map(mac_field).transpose()?,
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
        port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    ) {
        let mut dropped = [0u64; 4];
        for (p, v) in pkts
            .chunks_mut(dpdk::BURST_SIZE)
            .zip(verdict.chunks_mut(dpdk::BURST_SIZE))
        {
            self.run_burst(p, v, port_macs, ctx, &mut dropped);
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
