//! The byte contract of the segment: header, directory entries, kinds and flags. The one
//! place these numbers are written; `packages/types/src/segment-layout.ts` is generated from
//! here ([`crate::typescript`]) and docs/stats-layout.md explains them.
//!
//! The segment describes itself, as VPP's stats segment does: a directory of named, typed
//! entries. Readers decode every entry by its kind, never by its name, so a counter added to
//! the directory shows up in every reader (`engine.stats()`, `fastpath stats`, `top`,
//! Prometheus) without a change to any of them.

/// First 8 bytes of every segment: `FPSTATS1` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"FPSTATS1");
/// Bumped on any incompatible change; readers refuse other versions.
pub const LAYOUT_VERSION: u32 = 3;
/// Everything is aligned to a cache line.
pub const LINE: usize = 64;
/// Header size.
pub const HEADER_SIZE: usize = 256;
/// Directory entry size.
pub const ENTRY_SIZE: usize = 128;
/// Longest engine name in bytes (NUL-padded).
pub const ENGINE_NAME_LEN: usize = 64;
/// Longest element name in a [`Kind::Names`] entry (NUL-padded, in the first bytes of the
/// element).
pub const ELEMENT_NAME_LEN: usize = 56;
/// Where a [`Kind::Names`] element whose entry has a parent keeps its parent's index (u32).
pub const ELEMENT_PARENT: usize = 56;
/// Bytes per [`Kind::Names`] element.
pub const ELEMENT_SIZE: usize = 64;
/// A u64 value meaning "none": an [`flags::OPTIONAL`] or [`flags::REF`] entry holding it reads
/// as null.
pub const NONE: u64 = u64::MAX;
/// Most directory entries a reader will look at (a corrupt count cannot make it spin).
pub const MAX_ENTRIES: usize = 1024;

/// Header field offsets.
pub mod header {
    /// u64: [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// u32: [`super::LAYOUT_VERSION`].
    pub const VERSION: usize = 8;
    /// u32: header size in bytes.
    pub const HEADER_SIZE: usize = 12;
    /// u64: bytes in use from the segment's start (the file may be longer: whole pages).
    pub const SEGMENT_SIZE: usize = 16;
    /// u32: pid of the writing engine.
    pub const PID: usize = 24;
    /// u32: bit 0 set once the engine has stopped cleanly, bit 1 once a worker failed, bit 2
    /// while the engine holds the file's lock ([`super::FLAG_LOCKED`]).
    pub const FLAGS: usize = 28;
    /// u64: when the workers started, Unix time in nanoseconds (0 before).
    pub const START_NS: usize = 32;
    /// u64: last sign of life, Unix time in nanoseconds (every 10 ms while running).
    pub const HEARTBEAT_NS: usize = 40;
    /// u64: even when the names and the text entries are stable, odd while they change.
    pub const STRUCTURE_SEQ: usize = 48;
    /// u32: directory offset.
    pub const DIRECTORY_OFFSET: usize = 56;
    /// u32: directory entries in use.
    pub const DIRECTORY_COUNT: usize = 60;
    /// u32: worker lcores (the copies a per-worker entry has).
    pub const WORKERS: usize = 64;
    /// u32: ports (the per-port triples in a sample slot).
    pub const PORTS: usize = 68;
    /// u64: samples written so far (the newest is in slot `(n - 1) % slots`).
    pub const SAMPLES_WRITTEN: usize = 72;
    /// [u8; 64]: engine name (its EAL file prefix), NUL-padded UTF-8.
    pub const NAME: usize = 80;
}

/// Flag: the engine stopped cleanly (the segment is about to be removed).
pub const FLAG_STOPPED: u32 = 1;
/// Flag: a worker's loop failed (panicked); the `failure` text says how. Set after the text
/// is written, so a reader that sees the flag sees the whole text.
pub const FLAG_FAILED: u32 = 2;
/// Flag: the engine holds an exclusive flock on this file for its life, so its liveness is
/// the lock's ([`crate::lock`]); without it (an older engine) readers judge by pid and heartbeat.
pub const FLAG_LOCKED: u32 = 4;

