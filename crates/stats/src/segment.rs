//! The engine's side: create the segment file, lay out the [`crate::CATALOGUE`]'s entries,
//! hand out the counters the workers write, beat the heartbeat, remove the file on drop.

use std::ffi::CString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::catalogue::{EntryDef, CATALOGUE};
use crate::layout::{
    entry, header, sample_stride, Kind, Lane, ELEMENT_NAME_LEN, ELEMENT_PARENT, ELEMENT_SIZE,
    ENGINE_NAME_LEN, ENTRY_SIZE, FAILURE_LEN, FLAG_FAILED, FLAG_STOPPED, HEADER_SIZE,
    LAYOUT_VERSION, LINE, LOOP_FIELDS, MAGIC, MEMORY_RUNS, NONE, PIPELINE_SLOTS, QUEUE_SLOTS,
    RULE_SLOTS, SAMPLE_HEADER, SAMPLE_PORT, SAMPLE_SLOTS,
};

/// What the segment describes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Whether the workers count (`stats.counters`). When they do not, `port/rxPackets` and
    /// `port/txPackets` point at the driver's counts instead of the workers' lanes.
    pub counting: bool,
    /// Per-worker counters beyond the catalogue, named `port/<field>` or `lcore/<field>`,
    /// with their help: how a test shows that readers need no change for a new counter.
    pub extra: Vec<(String, String)>,
}

/// The `memory/…` scalars (see the catalogue).
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

/// Scalars the engine updates while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `generation`.
    Generation,
    /// `mempool/capacity`.
    MempoolCapacity,
    /// `mempool/available`.
    MempoolAvailable,
    /// `mempool/inUse`.
    MempoolInUse,
    /// `mempool/drySamples`.
    MempoolDrySamples,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Self::Generation => "generation",
            Self::MempoolCapacity => "mempool/capacity",
            Self::MempoolAvailable => "mempool/available",
            Self::MempoolInUse => "mempool/inUse",
            Self::MempoolDrySamples => "mempool/drySamples",
        }
    }
}

/// Unix time in nanoseconds.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Where each block of data starts (offsets from the segment start).
#[derive(Debug, Clone, Default)]
struct Blocks {
    port_names: usize,
    port_info: usize,
    lanes: usize,
    driver: usize,
    lcore_names: usize,
    loops: usize,
    queue_names: usize,
    queues: usize,
    pipeline_names: usize,
    pipeline_counters: usize,
    rule_names: usize,
    rule_counters: usize,
    run_names: usize,
    runs: usize,
    scalars: usize,
    failure: usize,
    samples: usize,
    /// Extra counters: (offset, elements per worker).
    extra: Vec<(usize, usize)>,
}

/// A directory entry as laid out: its definition and where its data lies.
#[derive(Debug, Clone)]
struct Placed {
    name: String,
    kind: Kind,
    flags: u8,
    link: String,
    help: String,
    count: usize,
    stride: usize,
    copies: usize,
    offset: usize,
    copy_stride: usize,
}

/// The `port` element fields of the `port-info` and `driver` lines (u64 each).
mod port_line {
    pub const RX_QUEUES: usize = 0;
    pub const TX_QUEUES: usize = 8;
}

/// Byte offsets in a `lcore` loops line beyond the worker-written [`super::LOOP_FIELDS`].
mod loops_line {
    pub const TSC_HZ: usize = 32;
    pub const CPU: usize = 40;
}

/// Byte offsets in a `queue` line.
mod queue_line {
    pub const RX_LCORE: usize = 40;
}

/// The whole layout for a spec: blocks, entries, bytes used.
#[derive(Debug, Clone)]
struct Layout {
    blocks: Blocks,
    entries: Vec<Placed>,
    size: usize,
}

fn scalar_slot(name: &str) -> usize {
    CATALOGUE
        .iter()
        .filter(|d| d.kind == Kind::Scalar)
        .position(|d| d.name == name)
        .expect("every scalar is in the catalogue")
}

