//! Offsets and sizes of the segment, shared by the writer, the Rust reader and (through
//! docs/stats-layout.md) the TypeScript reader.

use std::sync::atomic::AtomicU64;

/// First 8 bytes of every segment: `FPSTATS1` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"FPSTATS1");
/// Bumped on any incompatible change; readers refuse other versions.
pub const LAYOUT_VERSION: u32 = 1;
/// Everything is aligned to a cache line.
pub const LINE: usize = 64;
/// Header size.
pub const HEADER_SIZE: usize = 256;
/// Directory entry size.
pub const ENTRY_SIZE: usize = 64;
/// Longest entry, engine, port name in bytes (NUL-padded).
pub const NAME_LEN: usize = 40;

/// Header field offsets.
pub mod header {
    /// u64: [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// u32: [`super::LAYOUT_VERSION`].
    pub const VERSION: usize = 8;
    /// u32: header size in bytes.
    pub const HEADER_SIZE: usize = 12;
    /// u64: segment size in bytes.
    pub const SEGMENT_SIZE: usize = 16;
    /// u32: pid of the writing engine.
    pub const PID: usize = 24;
    /// u32: bit 0 set once the engine has stopped cleanly, bit 1 once a worker failed.
    pub const FLAGS: usize = 28;
    /// u64: engine start, Unix time in nanoseconds.
    pub const START_NS: usize = 32;
    /// u64: last sign of life, Unix time in nanoseconds (every 100 ms while running).
    pub const HEARTBEAT_NS: usize = 40;
    /// u64: even when the directory is stable, odd while it changes.
    pub const STRUCTURE_SEQ: usize = 48;
    /// u32: directory offset.
    pub const DIRECTORY_OFFSET: usize = 56;
    /// u32: directory entries in use.
    pub const DIRECTORY_COUNT: usize = 60;
    /// u32: worker lcores.
    pub const LCORES: usize = 64;
    /// u32: ports.
    pub const PORTS: usize = 68;
    /// u64: samples written so far (the newest is in slot `(n - 1) % slots`).
    pub const SAMPLES_WRITTEN: usize = 72;
    /// [u8; 64]: engine name (its EAL file prefix), NUL-padded UTF-8.
    pub const NAME: usize = 80;
}

/// Flag: the engine stopped cleanly (the segment is about to be removed).
pub const FLAG_STOPPED: u32 = 1;
/// Flag: a worker's loop failed (panicked); the engine runs on without it until stopped.
pub const FLAG_FAILED: u32 = 2;

/// Directory entry field offsets.
pub mod entry {
    /// [u8; 40]: entry name, NUL-padded.
    pub const NAME: usize = 0;
    /// u32: element count.
    pub const COUNT: usize = 40;
    /// u32: bytes per element.
    pub const STRIDE: usize = 44;
    /// u64: offset of element 0 from the segment start.
    pub const OFFSET: usize = 48;
}

/// Entry names.
pub mod names {
    /// Port names: `count` = ports, each element a NUL-padded name in its first 40 bytes,
    /// the DPDK port id as u16 at byte 40, and (once the port is up; 0 before) its rx and tx
    /// queue counts as u32 at bytes 48 and 52.
    pub const PORTS: &str = "ports";
    /// Worker lcores: each element has the lcore id (u32) at 0 and its CPU (u32) at 4.
    pub const LCORES: &str = "lcores";
    /// Counter lanes: `lcores × ports` elements, lcore-major, each a [`super::Lane`].
    pub const LANES: &str = "lanes";
    /// Per worker lcore ([`super::loops`]): loop iterations, iterations that found no
    /// packet, TSC cycles spent in busy and in idle iterations, and the TSC frequency.
    pub const LCORE_LOOPS: &str = "lcore-loops";
    /// Per port, per queue ([`super::QUEUE_SLOTS`] per port, port-major): the driver's
    /// per-queue counters ([`super::queue`]) and the worker that owns the rx queue.
    pub const QUEUES: &str = "queues";
    /// EAL's memory, one element ([`super::memory`]): the IOVA mode, what was mapped, the
    /// heap's use and what the plan gave it. Written once, after the ports and the pool are
    /// set up, under the structure sequence.
    pub const MEMORY: &str = "memory";
    /// Runs of memory contiguous in virtual and IO address space, in address order
    /// ([`super::MEMORY_RUNS`] slots of 32 bytes: u64 virtual address, u64 IOVA, u64 length,
    /// u32 memsegs, i32 NUMA socket); the `memory` element says how many are in use.
    pub const MEMORY_RUNS: &str = "memory-runs";
    /// Pipeline names by counter slot (64-byte elements, NUL-padded name; empty = unused).
    /// Slots are given out by name and never reused, so counters carry across live changes.
    pub const PIPELINE_NAMES: &str = "pipeline-names";
    /// Match-stage (rule) names by slot: name in the first 40 bytes, the pipeline slot as u32
    /// at byte 40.
    pub const RULE_NAMES: &str = "rule-names";
    /// Per worker lcore, per pipeline slot: four u64 (in, out, dropped, generated); stride 32,
    /// lcore-major (`lcore × PIPELINE_SLOTS + slot`).
    pub const PIPELINE_COUNTERS: &str = "pipeline-counters";
    /// Per worker lcore, per rule slot: one u64 (packets matched); stride 8, lcore-major.
    pub const RULE_COUNTERS: &str = "rule-counters";
    /// Driver counters per port (`rte_eth_stats`, refreshed every sample): eight u64s,
    /// rx packets, tx packets, rx bytes, tx bytes, missed, rx errors, tx errors, rx nombuf.
    pub const DRIVER: &str = "driver";
    /// The sample ring: each slot a u64 sequence, a u64 time (Unix ns), then per port three
    /// u64 totals (rx packets, tx packets, drops). See docs/stats-layout.md.
    pub const SAMPLES: &str = "samples";
}

