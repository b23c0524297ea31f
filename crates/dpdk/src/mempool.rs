use std::ffi::{CStr, CString};
use std::fmt;
use std::ptr::NonNull;

use crate::error::{DpdkError, ToResult};

/// A pool of packet buffers (`rte_pktmbuf_pool_create`). Freed on drop once every mbuf is
/// back (otherwise leaked: close ports and drop bursts first).
pub struct Mempool {
    raw: NonNull<dpdk_sys::rte_mempool>,
}

// SAFETY: DPDK mempools are multi-producer/multi-consumer safe; the handle is a plain pointer.
unsafe impl Send for Mempool {}
// SAFETY: as above; every method takes &self and calls thread-safe DPDK functions.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Default data room: 2 KiB of packet data plus DPDK's headroom.
    pub const DEFAULT_DATA_ROOM: u16 = dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

    /// Creates a pool of `n` mbufs (best as 2^k - 1) with a per-lcore cache of `cache`,
    /// each with `data_room` bytes (headroom included), on NUMA `socket`.
    pub fn pktmbuf(
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Self, DpdkError> {
        let c_name = CString::new(name).map_err(|_| DpdkError {
            context: format!("mempool name {name:?}"),
            errno: libc::EINVAL,
        })?;
        // SAFETY: c_name is NUL-terminated and outlives the call (DPDK copies the name).
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(c_name.as_ptr(), n, cache, 0, data_room, socket)
        };
        raw.to_result(|| format!("rte_pktmbuf_pool_create({name}, {n} mbufs)"))
            .map(|raw| Self { raw })
    }

    /// The pool's name.
    pub fn name(&self) -> String {
        // SAFETY: `raw` is a live mempool whose `name` is a NUL-terminated array.
        unsafe { CStr::from_ptr((*self.raw.as_ptr()).name.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Total mbufs in the pool.
    pub fn capacity(&self) -> u32 {
        // SAFETY: `raw` is a live mempool; `size` is fixed at creation.
        unsafe { (*self.raw.as_ptr()).size }
    }

    /// Mbufs free right now (including those in per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: `raw` is a live mempool; the count is a racy but safe read.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }

    /// Mbufs handed out right now.
    pub fn in_use(&self) -> u32 {
        // SAFETY: as for `available`.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.raw.as_ptr()) }
    }

    /// Size of one element (mbuf header + data room), in bytes.
    pub fn element_size(&self) -> u32 {
        // SAFETY: `raw` is a live mempool; `elt_size` is fixed at creation.
        unsafe { (*self.raw.as_ptr()).elt_size }
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.raw.as_ptr()
    }
}

impl fmt::Debug for Mempool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("available", &self.available())
            .finish()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // Mbufs still out (in an open port's rings, or owned by an Mbuf or Burst) would point
        // into freed memory: then the pool is leaked instead, which is always safe.
        if self.in_use() != 0 {
            return;
        }
        // SAFETY: every mbuf is back in the pool and this handle is its last user.
        unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) }
    }
}
