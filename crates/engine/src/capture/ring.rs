//! The capture ring: one shared-memory file per capture, written by the workers and read by
//! the capture's client (`fastpath capture`, `engine.capture()`), which may be another
//! process. It holds a header (the time base, the port → pcapng interface map, the pcapng
//! section and interface blocks the engine had `librte_pcapng` write), then one lane per worker:
//! a single-producer, single-consumer byte ring, so no two writers ever share a cache line
//! and a worker never waits: a copy that does not fit is dropped and counted.
//!
//! ```text
//! 0      header (4 KiB): magic "FPCAPNG1", version, lanes, lane bytes, tsc hz, tsc base,
//!        ns base, pcapng header offset and length, snaplen, ports, stopped, lanes offset,
//!        interface of each port (u16 × 256)
//! 4096   the pcapng header bytes, padded to 4 KiB
//! lanes  per worker: head, captured, dropped (its line) · tail (the reader's line) ·
//!        lane-bytes of records
//! ```
//!
//! A record is 8-byte aligned: `len u32` (all of it, padded) · `port u16` · `flags u16` ·
//! `orig_len u32` · `cap_len u32` · `tsc u64` · the bytes. A record never wraps: where the
//! rest of the lane is too short, the writer leaves a pad record (or, under 24 bytes, nothing:
//! the reader skips such a tail) and starts again at the lane's start.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

mod writer;
pub use writer::Writer;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"FPCAPNG1";
/// The layout's version.
pub const VERSION: u32 = 1;
/// Ports the interface map covers.
pub const MAX_PORTS: usize = 256;
/// A record's fixed part.
pub const RECORD_HEADER: usize = 24;
/// `flags`: the packet came in on `port` (pcapng's inbound).
pub const INBOUND: u16 = 1;
/// `flags`: the packet leaves on `port` (pcapng's outbound).
pub const OUTBOUND: u16 = 2;
/// `flags`: the pipeline dropped it.
pub const DROPPED: u16 = 4;
/// `flags`: a pad record (skip `len` bytes).
const PAD: u16 = 0x8000;

const PAGE: usize = 4096;
const LINE: usize = 64;
/// A lane's own lines before its bytes: the writer's, the reader's.
const LANE_HEADER: usize = 2 * LINE;

// Header field offsets.
const H_VERSION: usize = 8;
const H_LANES: usize = 12;
const H_LANE_BYTES: usize = 16;
const H_TSC_HZ: usize = 24;
const H_TSC_BASE: usize = 32;
const H_NS_BASE: usize = 40;
const H_PCAPNG_LEN: usize = 52;
const H_SNAPLEN: usize = 56;
const H_PORTS: usize = 60;
const H_STOPPED: usize = 64;
const H_LANES_OFF: usize = 72;
const H_INTERFACES: usize = 128;

// Lane field offsets.
const L_HEAD: usize = 0;
const L_CAPTURED: usize = 8;
const L_DROPPED: usize = 16;
const L_TAIL: usize = LINE;

/// What a ring is made with.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Lanes (one per worker).
    pub lanes: usize,
    /// Bytes of records per lane (rounded up to a power of two, at least 64 KiB).
    pub lane_bytes: usize,
    /// The TSC's rate, and a TSC reading with the wall clock's nanoseconds at that moment.
    pub tsc_hz: u64,
    /// See `tsc_hz`.
    pub tsc_base: u64,
    /// See `tsc_hz`.
    pub ns_base: u64,
    /// The pcapng section and interface blocks.
    pub pcapng: Vec<u8>,
    /// The longest copy of a packet.
    pub snaplen: u32,
    /// For each port (engine index), its interface's index in the pcapng header.
    pub interfaces: Vec<u16>,
}

/// Writes `bytes` at `at`.
///
/// # Safety
/// `at..at + bytes.len()` must be in a mapping and written by no one else meanwhile.
#[inline]
unsafe fn put(at: *mut u8, bytes: &[u8]) {
    // SAFETY: as the caller promises.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len()) };
}

