//! The engine's side: create the segment file, lay out the [`crate::CATALOGUE`]'s entries,
//! hand out the counters the workers write, beat the heartbeat, remove the file on drop.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

mod acls;
mod pipelines;
mod publish;
mod routes;
mod view;

pub use view::WorkerView;

use crate::lock;

use crate::directory::{loops_line, port_line, queue_line, round_up, Blocks, Layout, Placed};
use crate::layout::{
    entry, header, Lane, ELEMENT_NAME_LEN, ELEMENT_PARENT, ELEMENT_SIZE, ENGINE_NAME_LEN,
    ENTRY_SIZE, FLAG_LOCKED, FLAG_STOPPED, HEADER_SIZE, LAYOUT_VERSION, LINE, MAGIC, MEMORY_RUNS,
    NONE, QUEUE_SLOTS,
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

/// The file a segment named `name` lives in, under `dir`.
pub fn file_name(name: &str) -> String {
    format!("fastpath-stats.{name}")
}

/// A mapped, writable segment. Removes its file on drop.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    /// The file, open for the engine's life: its exclusive flock is how every other process
    /// tells this engine alive ([`crate::lock`]); the kernel releases it when the process dies.
    file: fs::File,
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
    /// Route stages and next hops given slots so far ([`routes`]).
    route_slots: std::sync::Mutex<routes::RouteSlots>,
    /// ACL stages and rules given slots so far ([`acls`]).
    acl_slots: std::sync::Mutex<acls::AclSlots>,
}

/// Names given counter slots so far: pipelines, then (pipeline slot, rule name).
type SlotNames = (Vec<String>, Vec<(usize, String)>);

// SAFETY: the mapping is plain shared memory; every field written after creation is written
// through an atomic.
unsafe impl Send for Segment {}
// SAFETY: as above; shared access goes through atomics only.
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates (or replaces a dead engine's) segment in `dir` whose mappings are rounded to
    /// `page_size` (the hugepage size in hugetlbfs, else the base page size), and holds its
    /// lock until dropped. A live engine's segment of that name is `AlreadyExists`. The file
    /// is created 0640 so that a reader needs the engine's group, not its user.
    pub fn create(dir: &Path, page_size: usize, spec: &SegmentSpec) -> io::Result<Self> {
        let path = dir.join(file_name(&spec.name));
        let (ports, workers) = (spec.ports.len(), spec.lcores.len());
        let layout = Layout::new(ports, workers, spec.counting, &spec.extra);
        let mapped = round_up(layout.size, page_size.max(4096));

        let file = lock::create_held(&path, 0o640)?;
        // The umask may have taken bits off: 0640 is the contract (group readers). And
        // hugetlbfs needs the size before mmap.
        let ready = file
            .set_permissions(fs::Permissions::from_mode(0o640))
            .and_then(|()| file.set_len(mapped as u64));
        if let Err(e) = ready {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        // SAFETY: maps the whole file shared read-write; checked against MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            let _ = fs::remove_file(&path);
            return Err(err);
        }
        let base = NonNull::new(base.cast::<u8>()).expect("mmap returned a non-null mapping");
        let mut segment = Self {
            path,
            file,
            base,
            mapped,
            used: layout.size,
            ports,
            workers,
            blocks: layout.blocks.clone(),
            slots: std::sync::Mutex::default(),
            route_slots: std::sync::Mutex::default(),
            acl_slots: std::sync::Mutex::default(),
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
        put32(b, header::FLAGS, FLAG_LOCKED);
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
            // Unknown until the engine reads it.
            put64(b, blocks.port_info + i * LINE + port_line::LINK_UP, NONE);
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
    // Inline: workers read words (a port's link state) once per burst, from another crate.
    #[allow(clippy::cast_ptr_alignment)]
    #[inline]
    fn word64(&self, at: usize) -> &AtomicU64 {
        assert!(at + 8 <= self.used, "segment offset {at} out of range");
        // SAFETY: `at` is an 8-aligned offset inside the mapping (checked), which lives as
        // long as self; AtomicU64 has the layout of u64.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU64>() }
    }

    #[allow(clippy::cast_ptr_alignment)]
    #[inline]
    fn word32(&self, at: usize) -> &AtomicU32 {
        assert!(at + 4 <= self.used, "segment offset {at} out of range");
        // SAFETY: as for `word64`, 4-aligned.
        unsafe { &*self.base.as_ptr().add(at).cast::<AtomicU32>() }
    }

    /// The counter lanes, `workers × ports`, worker-major. Each lane has one writer.
    #[allow(clippy::cast_ptr_alignment)] // the lanes start on a cache line of a page-aligned mapping
    #[inline]
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
        self.unlink();
    }

    /// Removes the file if its path still names it: after a `retire`, a new engine of this
    /// name may have created its own there, which is not this one's to remove.
    fn unlink(&self) {
        if lock::same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
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
        self.unlink();
        // SAFETY: unmaps exactly the mapping made in `create`; no reference into it outlives
        // self (lanes() borrows self).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}
