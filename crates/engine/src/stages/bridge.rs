//! `bridge`: an L2 MAC-learning bridge over the pipeline's output ports, and its MAC table.
//!
//! The table is shared by every worker that runs the bridge, and carried from one program to
//! the next (by pipeline name and stage index) so that a swap forgets no station. It is a
//! fixed-size open-addressing table of atomics, written with relaxed stores: learning never
//! blocks forwarding. Two workers learning the same slot at once may leave a stale entry for
//! a moment, exactly as a hardware table would; the next frame corrects it.

use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::Arc;

use serde::Deserialize;

use super::{CompileContext, StageContext, StageRun, DROP, FLOOD};
use crate::error::EngineError;
use crate::net::{quote, Mac};
use crate::validate::StageCheck;

/// An L2 MAC-learning bridge over the pipeline's output ports: `{ kind: 'bridge', agingS? }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BridgeConfig {
    /// Seconds a learned MAC stays valid without traffic from it.
    #[serde(default = "default_aging")]
    pub aging_s: u32,
}

fn default_aging() -> u32 {
    300
}

/// The compiled `bridge` stage.
#[derive(Debug)]
pub struct Bridge {
    /// The learned table (kept across programs for the same pipeline and stage).
    pub table: Arc<MacTable>,
    /// Seconds before an entry ages out.
    pub aging_s: u64,
    /// The bridge's ports.
    pub ports: Vec<u16>,
}

impl StageRun for Bridge {
    type Config = BridgeConfig;

    fn check(config: &Self::Config, cx: &mut StageCheck<'_>) {
        let (pipeline, path) = (cx.pipeline, cx.pipeline_path);
        // The pipeline's inputs once, at its first bridge: bridged ports must be outputs.
        let first = !pipeline.stages[..cx.stage]
            .iter()
            .any(|s| matches!(s, super::StageConfig::Bridge(_)));
        for (k, port) in pipeline.input.iter().enumerate() {
            if first && !pipeline.output.contains(port) {
                let at = pipeline.input.path(&format!("{path}.input"), k);
                cx.report.push(
                    at,
                    format!(
                        "port {} is bridged, so it must be an output too",
                        quote(port)
                    ),
                );
            }
        }
        let at = cx.at("agingS");
        cx.report.range(&at, config.aging_s, 1, 86_400);
        if pipeline.output.len() < 2 {
            cx.push(
                "",
                "a bridge forwards between the pipeline's output ports; give at least two",
            );
        }
    }

