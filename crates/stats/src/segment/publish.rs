//! What the engine publishes into its segment beside the workers' counters, from the
//! control and sampler threads: the TSC rate, scalars, EAL's memory, queue and driver
//! counters, the failure text, and the sample ring.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{now_ns, MemorySummary, Scalar, Segment};
use crate::directory::{loops_line, port_line, queue_line, scalar_slot};
use crate::layout::{
    header, sample, sample_stride, ELEMENT_NAME_LEN, ELEMENT_SIZE, FAILURE_LEN, FLAG_FAILED, LINE,
    MEMORY_RUNS, NONE, QUEUE_SLOTS, SAMPLE_HEADER, SAMPLE_PORT, SAMPLE_SLOTS,
};

impl Segment {
    /// Records the TSC frequency the workers' cycle counts are in (known once EAL is up).
    pub fn set_tsc_hz(&self, hz: u64) {
        for w in 0..self.workers {
            self.word64(self.blocks.loops + w * LINE + loops_line::TSC_HZ)
                .store(hz, Ordering::Relaxed);
        }
    }

    /// Sets scalar `s`.
    pub fn set(&self, s: Scalar, value: u64) {
        self.word64(self.blocks.scalars + 8 * scalar_slot(s.name()))
            .store(value, Ordering::Relaxed);
    }