/// Directory entry field offsets.
pub mod entry {
    /// [u8; 32]: entry name, NUL-padded: `object/field`, `group/field`, `object` or `field`.
    pub const NAME: usize = 0;
    /// Longest entry name in bytes.
    pub const NAME_LEN: usize = 32;
    /// u8: the entry's [`super::Kind`].
    pub const KIND: usize = 32;
    /// u8: [`super::flags`].
    pub const FLAGS: usize = 33;
    /// u32: elements per copy (bytes, for [`super::Kind::Text`]).
    pub const COUNT: usize = 36;
    /// u32: bytes from one element to the next.
    pub const STRIDE: usize = 40;
    /// u32: copies (1, or one per worker lcore): readers sum them.
    pub const COPIES: usize = 44;
    /// u64: offset of copy 0's element 0 from the segment start.
    pub const OFFSET: usize = 48;
    /// u64: bytes from one copy to the next.
    pub const COPY_STRIDE: usize = 56;
    /// [u8; 16]: the object this entry links to, NUL-padded: a names entry's parent object,
    /// a [`super::flags::REF`] entry's target.
    pub const LINK: usize = 64;
    /// Longest link in bytes.
    pub const LINK_LEN: usize = 16;
    /// [u8; 48]: one line saying what the entry counts (Prometheus help text).
    pub const HELP: usize = 80;
    /// Longest help text in bytes.
    pub const HELP_LEN: usize = 48;
}

/// What an entry holds, and so how every reader decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// One u64 (summed over copies). Named `group/field` (read as `snapshot.group.field`) or
    /// `field` (read as `snapshot.field`).
    Scalar = 1,
    /// A u64 per element of an object, per copy, summed over copies: `object/field` gives
    /// every element of `object` a `field` (read as `snapshot.<object>s[i].field`).
    Counter = 2,
    /// The names of an object's elements (an empty name: the slot is unused, skip it). With
    /// a link, each element also holds its parent's index, and readers nest the element
    /// under that parent (`snapshot.<parent>s[j].<object>s`).
    Names = 3,
    /// A log-linear histogram of durations in ns per element of an object, per copy:
    /// `object/field` gives every element of `object` a `field` read as `{count, minNs, p50Ns,
    /// p90Ns, p99Ns, p999Ns, maxNs}` (docs/stats-layout.md, "Histograms"). Each element is a
    /// record of [`HISTOGRAM_WORDS`] u64s: count, sum, min, max, then the buckets
    /// ([`crate::histogram`]); counts and buckets are summed over copies, min and max taken
    /// over the copies that counted.
    Histogram = 4,
    /// The sample ring (docs/stats-layout.md, "Sample ring"): one ring per copy.
    Ring = 5,
    /// UTF-8 text, NUL-terminated, `count` bytes at most; empty reads as absent.
    Text = 6,
}

impl Kind {
    /// Every kind, in number order.
    pub const ALL: [Self; 6] = [
        Self::Scalar,
        Self::Counter,
        Self::Names,
        Self::Histogram,
        Self::Ring,
        Self::Text,
    ];

    /// The kind numbered `n`.
    pub fn from_u8(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == n)
    }

    /// Its name in docs and in the generated TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "Scalar",
            Self::Counter => "Counter",
            Self::Names => "Names",
            Self::Histogram => "Histogram",
            Self::Ring => "Ring",
            Self::Text => "Text",
        }
    }
}

/// Entry flags.
pub mod flags {
    /// A level that may go down (Prometheus: a gauge; otherwise a counter, `_total`).
    pub const GAUGE: u8 = 1;
    /// A counter whose per-copy totals (summed over the object's elements) are also a field
    /// of the worker's element in the `lcore` object, under the same field name.
    pub const BY_WORKER: u8 = 2;
    /// The value is the index of an element of the linked object: readers show that
    /// element's name ([`super::NONE`]: null).
    pub const REF: u8 = 4;
    /// The value may be [`super::NONE`], which reads as null (unknown, or not applicable).
    pub const OPTIONAL: u8 = 8;
    /// Written once, under the structure sequence: a reader may decode it once per
    /// structure change instead of once per read.
    pub const STATIC: u8 = 16;
}

/// The object whose elements are the worker lcores (copy `w` of a per-worker entry is the
/// worker named by element `w`).
pub const WORKER_OBJECT: &str = "lcore";