impl Layout {
    fn new(ports: usize, workers: usize, counting: bool, extra: &[(String, String)]) -> Self {
        let mut at = 0;
        let mut block = |bytes: usize| {
            let offset = at;
            at = round_up(at + bytes, LINE);
            offset
        };
        let scalars = CATALOGUE.iter().filter(|d| d.kind == Kind::Scalar).count();
        let mut b = Blocks {
            port_names: block(ports * ELEMENT_SIZE),
            port_info: block(ports * LINE),
            lanes: block(workers * ports * LINE),
            driver: block(ports * LINE),
            lcore_names: block(workers * ELEMENT_SIZE),
            loops: block(workers * LINE),
            queue_names: block(ports * QUEUE_SLOTS * ELEMENT_SIZE),
            queues: block(ports * QUEUE_SLOTS * LINE),
            pipeline_names: block(PIPELINE_SLOTS * ELEMENT_SIZE),
            pipeline_counters: block(workers * PIPELINE_SLOTS * 32),
            rule_names: block(RULE_SLOTS * ELEMENT_SIZE),
            rule_counters: block(workers * RULE_SLOTS * 8),
            run_names: block(MEMORY_RUNS * ELEMENT_SIZE),
            runs: block(MEMORY_RUNS * 32),
            scalars: block(scalars * 8),
            failure: block(FAILURE_LEN),
            samples: block(workers * SAMPLE_SLOTS * sample_stride(ports)),
            extra: Vec::new(),
        };
        let extra_blocks: Vec<(usize, usize)> = extra
            .iter()
            .map(|(name, _)| {
                let n = if name.starts_with("lcore/") {
                    workers
                } else {
                    ports
                };
                (block(workers * n * 8), n)
            })
            .collect();
        b.extra.clone_from(&extra_blocks);

        let mut entries: Vec<Placed> = CATALOGUE
            .iter()
            .filter_map(|d| Self::place(d, &b, ports, workers, counting))
            .collect();
        for ((name, help), (offset, n)) in extra.iter().zip(&extra_blocks) {
            entries.push(Placed {
                name: name.clone(),
                kind: Kind::Counter,
                flags: 0,
                link: String::new(),
                help: help.clone(),
                count: *n,
                stride: 8,
                copies: workers,
                offset: *offset,
                copy_stride: n * 8,
            });
        }
        // The data follows the header and the directory.
        let base = round_up(HEADER_SIZE + entries.len() * ENTRY_SIZE, LINE);
        for e in &mut entries {
            e.offset += base;
        }
        for o in [
            &mut b.port_names,
            &mut b.port_info,
            &mut b.lanes,
            &mut b.driver,
            &mut b.lcore_names,
            &mut b.loops,
            &mut b.queue_names,
            &mut b.queues,
            &mut b.pipeline_names,
            &mut b.pipeline_counters,
            &mut b.rule_names,
            &mut b.rule_counters,
            &mut b.run_names,
            &mut b.runs,
            &mut b.scalars,
            &mut b.failure,
            &mut b.samples,
        ] {
            *o += base;
        }
        for (o, _) in &mut b.extra {
            *o += base;
        }
        Self {
            blocks: b,
            entries,
            size: base + at,
        }
    }