    fn compile(
        config: &BridgeConfig,
        cx: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
        // Validated: at least two outputs, and every input is one of them.
        let key = (cx.pipeline_name.to_owned(), cx.stage);
        let table = cx.bridges.get(&key).cloned().unwrap_or_default();
        cx.next_bridges.insert(key, Arc::clone(&table));
        Ok(Some(Self {
            table,
            aging_s: u64::from(config.aging_s),
            ports: cx.outputs.to_vec(),
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
        let Self {
            table,
            aging_s,
            ports,
        } = self;
        for (m, v) in pkts.iter_mut().zip(verdict.iter_mut()) {
            if *v == DROP {
                continue;
            }
            let d = m.data();
            if d.len() < 14 {
                *v = DROP;
                continue;
            }
            let dst: Mac = d[..6].try_into().unwrap_or_default();
            let src: Mac = d[6..12].try_into().unwrap_or_default();
            if src[0] & 1 == 0 && ctx.in_port != DROP {
                table.learn(src, ctx.in_port, ctx.now_s);
            }
            *v = if dst[0] & 1 == 1 {
                FLOOD
            } else {
                match table.lookup(dst, ctx.now_s, *aging_s) {
                    Some(p) if p == ctx.in_port => DROP,
                    Some(p) if ports.contains(&p) => p,
                    _ => FLOOD,
                }
            };
        }
    }

    fn needs_clock(&self) -> bool {
        true
    }
}

const SLOTS: usize = 4096;
const PROBES: usize = 8;
const VALID: u64 = 1 << 63;

/// The learned MAC → port entries.
#[derive(Debug)]
pub struct MacTable {
    keys: Box<[AtomicU64]>,
    /// Port in the low 16 bits, last-seen time in seconds above them.
    values: Box<[AtomicU64]>,
}

impl Default for MacTable {
    fn default() -> Self {
        Self::new()
    }
}

fn key_of(mac: Mac) -> u64 {
    VALID | u64::from_be_bytes([0, 0, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]])
}

fn slot_of(key: u64) -> usize {
    // Fibonacci hashing of the 48-bit address.
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize % SLOTS
}

impl MacTable {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            keys: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            values: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Records that `mac` was seen on `port` at `now_s`.
    #[inline]
    pub fn learn(&self, mac: Mac, port: u16, now_s: u64) {
        let key = key_of(mac);
        let value = (now_s << 16) | u64::from(port);
        let start = slot_of(key);
        let mut oldest = (start, u64::MAX);
        for i in 0..PROBES {
            let slot = (start + i) % SLOTS;
            let k = self.keys[slot].load(Acquire);
            if k == key {
                if self.values[slot].load(Relaxed) != value {
                    self.values[slot].store(value, Relaxed);
                }
                return;
            }
            if k == 0 {
                // Value first, then the key with Release: whoever sees the key sees its value.
                self.values[slot].store(value, Relaxed);
                self.keys[slot].store(key, Release);
                return;
            }
            let seen = self.values[slot].load(Relaxed) >> 16;
            if seen < oldest.1 {
                oldest = (slot, seen);
            }
        }
        // Full neighbourhood: replace the entry seen longest ago. A reader racing this may
        // briefly pair the new key with the old port, as a hardware table can; the next
        // frame from the station corrects it.
        self.values[oldest.0].store(value, Relaxed);
        self.keys[oldest.0].store(key, Release);
    }

    /// The port `mac` was last seen on, if within `aging_s` of `now_s`.
    #[inline]
    pub fn lookup(&self, mac: Mac, now_s: u64, aging_s: u64) -> Option<u16> {
        let key = key_of(mac);
        let start = slot_of(key);
        for i in 0..PROBES {
            let slot = (start + i) % SLOTS;
            let k = self.keys[slot].load(Acquire);
            if k == key {
                let v = self.values[slot].load(Relaxed);
                return (now_s.saturating_sub(v >> 16) <= aging_s).then_some((v & 0xffff) as u16);
            }
            if k == 0 {
                return None;
            }
        }
        None
    }

    /// Live entries at `now_s`.
    pub fn len(&self, now_s: u64, aging_s: u64) -> usize {
        self.keys
            .iter()
            .zip(self.values.iter())
            .filter(|(k, v)| {
                k.load(Relaxed) != 0 && now_s.saturating_sub(v.load(Relaxed) >> 16) <= aging_s
            })
            .count()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self, now_s: u64, aging_s: u64) -> bool {
        self.len(now_s, aging_s) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_moves_and_ages() {
        let t = MacTable::new();
        let a = [2, 0, 0, 0, 0, 0xa];
        assert_eq!(t.lookup(a, 0, 300), None);
        t.learn(a, 1, 10);
        assert_eq!(t.lookup(a, 20, 300), Some(1));
        t.learn(a, 0, 30);
        assert_eq!(
            t.lookup(a, 30, 300),
            Some(0),
            "a station that moved is found on its new port"
        );
        assert_eq!(t.lookup(a, 331, 300), None, "entries age out");
        assert_eq!(t.len(30, 300), 1);
    }

    #[test]
    fn a_crowded_neighbourhood_evicts_the_stalest() {
        let t = MacTable::new();
        for i in 0..20_000u32 {
            let b = i.to_be_bytes();
            t.learn([2, 0, b[0], b[1], b[2], b[3]], (i % 4) as u16, u64::from(i));
        }
        let last = 19_999u32.to_be_bytes();
        assert_eq!(
            t.lookup([2, 0, last[0], last[1], last[2], last[3]], 20_000, 300),
            Some(3)
        );
        assert!(t.len(20_000, u64::MAX) <= SLOTS);
    }
}