fn round_page(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

/// A mapped capture ring (the engine's, or a reader's).
#[derive(Debug)]
pub struct Ring {
    base: NonNull<u8>,
    len: usize,
    lanes: usize,
    lane_bytes: usize,
    lanes_off: usize,
    path: PathBuf,
    _file: File,
}

// SAFETY: the mapping is shared memory whose mutable fields are atomics or bytes a single
// lane writer owns (the protocol in the module docs); the pointer is valid until drop.
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// Creates the ring file at `path` (0600, replacing nothing: it must not exist) and maps it.
    pub fn create(path: &Path, layout: &Layout) -> io::Result<Self> {
        let lane_bytes = layout.lane_bytes.max(64 << 10).next_power_of_two();
        let lanes_off = PAGE + round_page(layout.pcapng.len());
        let len = lanes_off + layout.lanes * (LANE_HEADER + lane_bytes);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        let ring = (|| {
            file.set_len(len as u64)?;
            Self::map(file, path, len)
        })();
        let mut ring = match ring {
            Ok(ring) => ring,
            Err(e) => {
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
        };
        let bytes = ring.base.as_ptr();
        // SAFETY: the mapping is `len` bytes, fresh (zeroed), and nobody else writes it yet.
        unsafe {
            std::ptr::copy_nonoverlapping(MAGIC.as_ptr(), bytes, 8);
            let put32 = |off: usize, v: u32| put(bytes.add(off), &v.to_ne_bytes());
            let put64 = |off: usize, v: u64| put(bytes.add(off), &v.to_ne_bytes());
            put32(H_VERSION, VERSION);
            put32(H_LANES, layout.lanes as u32);
            put64(H_LANE_BYTES, lane_bytes as u64);
            put64(H_TSC_HZ, layout.tsc_hz);
            put64(H_TSC_BASE, layout.tsc_base);
            put64(H_NS_BASE, layout.ns_base);
            put32(H_PCAPNG_LEN - 4, PAGE as u32);
            put32(H_PCAPNG_LEN, layout.pcapng.len() as u32);
            put32(H_SNAPLEN, layout.snaplen);
            put32(H_PORTS, layout.interfaces.len().min(MAX_PORTS) as u32);
            put64(H_LANES_OFF, lanes_off as u64);
            for (p, &i) in layout.interfaces.iter().take(MAX_PORTS).enumerate() {
                put(bytes.add(H_INTERFACES + 2 * p), &i.to_ne_bytes());
            }
            std::ptr::copy_nonoverlapping(
                layout.pcapng.as_ptr(),
                bytes.add(PAGE),
                layout.pcapng.len(),
            );
        }
        (ring.lanes, ring.lane_bytes, ring.lanes_off) = (layout.lanes, lane_bytes, lanes_off);
        Ok(ring)
    }

    /// Maps an existing ring file (a reader: it writes only its tails).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a capture ring of this version ({why})",
                    path.display()
                ),
            )
        };
        if len < PAGE {
            return Err(bad("too short"));
        }
        let mut ring = Self::map(file, path, len)?;
        if ring.bytes(0, 8) != MAGIC || ring.u32_at(H_VERSION) != VERSION {
            return Err(bad("magic or version"));
        }
        let lanes = ring.u32_at(H_LANES) as usize;
        let lane_bytes = usize::try_from(ring.u64_at(H_LANE_BYTES)).unwrap_or(0);
        let lanes_off = usize::try_from(ring.u64_at(H_LANES_OFF)).unwrap_or(usize::MAX);
        let pcapng_end = PAGE + ring.u32_at(H_PCAPNG_LEN) as usize;
        if !lane_bytes.is_power_of_two()
            || pcapng_end > lanes_off
            || lanes_off.checked_add(lanes * (LANE_HEADER + lane_bytes)) != Some(len)
        {
            return Err(bad("sizes"));
        }
        (ring.lanes, ring.lane_bytes, ring.lanes_off) = (lanes, lane_bytes, lanes_off);
        Ok(ring)
    }

    fn map(file: File, path: &Path, len: usize) -> io::Result<Self> {
        // SAFETY: a shared read-write mapping of `len` bytes of a file we opened read-write.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            base: NonNull::new(ptr.cast()).ok_or_else(io::Error::last_os_error)?,
            len,
            lanes: 0,
            lane_bytes: 0,
            lanes_off: PAGE,
            path: path.to_owned(),
            _file: file,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lanes.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= self.len);
        // SAFETY: within the mapping (checked); these bytes are written before they are read
        // (the header at create, a record before the head that publishes it).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(off), len) }
    }

    fn u32_at(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.bytes(off, 4).try_into().unwrap_or_default())
    }

    fn u64_at(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.bytes(off, 8).try_into().unwrap_or_default())
    }

    #[allow(
        clippy::cast_ptr_alignment,
        reason = "the offset's alignment is asserted"
    )]
    fn atomic64(&self, off: usize) -> &AtomicU64 {
        assert!(off + 8 <= self.len && off.is_multiple_of(8));
        // SAFETY: in bounds and 8-aligned (the mapping is page-aligned); shared fields are
        // only ever accessed atomically.
        unsafe { &*self.base.as_ptr().add(off).cast::<AtomicU64>() }
    }

    fn lane_off(&self, lane: usize) -> usize {
        assert!(lane < self.lanes);
        self.lanes_off + lane * (LANE_HEADER + self.lane_bytes)
    }

    /// The pcapng section and interface blocks the file starts with.
    pub fn pcapng_header(&self) -> &[u8] {
        self.bytes(PAGE, self.u32_at(H_PCAPNG_LEN) as usize)
    }

    /// The pcapng interface of port `port`.
    pub fn interface(&self, port: u16) -> u32 {
        if usize::from(port) < (self.u32_at(H_PORTS) as usize) {
            u32::from(u16::from_ne_bytes(
                self.bytes(H_INTERFACES + 2 * usize::from(port), 2)
                    .try_into()
                    .unwrap_or_default(),
            ))
        } else {
            0
        }
    }

    /// The longest copy of a packet.
    pub fn snaplen(&self) -> u32 {
        self.u32_at(H_SNAPLEN)
    }

    /// Wall-clock nanoseconds (since the epoch) of a TSC reading.
    pub fn nanoseconds(&self, tsc: u64) -> u64 {
        let hz = u128::from(self.u64_at(H_TSC_HZ).max(1));
        let base = self.u64_at(H_TSC_BASE);
        let ns = self.u64_at(H_NS_BASE);
        let delta = |d: u64| u64::try_from(u128::from(d) * 1_000_000_000 / hz).unwrap_or(u64::MAX);
        if tsc >= base {
            ns.saturating_add(delta(tsc - base))
        } else {
            ns.saturating_sub(delta(base - tsc))
        }
    }

    #[allow(
        clippy::cast_ptr_alignment,
        reason = "H_STOPPED is 4-aligned in a page-aligned mapping"
    )]
    fn stopped_flag(&self) -> &AtomicU32 {
        // SAFETY: in bounds, 4-aligned, accessed atomically by every party.
        unsafe { &*self.bytes(H_STOPPED, 4).as_ptr().cast::<AtomicU32>() }
    }

    /// Marks the capture ended: no worker writes any more (the engine says so after its
    /// grace period); a reader drains what is left, then ends.
    pub fn set_stopped(&self) {
        self.stopped_flag().store(1, Ordering::Release);
    }

    /// Whether the engine has ended the capture.
    pub fn stopped(&self) -> bool {
        self.stopped_flag().load(Ordering::Acquire) != 0
    }

    /// Packets copied and copies dropped (the lane was full), all lanes.
    pub fn counts(&self) -> (u64, u64) {
        (0..self.lanes).fold((0, 0), |(c, d), lane| {
            let off = self.lane_off(lane);
            (
                c + self.atomic64(off + L_CAPTURED).load(Ordering::Relaxed),
                d + self.atomic64(off + L_DROPPED).load(Ordering::Relaxed),
            )
        })
    }

    /// Lane `lane`'s writer for one burst. Only worker `lane` may hold it.
    #[inline]
    pub fn writer(&self, lane: usize) -> Writer<'_> {
        Writer::new(self, self.lane_off(lane))
    }

    /// Reads lane `lane`'s records (at most `max` of them), handing each to `f`, and frees
    /// their room. Returns how many it read. Only one reader may read a lane.
    pub fn read(&self, lane: usize, max: usize, mut f: impl FnMut(Record<'_>)) -> usize {
        let off = self.lane_off(lane);
        let data = off + LANE_HEADER;
        let head = self.atomic64(off + L_HEAD).load(Ordering::Acquire);
        let tail_cell = self.atomic64(off + L_TAIL);
        let mut tail = tail_cell.load(Ordering::Relaxed);
        let mask = self.lane_bytes - 1;
        let mut n = 0;
        while tail < head && n < max {
            let pos = (tail as usize) & mask;
            let rest = self.lane_bytes - pos;
            if rest < RECORD_HEADER {
                tail += rest as u64;
                continue;
            }
            let at = data + pos;
            let len = self.u32_at(at) as usize;
            let flags = u16::from_ne_bytes(self.bytes(at + 6, 2).try_into().unwrap_or_default());
            if len < RECORD_HEADER || len > rest {
                // A torn lane can only be a bug; drop what is left rather than read garbage.
                tail = head;
                break;
            }
            if flags & PAD == 0 {
                let cap = self.u32_at(at + 12) as usize;
                f(Record {
                    port: u16::from_ne_bytes(self.bytes(at + 4, 2).try_into().unwrap_or_default()),
                    flags,
                    orig_len: self.u32_at(at + 8),
                    tsc: self.u64_at(at + 16),
                    bytes: self.bytes(at + RECORD_HEADER, cap.min(len - RECORD_HEADER)),
                });
                n += 1;
            }
            tail += len as u64;
        }
        tail_cell.store(tail, Ordering::Release);
        n
    }

    /// Whether every lane is read to its head.
    pub fn drained(&self) -> bool {
        (0..self.lanes).all(|lane| {
            let off = self.lane_off(lane);
            self.atomic64(off + L_TAIL).load(Ordering::Acquire)
                >= self.atomic64(off + L_HEAD).load(Ordering::Acquire)
        })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what map() mapped, once.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// One packet's record, as a reader sees it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The engine's port index.
    pub port: u16,
    /// [`INBOUND`], [`OUTBOUND`], [`DROPPED`].
    pub flags: u16,
    /// The packet's length on the wire.
    pub orig_len: u32,
    /// When its burst arrived (TSC).
    pub tsc: u64,
    /// The copied bytes (at most the snaplen).
    pub bytes: &'a [u8],
}

#[cfg(test)]
mod tests;