    /// Where catalogue entry `d` lies: (offset, count, stride, copies, copy stride).
    #[allow(clippy::too_many_lines)] // one arm per entry: the catalogue's other half
    fn place(
        d: &EntryDef,
        b: &Blocks,
        ports: usize,
        workers: usize,
        counting: bool,
    ) -> Option<Placed> {
        let lanes = |field: usize| (b.lanes + field, ports, LINE, workers, ports * LINE);
        let driver = |field: usize| (b.driver + field, ports, LINE, 1, 0);
        let loops = |field: usize| (b.loops + field, workers, LINE, 1, 0);
        let queues = |field: usize| (b.queues + field, ports * QUEUE_SLOTS, LINE, 1, 0);
        let pipelines = |field: usize| {
            (
                b.pipeline_counters + field,
                PIPELINE_SLOTS,
                32,
                workers,
                PIPELINE_SLOTS * 32,
            )
        };
        let runs = |field: usize| (b.runs + field, MEMORY_RUNS, 32, 1, 0);
        let names = |offset: usize, count: usize| (offset, count, ELEMENT_SIZE, 1, 0);
        let mut flags = d.flags;
        let (offset, count, stride, copies, copy_stride) = match d.name {
            "port" => names(b.port_names, ports),
            // Without software counters, the port's packet counts are the driver's.
            "port/rxPackets" if !counting => {
                flags &= !crate::layout::flags::BY_WORKER;
                driver(0)
            }
            "port/txPackets" if !counting => {
                flags &= !crate::layout::flags::BY_WORKER;
                driver(8)
            }
            "port/rxPackets" => lanes(0),
            "port/txPackets" => lanes(8),
            "port/txDropped" => lanes(16),
            "port/unrouted" => lanes(24),
            "port/busyPolls" => lanes(32),
            "port/driverRxPackets" => driver(0),
            "port/driverTxPackets" => driver(8),
            "port/rxBytes" => driver(16),
            "port/txBytes" => driver(24),
            "port/rxMissed" => driver(32),
            "port/rxErrors" => driver(40),
            "port/txErrors" => driver(48),
            "port/rxNombuf" => driver(56),
            "port/rxQueues" => (b.port_info + port_line::RX_QUEUES, ports, LINE, 1, 0),
            "port/txQueues" => (b.port_info + port_line::TX_QUEUES, ports, LINE, 1, 0),
            "lcore" => names(b.lcore_names, workers),
            "lcore/cpu" => loops(loops_line::CPU),
            "lcore/loops" => loops(0),
            "lcore/idleLoops" => loops(8),
            "lcore/busyCycles" => loops(16),
            "lcore/idleCycles" => loops(24),
            "lcore/tscHz" => loops(loops_line::TSC_HZ),
            "queue" => names(b.queue_names, ports * QUEUE_SLOTS),
            "queue/rxPackets" => queues(0),
            "queue/rxBytes" => queues(8),
            "queue/txPackets" => queues(16),
            "queue/txBytes" => queues(24),
            "queue/errors" => queues(32),
            "queue/rxLcore" => queues(queue_line::RX_LCORE),
            "pipeline" => names(b.pipeline_names, PIPELINE_SLOTS),
            "pipeline/inPackets" => pipelines(0),
            "pipeline/outPackets" => pipelines(8),
            "pipeline/dropped" => pipelines(16),
            "pipeline/generated" => pipelines(24),
            "rule" => names(b.rule_names, RULE_SLOTS),
            "rule/matched" => (b.rule_counters, RULE_SLOTS, 8, workers, RULE_SLOTS * 8),
            "memoryRun" => names(b.run_names, MEMORY_RUNS),
            "memoryRun/iova" => runs(0),
            "memoryRun/bytes" => runs(8),
            "memoryRun/segments" => runs(16),
            "memoryRun/socket" => runs(24),
            "failure" => (b.failure, FAILURE_LEN, 1, 1, 0),
            "samples" => (
                b.samples,
                SAMPLE_SLOTS,
                sample_stride(ports),
                workers,
                SAMPLE_SLOTS * sample_stride(ports),
            ),
            scalar if d.kind == Kind::Scalar => (b.scalars + 8 * scalar_slot(scalar), 1, 8, 1, 0),
            _ => return None,
        };
        Some(Placed {
            name: d.name.to_owned(),
            kind: d.kind,
            flags,
            link: d.link.to_owned(),
            help: d.help.to_owned(),
            count,
            stride,
            copies,
            offset,
            copy_stride,
        })
    }
}

/// Bytes a segment for `ports` ports and `lcores` workers takes in pages of `page_size`
/// (what a hugepage plan must count).
pub fn segment_size(ports: usize, lcores: usize, page_size: usize) -> usize {
    round_up(
        Layout::new(ports, lcores, true, &[]).size,
        page_size.max(4096),
    )
}