/// One worker's counters for one port: one cache line, one writer.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct Lane {
    /// Packets received.
    pub rx_packets: AtomicU64,
    /// Packets the driver took for sending.
    pub tx_packets: AtomicU64,
    /// Packets dropped because the tx queue was full (or the worker has none on the port).
    pub tx_dropped: AtomicU64,
    /// Packets received on a port that feeds no pipeline.
    pub unrouted: AtomicU64,
    /// Rx polls that returned packets.
    pub busy_polls: AtomicU64,
    /// Seqlock: odd while the writer updates the lane, even (and advanced) after.
    pub seq: AtomicU64,
    /// Reserved for later fields (zero).
    pub reserved: [AtomicU64; 2],
}

impl Lane {
    /// Updates the lane as one consistent block: readers that see the same even sequence
    /// before and after their reads saw no half-done update. Single writer only.
    #[inline]
    pub fn update(&self, f: impl FnOnce(&Self)) {
        use std::sync::atomic::{
            fence,
            Ordering::{Relaxed, Release},
        };
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq + 1, Relaxed);
        fence(Release);
        f(self);
        self.seq.store(seq + 2, Release);
    }
}

/// Lane field offsets (u64 each).
pub mod lane {
    /// Packets received.
    pub const RX_PACKETS: usize = 0;
    /// Packets sent.
    pub const TX_PACKETS: usize = 8;
    /// Dropped at a full tx queue.
    pub const TX_DROPPED: usize = 16;
    /// Received but no pipeline takes them.
    pub const UNROUTED: usize = 24;
    /// Polls that found packets.
    pub const BUSY_POLLS: usize = 32;
    /// Seqlock sequence (odd while being written).
    pub const SEQ: usize = 40;
}

const _: () = assert!(std::mem::size_of::<Lane>() == LINE);

/// `lcore-loops` element field offsets (u64 each). One writer: the worker itself, every 64
/// loop iterations.
pub mod loops {
    /// Poll-loop iterations.
    pub const ITERATIONS: usize = 0;
    /// Iterations that found no packet to receive or generate.
    pub const IDLE_ITERATIONS: usize = 8;
    /// TSC cycles spent in iterations that did work.
    pub const BUSY_CYCLES: usize = 16;
    /// TSC cycles spent in iterations that found nothing.
    pub const IDLE_CYCLES: usize = 24;
    /// TSC ticks per second (constant; written at creation).
    pub const TSC_HZ: usize = 32;
    /// u64 fields the worker updates (the first four).
    pub const LIVE_FIELDS: usize = 4;
}

/// Queues per port whose counters the segment carries: DPDK's
/// `RTE_ETHDEV_QUEUE_STAT_CNTRS`, the number of queues `rte_eth_stats` counts.
pub const QUEUE_SLOTS: usize = 16;

/// `queues` element field offsets. The driver's counters are refreshed with every sample.
pub mod queue {
    /// u64: packets the driver received on this rx queue.
    pub const RX_PACKETS: usize = 0;
    /// u64: bytes received on this rx queue.
    pub const RX_BYTES: usize = 8;
    /// u64: packets sent on this tx queue.
    pub const TX_PACKETS: usize = 16;
    /// u64: bytes sent on this tx queue.
    pub const TX_BYTES: usize = 24;
    /// u64: packets the driver dropped on this rx queue (`q_errors`).
    pub const ERRORS: usize = 32;
    /// u32: index of the worker that polls this rx queue; `u32::MAX` for none. Tx queue `q`
    /// is used by worker `q`.
    pub const RX_OWNER: usize = 40;
}

/// `memory` element field offsets.
pub mod memory {
    /// u32: the IOVA mode EAL selected: 1 = PA, 2 = VA (0 before EAL is up).
    pub const IOVA_MODE: usize = 0;
    /// u32: runs in `memory-runs` (at most [`super::MEMORY_RUNS`]).
    pub const RUNS: usize = 4;
    /// u64: bytes EAL mapped.
    pub const BYTES: usize = 8;
    /// u64: memsegs (pages) they came in.
    pub const SEGMENTS: usize = 16;
    /// u64: page size.
    pub const PAGE_SIZE: usize = 24;
    /// u64: bytes the malloc heaps hold (every socket).
    pub const HEAP_TOTAL: usize = 32;
    /// u64: bytes allocated from them.
    pub const HEAP_ALLOCATED: usize = 40;
    /// u64: heap bytes the memory plan asked EAL for (0: none).
    pub const PLANNED: usize = 48;
    /// u64: runs in all (may exceed the slots).
    pub const RUNS_TOTAL: usize = 56;
}

/// Slots in `memory-runs`.
pub const MEMORY_RUNS: usize = 1024;

/// [`queue::RX_OWNER`] of a queue no worker polls.
pub const NO_OWNER: u32 = u32::MAX;

/// Pipelines (by distinct name) an engine can count over its life.
pub const PIPELINE_SLOTS: usize = 64;
/// Match stages (by pipeline and name) an engine can count over its life.
pub const RULE_SLOTS: usize = 512;

/// Slots in the sample ring: 10.24 s of history at the default 10 ms period.
pub const SAMPLE_SLOTS: usize = 1024;
/// Default sample period.
pub const SAMPLE_PERIOD_MS: u64 = 10;

/// Bytes per sample slot for `ports` ports (a whole number of cache lines).
pub const fn sample_stride(ports: usize) -> usize {
    (16 + 24 * ports).div_ceil(LINE) * LINE
}