/// One worker's counters for one port: one cache line, one writer. The `port/…` counter
/// entries point into these lines (copy = worker, element = port).
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct Lane {
    /// Packets received.
    pub rx_packets: std::sync::atomic::AtomicU64,
    /// Packets the driver took for sending.
    pub tx_packets: std::sync::atomic::AtomicU64,
    /// Packets dropped because the tx queue was full (or the worker has none on the port).
    pub tx_dropped: std::sync::atomic::AtomicU64,
    /// Packets received on a port that feeds no pipeline.
    pub unrouted: std::sync::atomic::AtomicU64,
    /// Rx polls that returned packets.
    pub busy_polls: std::sync::atomic::AtomicU64,
    /// Packets dropped because the port's link was down (`port/linkUp` 0) when they were to
    /// be sent: forwarded packets (generated ones wait for the link instead).
    pub tx_link_down: std::sync::atomic::AtomicU64,
    /// Reserved for later fields (zero).
    pub reserved: [std::sync::atomic::AtomicU64; 2],
}

const _: () = assert!(std::mem::size_of::<Lane>() == LINE);

/// `lcore` element fields the worker itself updates every 64 loop iterations, in order:
/// iterations, idle iterations, busy cycles, idle cycles (u64 each, from byte 0 of its line).
pub const LOOP_FIELDS: usize = 4;

/// Queues per port whose counters the segment carries: DPDK's
/// `RTE_ETHDEV_QUEUE_STAT_CNTRS`, the number of queues `rte_eth_stats` counts.
pub const QUEUE_SLOTS: usize = 16;
/// Pipelines (by distinct name) an engine can count over its life.
pub const PIPELINE_SLOTS: usize = 64;
/// Match stages (by pipeline and name) an engine can count over its life.
pub const RULE_SLOTS: usize = 512;
/// Route stages (by pipeline and name) an engine can count over its life.
pub const ROUTE_SLOTS: usize = 64;
/// `route/…` counters per route stage, in order: noRoute, ttlExpired, badHeader, notIp.
pub const ROUTE_FIELDS: usize = 4;
/// Next hops (by route stage and name) an engine can count over its life.
pub const NEXT_HOP_SLOTS: usize = 1024;
/// ACL stages (by pipeline and name) an engine can count over its life.
pub const ACL_SLOTS: usize = 64;
/// ACL rules (by ACL stage and name) an engine can count over its life: room for a
/// 10,000-rule ACL and its renamed successors.
pub const ACL_RULE_SLOTS: usize = 16_384;
/// `pipeline/…` counters per pipeline, in order: inPackets, outPackets, dropped, generated,
/// probesLost, probesReordered, paceMissed, and one spare.
pub const PIPELINE_FIELDS: usize = 8;
/// A [`Kind::Histogram`] record's buckets: one per value below 16, then 16 per power of two
/// up to 2^32 ns (the last also counts everything above).
pub const HISTOGRAM_SUB_BITS: u32 = 4;
/// Buckets per histogram record.
pub const HISTOGRAM_BUCKETS: usize = 464;
/// u64 words before the buckets of a histogram record: count, sum, min, max.
pub const HISTOGRAM_HEADER: usize = 4;
/// u64 words per histogram record.
pub const HISTOGRAM_WORDS: usize = HISTOGRAM_HEADER + HISTOGRAM_BUCKETS;
/// Runs of IOVA-contiguous memory the segment keeps.
pub const MEMORY_RUNS: usize = 1024;
/// Bytes of the `failure` text.
pub const FAILURE_LEN: usize = 512;
/// Slots in each worker's sample ring: 10.24 s of history at the default 10 ms period.
pub const SAMPLE_SLOTS: usize = 1024;
/// Default sample period.
pub const SAMPLE_PERIOD_MS: u64 = 10;
/// Bytes before the per-port triples in a sample slot: sequence, time.
pub const SAMPLE_HEADER: usize = 16;
/// Bytes per port in a sample slot: rx, tx, drops.
pub const SAMPLE_PORT: usize = 24;

/// Field offsets in a sample slot: the header's from the slot, a port's from its triple (at
/// `SAMPLE_HEADER + port × SAMPLE_PORT`). Every field is a u64.
pub mod sample {
    /// `2 × index + 1` while sample `index` is written, `2 × index + 2` once it is whole.
    pub const SEQUENCE: usize = 0;
    /// When it was taken, Unix time in ns.
    pub const TIME: usize = 8;
    /// The port's packets received, to then.
    pub const RX: usize = 0;
    /// The port's packets sent.
    pub const TX: usize = 8;
    /// The port's packets dropped (at a full tx queue, at a down link, or taken by no pipeline).
    pub const DROPS: usize = 16;
}

/// Bytes per sample slot for `ports` ports (a whole number of cache lines).
pub const fn sample_stride(ports: usize) -> usize {
    (SAMPLE_HEADER + SAMPLE_PORT * ports).div_ceil(LINE) * LINE
}
