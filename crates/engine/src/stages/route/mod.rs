//! `route`: longest-prefix-match routing over DPDK's FIBs (IPv4 `DIR24_8`, IPv6 TRIE), with a
//! next-hop table (port, MACs) and RFC 1812 forwarding: bad IPv4 headers, expired TTLs and
//! unroutable packets are dropped and counted; the rest leave with TTL − 1 (the checksum
//! patched as RFC 1624 says) and the next hop's MACs, on its port.
//!
//! The tables are built at compile and never change while a program runs: a new table comes
//! with a new program, swapped in by the pipeline RCU. A family without routes has no table
//! (each is 2^24 entries, megabytes of EAL's heap): its packets go to the default.

mod config;
mod forward;

pub use config::{NextHopConfig, RouteConfig, RouteEntryConfig};

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
    /// IPv4 routes, if any.
    pub v4: Option<dpdk::Fib4>,
    /// IPv6 routes, if any.
    pub v6: Option<dpdk::Fib6>,
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
        let mut hops = [self.miss; N];
        if let Some(fib) = &self.v4 {
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
        if let Some(fib) = &self.v6 {
            fib.lookup_bulk(&v6_dst[..v6_n], &mut hops[..v6_n]);
        }
        for j in 0..v6_n {
            send(v6_pkt[j], hops[j], L3::V6(usize::from(v6_l3[j])));
        }
    }
}

/// Heap bytes the stage's tables take (what the memory plan counts before EAL starts):
/// a table per family that has routes, sized as compile makes it.
pub fn table_bytes(config: &RouteConfig) -> u64 {
    let prefixes: Vec<_> = config
        .routes
        .iter()
        .filter_map(|r| config::parse_prefix(&r.prefix).ok())
        .collect();
    let hops = config.next_hops.len() as u64;
    let count = |v6: bool| prefixes.iter().filter(|p| p.v6 == v6).count() as u32;
    let v4 = match count(false) {
        0 => 0,
        n => dpdk::Fib4::footprint(n, hops, hops),
    };
    let v6 = match count(true) {
        0 => 0,
        n => dpdk::Fib6::footprint(n, hops, hops),
    };
    v4 + v6
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
                .map(|i| i as u64)
        };
        let miss = config
            .default
            .as_deref()
            .and_then(index)
            .unwrap_or(hops.len() as u64);
        let max_hop = hops.len() as u64;
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, route) in config.routes.iter().enumerate() {
            let prefix =
                config::parse_prefix(&route.prefix).map_err(|e| crate::compile::unvalidated(&e))?;
            let hop = index(&route.via).ok_or_else(|| crate::compile::unvalidated(&route.via))?;
            routes.push((i, prefix, hop));
        }
        let no_room = |e: dpdk::DpdkError| {
            EngineError::config(
                &cx.path,
                format!(
                    "{e}: the stage's route tables need {} MiB of EAL's memory, and the engine planned room for its first config's tables (twice, for live changes); restart the engine with this config",
                    table_bytes(config).div_ceil(1 << 20)
                ),
            )
        };
        let table_error = |i: usize, e: dpdk::DpdkError| {
            EngineError::config(&format!("{}.routes[{i}]", cx.path), e)
        };
        let count = |v6: bool| routes.iter().filter(|(_, p, _)| p.v6 == v6).count() as u32;
        let v4 = match count(false) {
            0 => None,
            n => {
                let mut fib = dpdk::Fib4::new(n, max_hop, miss).map_err(no_room)?;
                for &(i, p, hop) in routes.iter().filter(|(_, p, _)| !p.v6) {
                    fib.add(p.v4(), p.len, hop).map_err(|e| table_error(i, e))?;
                }
                Some(fib)
            }
        };
        let v6 = match count(true) {
            0 => None,
            n => {
                let mut fib = dpdk::Fib6::new(n, max_hop, miss).map_err(no_room)?;
                for &(i, p, hop) in routes.iter().filter(|(_, p, _)| p.v6) {
                    fib.add(p.v6(), p.len, hop).map_err(|e| table_error(i, e))?;
                }
                Some(fib)
            }
        };
        Ok(Some(Self {
            hops,
            miss,
            v4,
            v6,
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
