//! Packet buffers: one owned [`Mbuf`], or a [`Burst`] of them moved through ports together.

use std::fmt;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::error::{DpdkError, ToResult};
use crate::mempool::Mempool;

/// Packets moved per rx/tx call, as in DPDK's own examples.
pub const BURST_SIZE: usize = 32;

/// One packet buffer, freed back to its pool on drop. Same layout as `struct rte_mbuf *`,
/// so bursts of them go to and from DPDK without conversion.
#[repr(transparent)]
pub struct Mbuf {
    raw: NonNull<dpdk_sys::rte_mbuf>,
}

// SAFETY: an Mbuf is exclusively owned; DPDK mbufs may move between threads.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes a fresh mbuf from `pool`.
    pub fn alloc(pool: &Mempool) -> Result<Self, DpdkError> {
        // SAFETY: the pool is live; a null return means it is empty.
        let raw = unsafe { dpdk_sys::rte_pktmbuf_alloc(pool.as_ptr()) };
        raw.to_result(|| format!("rte_pktmbuf_alloc({})", pool.name()))
            .map(|raw| Self { raw })
    }

    /// The `struct rte_mbuf *` (for DPDK calls that take one, such as a BPF program's run).
    pub(crate) fn raw(&self) -> *mut dpdk_sys::rte_mbuf {
        self.raw.as_ptr()
    }

    fn head(&self) -> &dpdk_sys::rte_mbuf {
        // SAFETY: `raw` is a live mbuf owned by self.
        unsafe { self.raw.as_ref() }
    }

    /// Packet length in bytes (all segments).
    #[inline]
    pub fn len(&self) -> usize {
        self.head().pkt_len as usize
    }

    /// Whether the packet holds no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first segment's bytes (the whole packet unless it is chained).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let m = self.head();
        // SAFETY: a single owned mbuf: `data_len` bytes at `buf_addr + data_off` are its data.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    /// The first segment's bytes, writable. Mbufs here are never shared (no refcount > 1).
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let m = self.head();
        let (addr, off, len) = (
            m.buf_addr.cast::<u8>(),
            usize::from(m.data_off),
            usize::from(m.data_len),
        );
        // SAFETY: as for `data`, and `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(addr.add(off), len) }
    }

    /// Hints the CPU to start loading the packet's first cache line (headers).
    #[inline]
    pub fn prefetch_data(&self) {
        let m = self.head();
        // SAFETY: `buf_addr + data_off` is inside the mbuf's buffer; prefetching never faults.
        let p = unsafe { m.buf_addr.cast::<i8>().add(usize::from(m.data_off)) };
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch hint has no architectural effect.
        unsafe {
            std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// Sets a single-segment packet's length; fails if it does not fit the buffer.
    pub fn set_len(&mut self, len: usize) -> bool {
        // SAFETY: `raw` is a live mbuf owned by self.
        let m = unsafe { self.raw.as_mut() };
        let room = usize::from(m.buf_len).saturating_sub(usize::from(m.data_off));
        if len > room || !m.next.is_null() {
            return false;
        }
        m.data_len = len as u16;
        m.pkt_len = len as u32;
        true
    }

    /// A deep copy from `pool` (for mirroring: the copy may be rewritten independently).
    pub fn deep_copy(&self, pool: &Mempool) -> Option<Self> {
        // SAFETY: self is a live mbuf; the copy is a new mbuf (chain) from `pool` or null.
        let raw =
            unsafe { dpdk_sys::rte_pktmbuf_copy(self.raw.as_ptr(), pool.as_ptr(), 0, u32::MAX) };
        NonNull::new(raw).map(|raw| Self { raw })
    }

    /// The port the driver received it on.
    pub fn rx_port(&self) -> u16 {
        self.head().port
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf").field("len", &self.len()).finish()
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: self owns the mbuf and nobody else refers to it.
        unsafe { dpdk_sys::rte_pktmbuf_free(self.raw.as_ptr()) }
    }
}

/// Up to [`BURST_SIZE`] packets in flight together; whatever is left in it on drop is freed.
pub struct Burst {
    bufs: [MaybeUninit<Mbuf>; BURST_SIZE],
    len: usize,
}

// SAFETY: the mbufs in a Burst are exclusively owned by it.
unsafe impl Send for Burst {}

impl Burst {
    /// An empty burst.
    pub fn new() -> Self {
        Self {
            bufs: [const { MaybeUninit::uninit() }; BURST_SIZE],
            len: 0,
        }
    }

    /// Packets held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no packets.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it holds [`BURST_SIZE`] packets.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == BURST_SIZE
    }

    /// The packets held.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: the first `len` slots are initialised.
        unsafe { std::slice::from_raw_parts(self.bufs.as_ptr().cast::<Mbuf>(), self.len) }
    }

    /// The packets held, writable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: the first `len` slots are initialised.
        unsafe { std::slice::from_raw_parts_mut(self.bufs.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }

    /// Adds a packet; gives it back when the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.is_full() {
            return Err(m);
        }
        self.bufs[self.len].write(m);
        self.len += 1;
        Ok(())
    }

    /// Keeps the first `len` packets and frees the rest.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            let extra = self.len - len;
            // SAFETY: slots len..self.len hold owned mbufs; they are forgotten (len shrinks)
            // once DPDK has freed them.
            unsafe {
                dpdk_sys::rte_pktmbuf_free_bulk(
                    self.bufs.as_mut_ptr().add(len).cast(),
                    extra as u32,
                );
            }
            self.len = len;
        }
    }

    /// Moves every packet out, in order, leaving the burst empty. Packets the iterator does
    /// not reach (if it is dropped early) are leaked, not freed: drain to the end.
    #[inline]
    pub fn drain(&mut self) -> impl Iterator<Item = Mbuf> + '_ {
        let len = std::mem::take(&mut self.len);
        // SAFETY: slots 0..len were initialised and, with len reset, are read exactly once.
        self.bufs[..len]
            .iter()
            .map(|slot| unsafe { slot.assume_init_read() })
    }

    /// Fills the free space with fresh mbufs from `pool` (all or none); returns how many.
    pub fn alloc_from(&mut self, pool: &Mempool, count: usize) -> usize {
        let count = count.min(BURST_SIZE - self.len);
        if count == 0 {
            return 0;
        }
        // SAFETY: the free slots past `len` take `count` mbuf pointers (Mbuf is a transparent
        // pointer); on failure DPDK writes nothing usable and we keep len unchanged.
        let ret = unsafe {
            dpdk_sys::rte_pktmbuf_alloc_bulk(pool.as_ptr(), self.raw_tail(), count as u32)
        };
        if ret != 0 {
            return 0;
        }
        self.len += count;
        count
    }

    /// Frees every packet held (one `rte_pktmbuf_free_bulk` call) and returns how many.
    /// Inlined: after a send that took everything it is one compare.
    #[inline]
    pub fn free_all(&mut self) -> usize {
        let n = self.len;
        if n > 0 {
            // SAFETY: the first `len` pointers are valid mbufs owned by this burst; they are
            // forgotten (len = 0) once DPDK has freed them.
            unsafe { dpdk_sys::rte_pktmbuf_free_bulk(self.bufs.as_mut_ptr().cast(), n as u32) };
            self.len = 0;
        }
        n
    }

    /// The first free slot, as DPDK's `struct rte_mbuf **`.
    #[inline]
    pub(crate) fn raw_tail(&mut self) -> *mut *mut dpdk_sys::rte_mbuf {
        // SAFETY: `len <= BURST_SIZE`, so the pointer is in bounds or one past the end.
        unsafe { self.bufs.as_mut_ptr().add(self.len).cast() }
    }

    /// The first slot, as DPDK's `struct rte_mbuf **`.
    #[inline]
    pub(crate) fn raw_head(&mut self) -> *mut *mut dpdk_sys::rte_mbuf {
        self.bufs.as_mut_ptr().cast()
    }

    /// Records that DPDK wrote `n` more packets past the old length.
    #[inline]
    pub(crate) fn grew(&mut self, n: usize) {
        self.len += n;
    }

    /// Records that DPDK took the first `sent` packets; the rest move to the front.
    #[inline]
    pub(crate) fn consumed_front(&mut self, sent: usize) {
        if sent < self.len {
            // SAFETY: moves the untaken pointers (plain bits) to the front; the slots they
            // leave behind are past the new length and never read again.
            unsafe {
                std::ptr::copy(
                    self.bufs.as_ptr().add(sent),
                    self.bufs.as_mut_ptr(),
                    self.len - sent,
                );
            }
        }
        self.len -= sent;
    }
}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Burst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Burst")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.free_all();
    }
}
