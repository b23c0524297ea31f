//! The engine's side: create the segment file, lay it out, hand out the counter lanes,
//! beat the heartbeat, remove the file on drop.

use std::ffi::CString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::layout::{
    entry, header, loops, memory, names, queue, sample_stride, Lane, ENTRY_SIZE, HEADER_SIZE,
    LAYOUT_VERSION, LINE, MAGIC, MEMORY_RUNS, NAME_LEN, NO_OWNER, PIPELINE_SLOTS, QUEUE_SLOTS,
    RULE_SLOTS, SAMPLE_SLOTS,
};

/// What the segment describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// Engine name (its EAL file prefix): names the file.
    pub name: String,
    /// Port names with their DPDK port ids, in port order.
    pub ports: Vec<(String, u16)>,
    /// Worker lcores with their CPUs, in worker order.
    pub lcores: Vec<(u32, u32)>,
    /// Per port, per rx queue: the index of the worker that polls it (`None`: no worker).
    /// Queues past [`QUEUE_SLOTS`] are not carried.
    pub rx_owners: Vec<Vec<Option<usize>>>,
}

/// The `memory` element's values (see [`crate::layout::memory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemorySummary {
    /// 1 = PA, 2 = VA.
    pub iova_mode: u32,
    /// Bytes EAL mapped.
    pub bytes: u64,
    /// Memsegs.
    pub segments: u64,
    /// Page size.
    pub page_size: u64,
    /// Heap bytes held, every socket.
    pub heap_total: u64,
    /// Heap bytes allocated.
    pub heap_allocated: u64,
    /// Heap bytes the plan asked for.
    pub planned: u64,
}

/// Names given counter slots so far: pipelines, then (pipeline slot, rule name).
type SlotNames = (Vec<String>, Vec<(usize, String)>);

/// A mapped, writable segment. Removes its file on drop.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    base: NonNull<u8>,
    size: usize,
    port_block: usize,
    lanes: usize,
    lane_count: usize,
    ports: usize,
    driver: usize,
    queues: usize,
    loops: usize,
    lcores: usize,
    pipeline_names: usize,
    rule_names: usize,
    pipeline_counters: usize,
    rule_counters: usize,
    memory: usize,
    memory_runs: usize,
    /// Names given slots so far (only the control thread names; a mutex keeps it simple).
    slots: std::sync::Mutex<SlotNames>,
    samples: usize,
}

// SAFETY: the mapping is plain shared memory; every field workers write is an atomic.
unsafe impl Send for Segment {}
// SAFETY: as above; shared access goes through atomics only.
unsafe impl Sync for Segment {}

