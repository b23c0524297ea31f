//! A pipeline's packet generator (testpmd's `txonly`/`flowgen`): UDP over IPv4 frames, one
//! template per flow, made in bursts on one worker and sent through the pipeline's stages.
//!
//! Not a stage of the registry (a pipeline has at most one, beside its stages), but compiled
//! and run the same way: its config, compile step and hot-path budget side by side.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Deserialize;

use super::{mac_field, DROP};
use crate::compile::{unvalidated, PortFacts};
use crate::error::EngineError;
use crate::net;

/// A txonly/flowgen-style packet generator: UDP over IPv4, `flows` distinct 5-tuples.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorConfig {
    /// Frame size in bytes (60..=2048 without the FCS).
    #[serde(default = "default_packet_size")]
    pub packet_size: u16,
    /// Distinct flows (source UDP port and source address vary).
    #[serde(default = "one_u32")]
    pub flows: u32,
    /// Packets per burst.
    #[serde(default = "default_burst")]
    pub burst: u16,
    /// Source MAC; defaults to the output port's.
    #[serde(default)]
    pub src_mac: Option<String>,
    /// Destination MAC.
    #[serde(default = "default_dst_mac")]
    pub dst_mac: String,
    /// First source IPv4 address.
    #[serde(default = "default_src_ip")]
    pub src_ip: String,
    /// Destination IPv4 address.
    #[serde(default = "default_dst_ip")]
    pub dst_ip: String,
    /// Stop after this many packets (absent: run until stopped).
    #[serde(default)]
    pub count: Option<u64>,
}

fn one_u32() -> u32 {
    1
}
fn default_packet_size() -> u16 {
    64
}
fn default_burst() -> u16 {
    32
}
fn default_dst_mac() -> String {
    "02:00:00:00:00:02".into()
}
fn default_src_ip() -> String {
    "198.18.0.1".into()
}
fn default_dst_ip() -> String {
    "198.19.0.1".into()
}

/// A generator: per-flow frame templates.
#[derive(Debug)]
pub struct Generator {
    /// One frame per flow.
    pub frames: Vec<Vec<u8>>,
    /// Packets per burst.
    pub burst: usize,
    /// Stop after this many packets in all (None: unlimited).
    pub count: Option<u64>,
    /// Packets made so far under this pipeline's name, across every program: the budget
    /// `count` is checked against it, so a swap can never make a generator overshoot.
    pub made: Arc<AtomicU64>,
    /// Index of the worker that runs it.
    pub worker: usize,
    /// The port it sends out of (its pipeline's first output): it makes nothing while that
    /// port's link is down, so that a `count` is not spent before the link comes up.
    pub out: u16,
}

impl Generator {
    /// Whether a counted generator has made all its packets (checked before allocating, so
    /// a spent generator costs its worker one load per loop, not an alloc and a free).
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.count
            .is_some_and(|count| self.made.load(Relaxed) >= count)
    }

    /// Claims up to `want` packets of the budget; returns how many may be made.
    #[inline]
    pub fn claim(&self, want: usize) -> usize {
        let Some(count) = self.count else {
            self.made.fetch_add(want as u64, Relaxed);
            return want;
        };
        let granted = self.made.fetch_update(Relaxed, Relaxed, |made| {
            (made < count).then(|| made + (count - made).min(want as u64))
        });
        granted.map_or(0, |before| (count - before).min(want as u64) as usize)
    }
}

/// Compiles a validated generator (its bounds, addresses and output port are
/// [`crate::validate`]'s rules), sending out of port `out`, run by worker `worker`, counting
/// against the budget `made`.
pub(crate) fn compile_generator(
    g: &GeneratorConfig,
    out: u16,
    facts: &PortFacts,
    worker: usize,
    made: Arc<AtomicU64>,
) -> Result<Generator, EngineError> {
    if out == DROP {
        return Err(unvalidated("a generator without an output port"));
    }
    let src_mac = match &g.src_mac {
        Some(text) => mac_field(text)?,
        None => facts.macs[usize::from(out)],
    };
    let dst_mac = mac_field(&g.dst_mac)?;
    let src_ip = net::parse_ipv4(&g.src_ip).map_err(|e| unvalidated(&e))?;
    let dst_ip = net::parse_ipv4(&g.dst_ip).map_err(|e| unvalidated(&e))?;
    let frames = (0..g.flows)
        .map(|f| {
            let src = std::net::Ipv4Addr::from(u32::from(src_ip).wrapping_add(f / 256));
            let sport = 1024 + (f % 256) as u16 + ((f / 256) as u16 & 0x3f) * 256;
            net::udp4_frame(
                usize::from(g.packet_size),
                src_mac,
                dst_mac,
                src,
                dst_ip,
                sport,
                9,
            )
        })
        .collect();
    Ok(Generator {
        frames,
        burst: usize::from(g.burst),
        count: g.count,
        made,
        worker,
        out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(count: Option<u64>, made: &Arc<AtomicU64>) -> Generator {
        Generator {
            frames: vec![vec![0; 60]],
            burst: 32,
            count,
            made: Arc::clone(made),
            worker: 0,
            out: 0,
        }
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
    }
}