/// The file a segment named `name` lives in, under `dir`.
pub fn file_name(name: &str) -> String {
    format!("fastpath-stats.{name}")
}

/// A mapped, writable segment. Removes its file on drop.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    base: NonNull<u8>,
    /// Bytes mapped (whole pages).
    mapped: usize,
    /// Bytes in use (the header's segment size).
    used: usize,
    ports: usize,
    workers: usize,
    blocks: Blocks,
    /// Names given slots so far (only the control thread names; a mutex keeps it simple).
    slots: std::sync::Mutex<SlotNames>,
}

/// Names given counter slots so far: pipelines, then (pipeline slot, rule name).
type SlotNames = (Vec<String>, Vec<(usize, String)>);

// SAFETY: the mapping is plain shared memory; every field written after creation is written
// through an atomic.
unsafe impl Send for Segment {}
// SAFETY: as above; shared access goes through atomics only.
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates (or replaces a stale) segment in `dir` whose mappings are rounded to
    /// `page_size` (the hugepage size in hugetlbfs, else the base page size). The file is
    /// created 0640 so that a reader needs the engine's group, not its user.
    pub fn create(dir: &Path, page_size: usize, spec: &SegmentSpec) -> io::Result<Self> {
        let path = dir.join(file_name(&spec.name));
        let (ports, workers) = (spec.ports.len(), spec.lcores.len());
        let layout = Layout::new(ports, workers, spec.counting, &spec.extra);
        let mapped = round_up(layout.size, page_size.max(4096));

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
        let sized = unsafe {
            libc::ftruncate(
                fd,
                libc::off_t::try_from(mapped).unwrap_or(libc::off_t::MAX),
            )
        };
        // SAFETY: maps the whole file shared read-write; checked against MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
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
            mapped,
            used: layout.size,
            ports,
            workers,
            blocks: layout.blocks.clone(),
            slots: std::sync::Mutex::default(),
        };
        segment.lay_out(spec, &layout.entries);
        Ok(segment)
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `mapped` bytes, writable, and lives as long as self; `&mut
        // self` makes this the only view (used only while laying out, before the magic).
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.mapped) }
    }

    fn lay_out(&mut self, spec: &SegmentSpec, entries: &[Placed]) {
        let used = self.used;
        let blocks = self.blocks.clone();
        let b = self.bytes();
        let put32 =
            |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 =
            |b: &mut [u8], at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        let put_text = |b: &mut [u8], at: usize, len: usize, text: &str| {
            let n = text.len().min(len - 1);
            b[at..at + n].copy_from_slice(&text.as_bytes()[..n]);
        };
        put32(b, header::VERSION, LAYOUT_VERSION);
        put32(b, header::HEADER_SIZE, HEADER_SIZE as u32);
        put64(b, header::SEGMENT_SIZE, used as u64);
        put32(b, header::PID, std::process::id());
        put64(b, header::HEARTBEAT_NS, now_ns());
        put32(b, header::DIRECTORY_OFFSET, HEADER_SIZE as u32);
        put32(b, header::DIRECTORY_COUNT, entries.len() as u32);
        put32(b, header::WORKERS, spec.lcores.len() as u32);
        put32(b, header::PORTS, spec.ports.len() as u32);
        put_text(b, header::NAME, ENGINE_NAME_LEN, &spec.name);
        for (i, e) in entries.iter().enumerate() {
            let at = HEADER_SIZE + i * ENTRY_SIZE;
            put_text(b, at + entry::NAME, entry::NAME_LEN, &e.name);
            b[at + entry::KIND] = e.kind as u8;
            b[at + entry::FLAGS] = e.flags;
            put32(b, at + entry::COUNT, e.count as u32);
            put32(b, at + entry::STRIDE, e.stride as u32);
            put32(b, at + entry::COPIES, e.copies as u32);
            put64(b, at + entry::OFFSET, e.offset as u64);
            put64(b, at + entry::COPY_STRIDE, e.copy_stride as u64);
            put_text(b, at + entry::LINK, entry::LINK_LEN, &e.link);
            put_text(b, at + entry::HELP, entry::HELP_LEN, &e.help);
        }
        for (i, (name, _)) in spec.ports.iter().enumerate() {
            put_text(
                b,
                blocks.port_names + i * ELEMENT_SIZE,
                ELEMENT_NAME_LEN,
                name,
            );
        }
        for (i, (lcore, cpu)) in spec.lcores.iter().enumerate() {
            put_text(
                b,
                blocks.lcore_names + i * ELEMENT_SIZE,
                ELEMENT_NAME_LEN,
                &lcore.to_string(),
            );
            put64(
                b,
                blocks.loops + i * LINE + loops_line::CPU,
                u64::from(*cpu),
            );
        }
        for p in 0..spec.ports.len() {
            let owners = spec.rx_owners.get(p).map_or(&[][..], Vec::as_slice);
            for q in 0..QUEUE_SLOTS {
                let owner = owners.get(q).copied().flatten().map_or(NONE, |w| w as u64);
                put64(
                    b,
                    blocks.queues + (p * QUEUE_SLOTS + q) * LINE + queue_line::RX_LCORE,
                    owner,
                );
                put32(
                    b,
                    blocks.queue_names + (p * QUEUE_SLOTS + q) * ELEMENT_SIZE + ELEMENT_PARENT,
                    p as u32,
                );
            }
        }
        for r in 0..MEMORY_RUNS {
            put64(b, blocks.runs + r * 32 + 24, NONE);
        }
        // The magic goes last: a reader that sees it sees a complete layout.
        std::sync::atomic::fence(Ordering::Release);
        self.word64(header::MAGIC).store(MAGIC, Ordering::Release);
    }

    // The mapping is page-aligned and every offset used is a multiple of the field size.
    #[allow(clippy::cast_ptr_alignment)]
    fn word64(&self, at: usize) -> &AtomicU64 {
        assert!(at + 8 <= self.used, "segment offset {at} out of range");
        // SAFETY: `at` is an 8-aligned offset inside the mapping (checked), which lives as
        // long as self; AtomicU64 has the layout of u64.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU64>() }
    }

    #[allow(clippy::cast_ptr_alignment)]
    fn word32(&self, at: usize) -> &AtomicU32 {
        assert!(at + 4 <= self.used, "segment offset {at} out of range");
        // SAFETY: as for `word64`, 4-aligned.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU32>() }
    }

    /// The counter lanes, `workers × ports`, worker-major. Each lane has one writer.
    #[allow(clippy::cast_ptr_alignment)] // the lanes start on a cache line of a page-aligned mapping
    pub fn lanes(&self) -> &[Lane] {
        // SAFETY: the lanes block is inside the mapping, 64-aligned, zero-initialised (a
        // valid Lane), and lives as long as self.
        unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(self.blocks.lanes).cast::<Lane>(),
                self.workers * self.ports,
            )
        }
    }

    /// Records a sign of life.
    pub fn beat(&self) {
        self.word64(header::HEARTBEAT_NS)
            .store(now_ns(), Ordering::Relaxed);
    }

    /// Records that the workers started now (uptime counts from here).
    pub fn set_started(&self) {
        let now = now_ns();
        self.word64(header::START_NS).store(now, Ordering::Relaxed);
        self.word64(header::HEARTBEAT_NS)
            .store(now, Ordering::Relaxed);
    }

    /// Writes text readers may be reading: bump the structure sequence to odd, write it
    /// (NUL-padded to `len` bytes) and a parent index, bump it back to even (readers retry
    /// while it is odd).
    fn write_text(&self, at: usize, len: usize, text: &str, parent: Option<u32>) {
        let seq = self.word64(header::STRUCTURE_SEQ);
        seq.fetch_add(1, Ordering::AcqRel);
        self.store_text(at, len, text);
        if let Some(p) = parent {
            self.word32(at + ELEMENT_PARENT).store(p, Ordering::Relaxed);
        }
        seq.fetch_add(1, Ordering::Release);
    }

    /// Stores `text` NUL-padded into `len` bytes at `at` (8-aligned, `len` a multiple of 8).
    fn store_text(&self, at: usize, len: usize, text: &str) {
        let bytes = text.as_bytes();
        let n = bytes.len().min(len - 1);
        for i in 0..len / 8 {
            let mut word = [0u8; 8];
            let from = (i * 8).min(n);
            let to = (i * 8 + 8).min(n);
            word[..to - from].copy_from_slice(&bytes[from..to]);
            self.word64(at + i * 8)
                .store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
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
        self.write_text(
            self.blocks.pipeline_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            None,
        );
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
        self.write_text(
            self.blocks.rule_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            Some(pipeline as u32),
        );
        slots.1.push((pipeline, name.to_owned()));
        Some(i)
    }

    /// Worker `w`'s counters for pipeline slot `slot`: in, out, dropped, generated.
    #[allow(clippy::cast_ptr_alignment)] // 32-byte aligned inside a page-aligned mapping
    pub fn pipeline_counters(&self, w: usize, slot: usize) -> &[AtomicU64; 4] {
        assert!(
            w < self.workers && slot < PIPELINE_SLOTS,
            "pipeline counter slot out of range"
        );
        // SAFETY: in range (checked), 32-byte aligned, zero-initialised u64s in the mapping.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.blocks.pipeline_counters + (w * PIPELINE_SLOTS + slot) * 32)
                .cast::<[AtomicU64; 4]>()
        }
    }

    /// Worker `w`'s counter for rule slot `slot`.
    pub fn rule_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.workers && slot < RULE_SLOTS,
            "rule counter slot out of range"
        );
        self.word64(self.blocks.rule_counters + (w * RULE_SLOTS + slot) * 8)
    }

    /// Worker `w`'s loop counters: iterations, idle iterations, busy cycles, idle cycles.
    /// One writer: that worker.
    #[allow(clippy::cast_ptr_alignment)] // cache-line aligned inside a page-aligned mapping
    pub fn loops(&self, w: usize) -> Option<&[AtomicU64; LOOP_FIELDS]> {
        // SAFETY: the line of worker `w < workers` is 64 aligned bytes inside the mapping.
        (w < self.workers).then(|| unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.blocks.loops + w * LINE)
                .cast::<[AtomicU64; LOOP_FIELDS]>()
        })
    }

    /// Extra counter `i` of the spec ([`SegmentSpec::extra`]): worker `w`'s value for
    /// element `element`, or `None` out of range.
    pub fn extra(&self, i: usize, w: usize, element: usize) -> Option<&AtomicU64> {
        let &(offset, n) = self.blocks.extra.get(i)?;
        (w < self.workers && element < n).then(|| self.word64(offset + (w * n + element) * 8))
    }

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
            let seq = self.word64(slot);
            seq.store(2 * written + 1, Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Release);
            self.word64(slot + 8).store(now, Ordering::Relaxed);
            for (p, lane) in lanes[w * self.ports..(w + 1) * self.ports]
                .iter()
                .enumerate()
            {
                let at = slot + SAMPLE_HEADER + p * SAMPLE_PORT;
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

    /// A copy of the bytes in use, read word by word (the workers keep writing): what the
    /// engine's own [`crate::Reader`] decodes.
    pub fn copy(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.used);
        for at in (0..self.used).step_by(8) {
            out.extend_from_slice(&self.word64(at).load(Ordering::Acquire).to_le_bytes());
        }
        out
    }

    /// Marks the engine stopped and unlinks the file: readers stop listing it, while this
    /// mapping (and any reader's) stays valid until dropped.
    pub fn retire(&self) {
        self.mark_stopped();
        let _ = fs::remove_file(&self.path);
    }

    /// Marks the engine stopped (readers stop treating it as live).
    pub fn mark_stopped(&self) {
        self.word32(header::FLAGS)
            .fetch_or(FLAG_STOPPED, Ordering::Release);
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
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}