/// Unix time in nanoseconds.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// A directory entry: (name, offset, element count, stride).
type Entry = (&'static str, usize, usize, usize);

/// The directory of a segment for `ports` ports and `lcores` workers: every block in
/// order, each starting on a cache line after the header and the directory itself.
fn directory(ports: usize, lcores: usize) -> Vec<Entry> {
    let blocks: [(&'static str, usize, usize); 13] = [
        (names::PORTS, ports, LINE),
        (names::LCORES, lcores, LINE),
        (names::LANES, lcores * ports, LINE),
        (names::LCORE_LOOPS, lcores, LINE),
        (names::DRIVER, ports, LINE),
        (names::QUEUES, ports * QUEUE_SLOTS, LINE),
        (names::MEMORY, 1, LINE),
        (names::MEMORY_RUNS, MEMORY_RUNS, 32),
        (names::PIPELINE_NAMES, PIPELINE_SLOTS, LINE),
        (names::RULE_NAMES, RULE_SLOTS, LINE),
        (names::PIPELINE_COUNTERS, lcores * PIPELINE_SLOTS, 32),
        (names::RULE_COUNTERS, lcores * RULE_SLOTS, 8),
        (names::SAMPLES, lcores * SAMPLE_SLOTS, sample_stride(ports)),
    ];
    let mut at = round_up(HEADER_SIZE + blocks.len() * ENTRY_SIZE, LINE);
    blocks
        .into_iter()
        .map(|(name, count, stride)| {
            let entry = (name, at, count, stride);
            at = round_up(at + count * stride, LINE);
            entry
        })
        .collect()
}

fn end_of(entries: &[Entry]) -> usize {
    entries.last().map_or(HEADER_SIZE, |e| e.1 + e.2 * e.3)
}

/// Bytes a segment for `ports` ports and `lcores` workers takes in pages of `page_size`
/// (what a hugepage plan must count).
pub fn segment_size(ports: usize, lcores: usize, page_size: usize) -> usize {
    round_up(end_of(&directory(ports, lcores)), page_size.max(4096))
}

/// The file a segment named `name` lives in, under `dir`.
pub fn file_name(name: &str) -> String {
    format!("fastpath-stats.{name}")
}

impl Segment {
    /// Creates (or replaces a stale) segment in `dir` whose mappings are rounded to
    /// `page_size` (the hugepage size in hugetlbfs, else the base page size). The file is
    /// created 0640 so that a reader needs the engine's group, not its user.
    pub fn create(dir: &Path, page_size: usize, spec: &SegmentSpec) -> io::Result<Self> {
        let path = dir.join(file_name(&spec.name));
        let ports = spec.ports.len();
        let lcores = spec.lcores.len();
        let entries = directory(ports, lcores);
        let at = |name: &str| entries.iter().find(|e| e.0 == name).map_or(0, |e| e.1);
        let size = round_up(end_of(&entries), page_size.max(4096));

        let _ = fs::remove_file(&path);
        let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "segment path has a NUL byte")
        })?;
        // SAFETY: a plain open(2) of a NUL-terminated path.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o640,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // The umask may have taken bits off: 0640 is the contract (group readers).
        // SAFETY: `fd` is the file just opened.
        unsafe { libc::fchmod(fd, 0o640) };
        // SAFETY: `fd` is the file just opened; hugetlbfs needs the size before mmap.
        let sized =
            unsafe { libc::ftruncate(fd, libc::off_t::try_from(size).unwrap_or(libc::off_t::MAX)) };
        // SAFETY: maps the whole file shared read-write; checked against MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        let err = io::Error::last_os_error();
        // SAFETY: the mapping keeps the file alive; the descriptor is no longer needed.
        unsafe { libc::close(fd) };
        if sized != 0 || base == libc::MAP_FAILED {
            let _ = fs::remove_file(&path);
            return Err(err);
        }
        let base = NonNull::new(base.cast::<u8>()).expect("mmap returned a non-null mapping");
        let mut segment = Self {
            path,
            base,
            size,
            port_block: at(names::PORTS),
            lanes: at(names::LANES),
            lane_count: lcores * ports,
            ports,
            driver: at(names::DRIVER),
            queues: at(names::QUEUES),
            loops: at(names::LCORE_LOOPS),
            lcores,
            pipeline_names: at(names::PIPELINE_NAMES),
            rule_names: at(names::RULE_NAMES),
            pipeline_counters: at(names::PIPELINE_COUNTERS),
            rule_counters: at(names::RULE_COUNTERS),
            memory: at(names::MEMORY),
            memory_runs: at(names::MEMORY_RUNS),
            slots: std::sync::Mutex::default(),
            samples: at(names::SAMPLES),
        };
        segment.lay_out(spec, &entries);
        Ok(segment)
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `size` bytes, writable, and lives as long as self; `&mut
        // self` makes this the only view (used only while laying out, before the magic).
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.size) }
    }

    fn lay_out(&mut self, spec: &SegmentSpec, entries: &[Entry]) {
        let size = self.size;
        let b = self.bytes();
        let put32 =
            |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 =
            |b: &mut [u8], at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        let put_name = |b: &mut [u8], at: usize, len: usize, name: &str| {
            let n = name.len().min(len - 1);
            b[at..at + n].copy_from_slice(&name.as_bytes()[..n]);
        };
        put32(b, header::VERSION, LAYOUT_VERSION);
        put32(b, header::HEADER_SIZE, HEADER_SIZE as u32);
        put64(b, header::SEGMENT_SIZE, size as u64);
        put32(b, header::PID, std::process::id());
        put64(b, header::START_NS, now_ns());
        put64(b, header::HEARTBEAT_NS, now_ns());
        put32(b, header::DIRECTORY_OFFSET, HEADER_SIZE as u32);
        put32(b, header::DIRECTORY_COUNT, entries.len() as u32);
        put32(b, header::LCORES, spec.lcores.len() as u32);
        put32(b, header::PORTS, spec.ports.len() as u32);
        put_name(b, header::NAME, 64, &spec.name);
        for (i, (name, offset, count, stride)) in entries.iter().enumerate() {
            let at = HEADER_SIZE + i * ENTRY_SIZE;
            put_name(b, at + entry::NAME, NAME_LEN, name);
            put32(b, at + entry::COUNT, *count as u32);
            put32(b, at + entry::STRIDE, *stride as u32);
            put64(b, at + entry::OFFSET, *offset as u64);
        }
        let at = |name: &str| entries.iter().find(|e| e.0 == name).map_or(0, |e| e.1);
        let (ports_at, lcores_at, queues_at) =
            (at(names::PORTS), at(names::LCORES), at(names::QUEUES));
        for (i, (name, id)) in spec.ports.iter().enumerate() {
            put_name(b, ports_at + i * LINE, NAME_LEN, name);
            b[ports_at + i * LINE + 40..ports_at + i * LINE + 42]
                .copy_from_slice(&id.to_le_bytes());
        }
        for (i, (lcore, cpu)) in spec.lcores.iter().enumerate() {
            put32(b, lcores_at + i * LINE, *lcore);
            put32(b, lcores_at + i * LINE + 4, *cpu);
        }
        for p in 0..spec.ports.len() {
            let owners = spec.rx_owners.get(p).map_or(&[][..], Vec::as_slice);
            for q in 0..QUEUE_SLOTS {
                let owner = owners
                    .get(q)
                    .copied()
                    .flatten()
                    .map_or(NO_OWNER, |w| w as u32);
                put32(
                    b,
                    queues_at + (p * QUEUE_SLOTS + q) * LINE + queue::RX_OWNER,
                    owner,
                );
            }
        }
        // The magic goes last: a reader that sees it sees a complete layout.
        std::sync::atomic::fence(Ordering::Release);
        self.word64(header::MAGIC).store(MAGIC, Ordering::Release);
    }

    // The mapping is page-aligned and header offsets are multiples of the field size.
    #[allow(clippy::cast_ptr_alignment)]
    fn word64(&self, at: usize) -> &AtomicU64 {
        // SAFETY: `at` is an 8-aligned header offset inside the mapping, which lives as long
        // as self; AtomicU64 has the layout of u64.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU64>() }
    }

    #[allow(clippy::cast_ptr_alignment)]
    fn word32(&self, at: usize) -> &AtomicU32 {
        // SAFETY: as for `word64`, 4-aligned.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU32>() }
    }

    /// The counter lanes, `lcores × ports`, lcore-major. Each lane has one writer.
    #[allow(clippy::cast_ptr_alignment)] // the lanes start on a cache line of a page-aligned mapping
    pub fn lanes(&self) -> &[Lane] {
        // SAFETY: the lanes region is inside the mapping, 64-aligned, zero-initialised (a
        // valid Lane), and lives as long as self.
        unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(self.lanes).cast::<Lane>(),
                self.lane_count,
            )
        }
    }

    /// Records a sign of life.
    pub fn beat(&self) {
        self.word64(header::HEARTBEAT_NS)
            .store(now_ns(), Ordering::Relaxed);
    }

    /// The counter slot for pipeline `name`: the same slot every time the name comes back
    /// (so its counters carry across live changes), a new one for a new name, or `None` when
    /// all [`PIPELINE_SLOTS`] are taken. Called by the control thread only.
    pub fn pipeline_slot(&self, name: &str) -> Option<usize> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = slots.0.iter().position(|n| n == name) {
            return Some(i);
        }
        let i = slots.0.len();
        if i == PIPELINE_SLOTS {
            return None;
        }
        self.write_name(self.pipeline_names + i * LINE, name, None);
        slots.0.push(name.to_owned());
        Some(i)
    }

    /// The counter slot for match stage `name` of pipeline slot `pipeline` (as for pipelines).
    pub fn rule_slot(&self, pipeline: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = slots
            .1
            .iter()
            .position(|(p, n)| *p == pipeline && n == name)
        {
            return Some(i);
        }
        let i = slots.1.len();
        if i == RULE_SLOTS {
            return None;
        }
        self.write_name(self.rule_names + i * LINE, name, Some(pipeline as u32));
        slots.1.push((pipeline, name.to_owned()));
        Some(i)
    }

    /// Writes a name record readers may be reading: bump the structure sequence to odd,
    /// write, bump it back to even (readers retry or skip while it is odd).
    fn write_name(&self, at: usize, name: &str, pipeline: Option<u32>) {
        let seq = self.word64(header::STRUCTURE_SEQ);
        seq.fetch_add(1, Ordering::AcqRel);
        let bytes = name.as_bytes();
        let n = bytes.len().min(NAME_LEN - 1);
        for (i, chunk) in bytes[..n].chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.word64(at + i * 8)
                .store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
        if let Some(p) = pipeline {
            self.word32(at + NAME_LEN).store(p, Ordering::Relaxed);
        }
        seq.fetch_add(1, Ordering::Release);
    }

    /// Worker `w`'s counters for pipeline slot `slot`: in, out, dropped, generated.
    #[allow(clippy::cast_ptr_alignment)] // 32-byte aligned inside a page-aligned mapping
    pub fn pipeline_counters(&self, w: usize, slot: usize) -> &[AtomicU64; 4] {
        assert!(
            w < self.lcores && slot < PIPELINE_SLOTS,
            "pipeline counter slot out of range"
        );
        // SAFETY: in range (checked), 32-byte aligned, zero-initialised u64s in the mapping.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.pipeline_counters + (w * PIPELINE_SLOTS + slot) * 32)
                .cast::<[AtomicU64; 4]>()
        }
    }

    /// Worker `w`'s counter for rule slot `slot`.
    #[allow(clippy::cast_ptr_alignment)] // 8-byte aligned inside a page-aligned mapping
    pub fn rule_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.lcores && slot < RULE_SLOTS,
            "rule counter slot out of range"
        );
        // SAFETY: as for `pipeline_counters`.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.rule_counters + (w * RULE_SLOTS + slot) * 8)
                .cast::<AtomicU64>()
        }
    }

    /// Worker `w`'s loop counters, in [`loops`] order: iterations, idle iterations, busy
    /// cycles, idle cycles. One writer: that worker.
    #[allow(clippy::cast_ptr_alignment)] // cache-line aligned inside a page-aligned mapping
    pub fn loops(&self, w: usize) -> Option<&[AtomicU64; loops::LIVE_FIELDS]> {
        // SAFETY: the block for worker `w < lcores` is 64 aligned bytes inside the mapping.
        (w < self.lcores).then(|| unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.loops + w * LINE)
                .cast::<[AtomicU64; loops::LIVE_FIELDS]>()
        })
    }

    /// Records the TSC frequency the workers' cycle counts are in (known once EAL is up).
    pub fn set_tsc_hz(&self, hz: u64) {
        for w in 0..self.lcores {
            self.word64(self.loops + w * LINE + loops::TSC_HZ)
                .store(hz, Ordering::Relaxed);
        }
    }

    /// Publishes EAL's memory (once, from the control thread): the `memory` summary and up to
    /// [`MEMORY_RUNS`] runs, each (virtual address, IOVA, length, memsegs, socket).
    pub fn set_memory(&self, summary: &MemorySummary, runs: &[(u64, u64, u64, u32, i32)]) {
        let seq = self.word64(header::STRUCTURE_SEQ);
        seq.fetch_add(1, Ordering::AcqRel);
        let at = self.memory;
        self.word32(at + memory::IOVA_MODE)
            .store(summary.iova_mode, Ordering::Relaxed);
        self.word32(at + memory::RUNS)
            .store(runs.len().min(MEMORY_RUNS) as u32, Ordering::Relaxed);
        for (field, value) in [
            (memory::BYTES, summary.bytes),
            (memory::SEGMENTS, summary.segments),
            (memory::PAGE_SIZE, summary.page_size),
            (memory::HEAP_TOTAL, summary.heap_total),
            (memory::HEAP_ALLOCATED, summary.heap_allocated),
            (memory::PLANNED, summary.planned),
            (memory::RUNS_TOTAL, runs.len() as u64),
        ] {
            self.word64(at + field).store(value, Ordering::Relaxed);
        }
        for (i, &(va, iova, len, segments, socket)) in runs.iter().take(MEMORY_RUNS).enumerate() {
            let run = self.memory_runs + i * 32;
            self.word64(run).store(va, Ordering::Relaxed);
            self.word64(run + 8).store(iova, Ordering::Relaxed);
            self.word64(run + 16).store(len, Ordering::Relaxed);
            self.word32(run + 24).store(segments, Ordering::Relaxed);
            self.word32(run + 28)
                .store(socket.cast_unsigned(), Ordering::Relaxed);
        }
        seq.fetch_add(1, Ordering::Release);
    }

    /// Records how many rx and tx queues port `port` came up with (once, after it started).
    pub fn set_queue_counts(&self, port: usize, rx: u16, tx: u16) {
        if port < self.ports {
            self.word32(self.port_block + port * LINE + 48)
                .store(u32::from(rx), Ordering::Relaxed);
            self.word32(self.port_block + port * LINE + 52)
                .store(u32::from(tx), Ordering::Relaxed);
        }
    }

    /// Publishes port `port`'s per-queue driver counters, queue by queue: rx packets, rx
    /// bytes, tx packets, tx bytes, errors (the `q_*` arrays of `rte_eth_stats`).
    pub fn set_queues(&self, port: usize, values: &[[u64; 5]]) {
        if port < self.ports {
            for (q, v) in values.iter().take(QUEUE_SLOTS).enumerate() {
                let at = self.queues + (port * QUEUE_SLOTS + q) * LINE;
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
                self.word64(self.driver + port * LINE + i * 8)
                    .store(*v, Ordering::Relaxed);
            }
        }
    }

    /// Appends one sample to every lcore's ring: that lcore's counters for every port, all
    /// rings stamped with the same index and time. One writer only (the engine's sampler
    /// thread). Each slot is a seqlock: its sequence is odd while the slot is written and
    /// `2 × (index + 1)` once sample `index` is complete, so a reader can tell a torn or
    /// overwritten slot from a good one.
    pub fn sample(&self) {
        let written = self.word64(header::SAMPLES_WRITTEN).load(Ordering::Relaxed);
        let stride = sample_stride(self.ports);
        let now = now_ns();
        let lanes = self.lanes();
        for l in 0..self.lcores {
            let slot = self.samples + (l * SAMPLE_SLOTS + written as usize % SAMPLE_SLOTS) * stride;
            let seq = self.word64(slot);
            seq.store(2 * written + 1, Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Release);
            self.word64(slot + 8).store(now, Ordering::Relaxed);
            for (p, lane) in lanes[l * self.ports..(l + 1) * self.ports]
                .iter()
                .enumerate()
            {
                let at = slot + 16 + p * 24;
                let dropped =
                    lane.tx_dropped.load(Ordering::Relaxed) + lane.unrouted.load(Ordering::Relaxed);
                self.word64(at)
                    .store(lane.rx_packets.load(Ordering::Relaxed), Ordering::Relaxed);
                self.word64(at + 8)
                    .store(lane.tx_packets.load(Ordering::Relaxed), Ordering::Relaxed);
                self.word64(at + 16).store(dropped, Ordering::Relaxed);
            }
            seq.store(2 * written + 2, Ordering::Release);
        }
        self.word64(header::SAMPLES_WRITTEN)
            .store(written + 1, Ordering::Release);
    }

    /// Marks the engine stopped and unlinks the file: readers stop listing it, while this
    /// mapping (and any reader's) stays valid until dropped.
    pub fn retire(&self) {
        self.mark_stopped();
        let _ = fs::remove_file(&self.path);
    }

    /// Marks the engine failed (a worker's loop panicked): readers report it.
    pub fn mark_failed(&self) {
        self.word32(header::FLAGS)
            .fetch_or(crate::layout::FLAG_FAILED, Ordering::Release);
    }

    /// Marks the engine stopped (readers stop treating it as live).
    pub fn mark_stopped(&self) {
        self.word32(header::FLAGS)
            .fetch_or(crate::layout::FLAG_STOPPED, Ordering::Release);
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        self.mark_stopped();
        let _ = fs::remove_file(&self.path);
        // SAFETY: unmaps exactly the mapping made in `create`; no reference into it outlives
        // self (lanes() borrows self).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.size) };
    }
}

/// A read-only mapping of a segment file, for readers that want the live bytes (the
/// JavaScript reader wraps one in an `ArrayBuffer`). Unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a read-only shared mapping; nothing here writes through it.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps the whole file at `path` read-only (shared: the engine's writes show through).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the stats segment is empty",
            ));
        }
        // SAFETY: maps `len` bytes of an open file read-only; checked against MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            base: NonNull::new(base.cast()).expect("mmap returned a non-null mapping"),
            len,
        })
    }

    /// The first byte. Read-only memory: writing through it faults.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped (never, for a mapping that opened).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `open` mapped.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
