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

    /// Heap bytes `pktmbuf(_, n, cache, data_room, _)` takes when its objects may not cross
    /// a `page_size` boundary (0: they may, as with hugepages in IOVA-as-VA mode): the
    /// objects as DPDK sizes them ([`object_size`]), packed page by page the way the default
    /// populate does, plus the pool's ring and its header with every lcore's cache. Pure
    /// arithmetic over DPDK's own struct sizes: callable before EAL starts.
    pub fn pktmbuf_footprint(n: u32, cache: u32, data_room: u16, page_size: u64) -> u64 {
        let obj =
            object_size(std::mem::size_of::<dpdk_sys::rte_mbuf>() as u64 + u64::from(data_room));
        let objects = packed(u64::from(n), obj, page_size);
        // The ring holds a pointer per mbuf, rounded up to a power of two (u64: no overflow
        // for any u32 count; DPDK itself refuses rings past 2^31 entries).
        let ring_slots = (u64::from(n) + 1).next_power_of_two();
        let ring = u32::try_from(ring_slots).map_or(ring_slots * 8, |slots| {
            // SAFETY: pure arithmetic on its argument.
            let bytes = unsafe { dpdk_sys::rte_ring_get_memsize(slots) };
            u64::try_from(bytes).unwrap_or(ring_slots * 8)
        });
        let line = 64u64;
        let caches = if cache > 0 {
            u64::from(dpdk_sys::RTE_MAX_LCORE)
                * std::mem::size_of::<dpdk_sys::rte_mempool_cache>() as u64
        } else {
            0
        };
        let header = (std::mem::size_of::<dpdk_sys::rte_mempool>() as u64
            + caches
            + std::mem::size_of::<dpdk_sys::rte_pktmbuf_pool_private>() as u64)
            .div_ceil(line)
            * line;
        objects + ring + header
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

/// What `rte_mempool_calc_obj_size(elt, 0, _)` returns, without its call into EAL (it reads
/// the memory channel count from EAL's config, which does not exist before init): the
/// object header and the element, each rounded to a cache line, then grown by whole lines
/// until the line count is coprime with channels × ranks (DPDK's `optimize_object_size`,
/// which spreads objects over memory channels; EAL assumes 4 channels and 1 rank unless
/// given `-n`/`-r`, which Fastpath never passes).
fn object_size(elt: u64) -> u64 {
    const LINE: u64 = 64;
    const CHANNELS_TIMES_RANKS: u64 = 4;
    let header = (std::mem::size_of::<dpdk_sys::rte_mempool_objhdr>() as u64).div_ceil(LINE);
    let mut lines = header + elt.div_ceil(LINE);
    while gcd(lines, CHANNELS_TIMES_RANKS) != 1 {
        lines += 1;
    }
    lines * LINE
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Bytes `n` objects of `obj` bytes take when none may cross a `page` boundary (0: no
/// boundaries): whole pages for full ones, then the rest.
fn packed(n: u64, obj: u64, page: u64) -> u64 {
    if page == 0 {
        n * obj
    } else if obj > page {
        // An object larger than a page takes whole pages.
        n * obj.div_ceil(page) * page
    } else {
        let per_page = page / obj;
        n / per_page * page + n % per_page * obj
    }
}

#[cfg(test)]
mod tests {
    use super::Mempool;

    const MB2: u64 = 2 << 20;

    #[test]
    fn objects_do_not_straddle_pages_so_a_page_holds_a_whole_number() {
        use super::packed;
        // 2368-byte objects: 885 fit a 2 MiB page, the 886th starts the next page.
        assert_eq!(packed(885, 2368, MB2), MB2);
        assert_eq!(packed(886, 2368, MB2), MB2 + 2368);
        assert_eq!(packed(886, 2368, 0), 886 * 2368);
        // 4 KiB pages (no hugepages) hold one such object each.
        assert_eq!(packed(10, 2368, 4096), 10 * 4096);
        assert_eq!(packed(3, 5000, 4096), 3 * 8192);
    }

    #[test]
    fn object_sizes_follow_dpdk_s_channel_spreading() {
        use super::object_size;
        // A default mbuf: 64-byte header + 128-byte rte_mbuf + 2176-byte data room = 37
        // lines, odd, so coprime with 4 channels: what a pool reports as its object size.
        assert_eq!(object_size(128 + 2176), 2368);
        // 64 + 128 = 3 lines stays; 64 + 192 = 4 lines grows to 5.
        assert_eq!(object_size(128), 192);
        assert_eq!(object_size(192), 320);
    }

    #[test]
    fn a_cache_adds_every_lcore_s_cache_to_the_header() {
        let without = Mempool::pktmbuf_footprint(1023, 0, Mempool::DEFAULT_DATA_ROOM, 0);
        let with = Mempool::pktmbuf_footprint(1023, 256, Mempool::DEFAULT_DATA_ROOM, 0);
        assert!(with - without > 128 * 8 * 512);
    }
}