    /// Adds `n` to scalar `s` (one writer).
    pub fn add(&self, s: Scalar, n: u64) {
        let word = self.word64(self.blocks.scalars + 8 * scalar_slot(s.name()));
        word.store(word.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// Publishes EAL's memory (once, from the control thread): the `memory/…` scalars and up
    /// to [`MEMORY_RUNS`] runs, each (virtual address, IOVA, length, memsegs, socket), named
    /// by their virtual address.
    pub fn set_memory(&self, summary: &MemorySummary, runs: &[(u64, u64, u64, u32, i32)]) {
        // One structure change for the whole block: these entries are static (written once),
        // and readers that cache them re-read them when the sequence moves.
        let seq = self.word64(header::STRUCTURE_SEQ);
        seq.fetch_add(1, Ordering::AcqRel);
        let scalar = |name: &str, v: u64| {
            self.word64(self.blocks.scalars + 8 * scalar_slot(name))
                .store(v, Ordering::Relaxed);
        };
        scalar("memory/iovaMode", u64::from(summary.iova_mode));
        scalar("memory/bytes", summary.bytes);
        scalar("memory/segments", summary.segments);
        scalar("memory/pageSize", summary.page_size);
        scalar("memory/heapTotal", summary.heap_total);
        scalar("memory/heapAllocated", summary.heap_allocated);
        scalar("memory/planned", summary.planned);
        scalar("memory/runs", runs.len() as u64);
        for (i, &(va, iova, len, segments, socket)) in runs.iter().take(MEMORY_RUNS).enumerate() {
            let run = self.blocks.runs + i * 32;
            self.word64(run).store(iova, Ordering::Relaxed);
            self.word64(run + 8).store(len, Ordering::Relaxed);
            self.word64(run + 16)
                .store(u64::from(segments), Ordering::Relaxed);
            self.word64(run + 24)
                .store(u64::try_from(socket).unwrap_or(NONE), Ordering::Relaxed);
            self.store_text(
                self.blocks.run_names + i * ELEMENT_SIZE,
                ELEMENT_NAME_LEN,
                &format!("{va:#x}"),
            );
        }
        seq.fetch_add(1, Ordering::Release);
    }

    /// Records how many rx and tx queues port `port` came up with (once, after it started)
    /// and names its queue pairs, so that readers list them.
    pub fn set_queue_counts(&self, port: usize, rx: u16, tx: u16) {
        if port >= self.ports {
            return;
        }
        self.word64(self.blocks.port_info + port * LINE + port_line::RX_QUEUES)
            .store(u64::from(rx), Ordering::Relaxed);
        self.word64(self.blocks.port_info + port * LINE + port_line::TX_QUEUES)
            .store(u64::from(tx), Ordering::Relaxed);
        for q in 0..usize::from(rx.max(tx)).min(QUEUE_SLOTS) {
            if q >= usize::from(rx) {
                // A tx-only queue pair: nobody polls its (absent) rx side.
                self.word64(
                    self.blocks.queues + (port * QUEUE_SLOTS + q) * LINE + queue_line::RX_LCORE,
                )
                .store(NONE, Ordering::Relaxed);
            }
            let at = self.blocks.queue_names + (port * QUEUE_SLOTS + q) * ELEMENT_SIZE;
            self.write_text(at, ELEMENT_NAME_LEN, &q.to_string(), Some(port as u32));
        }
    }

    /// Publishes port `port`'s link state (`None`: its driver cannot tell). Written by the
    /// sampler only when it changes: workers read the line on their hot path.
    pub fn set_link_up(&self, port: usize, up: Option<bool>) {
        if port < self.ports {
            let word = self.word64(self.blocks.port_info + port * LINE + port_line::LINK_UP);
            let value = up.map_or(NONE, u64::from);
            if word.load(Ordering::Relaxed) != value {
                word.store(value, Ordering::Relaxed);
            }
        }
    }

    /// Whether port `port`'s link is up as last published; a link its driver cannot report
    /// counts as up (there is nothing to wait for). Cheap enough for a worker's loop: one
    /// load of a line that changes only with the link.
    #[inline]
    pub fn link_up(&self, port: usize) -> bool {
        port >= self.ports || self.link_word(port).load(Ordering::Relaxed) != 0
    }

    /// Port `port`'s `port/linkUp` word.
    #[inline]
    pub(super) fn link_word(&self, port: usize) -> &AtomicU64 {
        self.word64(self.blocks.port_info + port * LINE + port_line::LINK_UP)
    }

    /// Publishes port `port`'s per-queue driver counters, queue by queue: rx packets, rx
    /// bytes, tx packets, tx bytes, errors (the `q_*` arrays of `rte_eth_stats`).
    pub fn set_queues(&self, port: usize, values: &[[u64; 5]]) {
        if port < self.ports {
            for (q, v) in values.iter().take(QUEUE_SLOTS).enumerate() {
                let at = self.blocks.queues + (port * QUEUE_SLOTS + q) * LINE;
                for (i, x) in v.iter().enumerate() {
                    self.word64(at + i * 8).store(*x, Ordering::Relaxed);
                }
            }
        }
    }

    /// Publishes port `port`'s driver counters (`rte_eth_stats`), taken by the engine's
    /// sampler thread off the hot path: rx/tx packets and bytes, missed, rx errors, tx errors,
    /// rx mbuf allocation failures, in that order.
    pub fn set_driver(&self, port: usize, values: [u64; 8]) {
        if port < self.ports {
            for (i, v) in values.iter().enumerate() {
                self.word64(self.blocks.driver + port * LINE + i * 8)
                    .store(*v, Ordering::Relaxed);
            }
        }
    }

    /// Records why the engine failed and sets the failed flag (the text first: a reader that
    /// sees the flag sees the whole text). The first failure wins.
    pub fn set_failure(&self, why: &str) {
        let flags = self.word32(header::FLAGS);
        if flags.load(Ordering::Acquire) & FLAG_FAILED != 0 {
            return;
        }
        self.write_text(self.blocks.failure, FAILURE_LEN, why, None);
        flags.fetch_or(FLAG_FAILED, Ordering::Release);
    }

    /// Appends one sample to every worker's ring: that worker's counters for every port, all
    /// rings stamped with the same index and time. One writer only (the engine's sampler
    /// thread). Each slot is a seqlock: its sequence is odd while the slot is written and
    /// `2 × (index + 1)` once sample `index` is complete, so a reader can tell a torn or
    /// overwritten slot from a good one.
    pub fn sample(&self) {
        let written = self.word64(header::SAMPLES_WRITTEN).load(Ordering::Relaxed);
        let stride = sample_stride(self.ports);
        let now = now_ns();
        let lanes = self.lanes();
        for w in 0..self.workers {
            let slot =
                self.blocks.samples + (w * SAMPLE_SLOTS + written as usize % SAMPLE_SLOTS) * stride;
            let seq = self.word64(slot + sample::SEQUENCE);
            seq.store(2 * written + 1, Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Release);
            self.word64(slot + sample::TIME)
                .store(now, Ordering::Relaxed);
            for (p, lane) in lanes[w * self.ports..(w + 1) * self.ports]
                .iter()
                .enumerate()
            {
                let at = slot + SAMPLE_HEADER + p * SAMPLE_PORT;
                let dropped = lane.tx_dropped.load(Ordering::Relaxed)
                    + lane.tx_link_down.load(Ordering::Relaxed)
                    + lane.unrouted.load(Ordering::Relaxed);
                self.word64(at + sample::RX)
                    .store(lane.rx_packets.load(Ordering::Relaxed), Ordering::Relaxed);
                self.word64(at + sample::TX)
                    .store(lane.tx_packets.load(Ordering::Relaxed), Ordering::Relaxed);
                self.word64(at + sample::DROPS)
                    .store(dropped, Ordering::Relaxed);
            }
            seq.store(2 * written + 2, Ordering::Release);
        }
        self.word64(header::SAMPLES_WRITTEN)
            .store(written + 1, Ordering::Release);
    }
}
