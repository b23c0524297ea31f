//! Packet buffers: one owned [`Mbuf`], or a [`Burst`] of them moved through ports together.

use std::fmt;
use std::ptr::NonNull;

use crate::error::{DpdkError, ToResult};
use crate::mempool::Mempool;

/// Packets moved per rx/tx call, as in DPDK's own examples.
pub const BURST_SIZE: usize = 32;

/// One packet buffer, freed back to its pool on drop.
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

    /// Packet length in bytes.
    pub fn len(&self) -> u32 {
        // SAFETY: `raw` is a live mbuf owned by self.
        unsafe { (*self.raw.as_ptr()).pkt_len }
    }

    /// Whether the packet holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    pub(crate) bufs: [*mut dpdk_sys::rte_mbuf; BURST_SIZE],
    pub(crate) len: usize,
}

// SAFETY: the mbufs in a Burst are exclusively owned by it.
unsafe impl Send for Burst {}

impl Burst {
    /// An empty burst.
    pub fn new() -> Self {
        Self {
            bufs: [std::ptr::null_mut(); BURST_SIZE],
            len: 0,
        }
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no packets.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Frees every packet held (one `rte_pktmbuf_free_bulk` call) and returns how many.
    pub fn free_all(&mut self) -> usize {
        let n = self.len;
        if n > 0 {
            // SAFETY: the first `len` pointers are valid mbufs owned by this burst.
            unsafe { dpdk_sys::rte_pktmbuf_free_bulk(self.bufs.as_mut_ptr(), n as u32) };
            self.len = 0;
        }
        n
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
