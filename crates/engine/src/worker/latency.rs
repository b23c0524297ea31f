//! A worker's latency accounting: the time its packets spend in the engine, and the round
//! trips of the generators' probes that come back to it.
//!
//! One TSC read per rx burst (when it is received), one per tx (after the pipeline has sent
//! it), and one histogram record per burst: every packet of a burst has the same latency, its
//! burst's, so the cost is per burst, not per packet. A TSC read costs 35-45 ns on the VMs
//! this was measured on (two per burst took 15 % off io forwarding at 16-20 Mpps per port),
//! so a full burst, which only a saturated worker sees, is timed one in [`LATENCY_SAMPLE`]
//! and counted that many times; bursts short of full, whenever the worker keeps up, are all
//! timed (docs/observability.md has the numbers). With latency and probes off, the loop
//! times nothing and looks for no probes (its plan says so once per program).
//! Probes are looked for in received bursts only while some generator makes them; a probe
//! counts at its first return, and is marked seen there (a probe the engine forwards out of
//! another of its ports and receives again does not count twice).
//!
//! Probe loss is counted per (receiving worker, generating pipeline): the sequence expected
//! next (one past the highest seen) less the probes received. A late probe lowers it again
//! (and counts as reordered); probes still in flight, or lost after the last one seen, are
//! not counted until a later one arrives. A probe stream is one flow, so RSS keeps it on one
//! queue, and so one worker: the counts are exact per stream.

use stats::{histogram, PIPELINE_SLOTS};

use super::Worker;
use crate::compile::Program;
use crate::stages::generator::{mark_seen, probe_of};
use crate::stages::{bump, counter};

/// One full burst in this many is timed (and counted this many times).
pub(super) const LATENCY_SAMPLE: u32 = 16;

/// Per generating pipeline slot: (sequence expected next, probes received).
pub(super) type ProbeState = Vec<(u64, u64)>;

/// A fresh probe state (every slot).
pub(super) fn probe_state() -> ProbeState {
    vec![(0, 0); PIPELINE_SLOTS]
}

/// TSC ticks to nanoseconds as a 32.32 fixed-point factor (0 before EAL measured the TSC).
pub(super) fn ns_per_tick_q32() -> u64 {
    let hz = dpdk::tsc_hz();
    if hz == 0 {
        return 0;
    }
    ((1_000_000_000u128 << 32) / u128::from(hz)) as u64
}

/// When a burst was received, for its latency: a value the loop carries from the rx burst
/// to its tx (in registers, not in the worker).
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    /// TSC at rx (0: not timed).
    tsc: u64,
    /// How many packets each of the burst's packets stands for.
    weight: u64,
}

impl Stamp {
    /// Not timed: generated packets, bursts the sampling skips, and every burst while the
    /// program neither times nor probes.
    pub(super) const NONE: Self = Self { tsc: 0, weight: 0 };
}

impl Worker {
    /// The rx time of a received burst, when it is to be timed: always while probes may
    /// arrive (and then its probes are looked for), else (latency on) when the burst is
    /// short of full, or for one full burst in [`LATENCY_SAMPLE`] (its packets then weigh
    /// that much). Called only while the program times or probes (the worker's plan says so
    /// once per program).
    #[allow(clippy::inline_always)] // once per burst; as a call it cost ~25 instructions
    #[inline(always)]
    pub(super) fn time_rx(&mut self, program: &Program, burst: &mut dpdk::Burst) -> Stamp {
        if program.probing {
            let stamp = Stamp {
                tsc: dpdk::tsc(),
                weight: 1,
            };
            self.scan_probes(program, burst.as_mut_slice(), stamp);
            return stamp;
        }
        if !burst.is_full() {
            return Stamp {
                tsc: dpdk::tsc(),
                weight: 1,
            };
        }
        self.full_bursts = self.full_bursts.wrapping_add(1);
        if !self.full_bursts.is_multiple_of(LATENCY_SAMPLE) {
            return Stamp::NONE;
        }
        Stamp {
            tsc: dpdk::tsc(),
            weight: u64::from(LATENCY_SAMPLE),
        }
    }

    #[inline]
    fn ns(&self, ticks: u64) -> u64 {
        ((u128::from(ticks) * u128::from(self.ns_per_tick)) >> 32) as u64
    }

    /// Records that `n` packets of the burst `stamp` timed have been handed to their tx
    /// queues (or dropped there) now, in pipeline slot `slot`'s latency.
    #[inline]
    pub(super) fn record_latency(&self, program: &Program, slot: usize, n: u64, stamp: Stamp) {
        if stamp.tsc == 0 || n == 0 || !program.latency {
            return;
        }
        let ns = self.ns(dpdk::tsc().wrapping_sub(stamp.tsc));
        histogram::record(
            program.segment.pipeline_histogram(self.index, slot, false),
            ns,
            n * stamp.weight,
        );
    }

    /// Looks for probes in a burst received at `stamp`: each one's round trip goes in its
    /// pipeline's `probes` histogram, and its sequence into the loss and reorder counts.
    #[inline(never)]
    fn scan_probes(&mut self, program: &Program, burst: &mut [dpdk::Mbuf], stamp: Stamp) {
        for m in burst {
            let Some((slot, seq, sent)) = probe_of(m.data()) else {
                continue;
            };
            mark_seen(m.data_mut());
            if slot >= PIPELINE_SLOTS {
                continue;
            }
            let rtt = self.ns(stamp.tsc.saturating_sub(sent));
            histogram::record(
                program.segment.pipeline_histogram(self.index, slot, true),
                rtt,
                1,
            );
            let (expected, received) = &mut self.probes_seen[slot];
            let counters = self.view.pipeline(slot);
            if seq >= *expected {
                *expected = seq + 1;
            } else {
                bump(&counters[counter::PROBES_REORDERED], 1);
            }
            *received += 1;
            counters[counter::PROBES_LOST].store(
                expected.saturating_sub(*received),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }
}
