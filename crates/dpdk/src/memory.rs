//! EAL's memory as it came up: the memsegs (the pages EAL mapped, with their virtual and
//! IO addresses), the runs of IOVA-contiguous memory they form (the fragmentation a device
//! doing DMA sees), and the malloc heaps' use per NUMA socket.

use std::ffi::c_void;
use std::os::raw::c_int;

/// One page EAL mapped (an allocated `rte_memseg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memseg {
    /// Virtual address.
    pub va: u64,
    /// IO address (what a device uses for DMA); `u64::MAX` when unknown.
    pub iova: u64,
    /// Bytes.
    pub len: u64,
    /// Page size backing it.
    pub page_size: u64,
    /// NUMA socket (-1: any).
    pub socket: i32,
}

/// A run of memsegs contiguous in both virtual and IO address space: one block a device
/// can DMA to without scatter-gather.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IovaRun {
    /// Virtual address of the first byte.
    pub va: u64,
    /// IO address of the first byte.
    pub iova: u64,
    /// Bytes.
    pub len: u64,
    /// Page size.
    pub page_size: u64,
    /// NUMA socket.
    pub socket: i32,
    /// Memsegs in the run.
    pub segments: u32,
}

/// A NUMA socket's malloc heap (`rte_malloc_get_socket_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeapStats {
    /// Socket id.
    pub socket: i32,
    /// Bytes the heap holds (the pages EAL gave it).
    pub total: u64,
    /// Bytes allocated from it.
    pub allocated: u64,
    /// Largest free block.
    pub largest_free: u64,
}

unsafe extern "C" fn collect(
    _msl: *const dpdk_sys::rte_memseg_list,
    ms: *const dpdk_sys::rte_memseg,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: EAL passes a valid memseg for the walk's duration; `arg` is the Vec that
    // `memsegs` passed, borrowed mutably for the walk only.
    let (ms, out) = unsafe { (&*ms, &mut *arg.cast::<Vec<Memseg>>()) };
    out.push(Memseg {
        // SAFETY: both union members are the same 64 bits.
        va: unsafe { ms.__bindgen_anon_1.addr_64 },
        iova: ms.iova,
        len: ms.len as u64,
        page_size: ms.hugepage_sz,
        socket: ms.socket_id,
    });
    0
}

/// Every allocated memseg, list by list in address order. Needs EAL to be up; any thread.
pub fn memsegs() -> Vec<Memseg> {
    let mut out: Vec<Memseg> = Vec::new();
    // SAFETY: the callback only pushes into `out`, which outlives the walk; rte_memseg_walk
    // takes the memory hotplug read lock itself.
    unsafe { dpdk_sys::rte_memseg_walk(Some(collect), (&raw mut out).cast()) };
    out
}

/// Groups consecutive memsegs that continue each other in virtual and IO address space
/// (same page size and socket) into runs.
pub fn iova_runs(segments: &[Memseg]) -> Vec<IovaRun> {
    let mut runs: Vec<IovaRun> = Vec::new();
    for s in segments {
        if let Some(last) = runs.last_mut() {
            let continues = last.va + last.len == s.va
                && s.iova != u64::MAX
                && last.iova.checked_add(last.len) == Some(s.iova)
                && last.page_size == s.page_size
                && last.socket == s.socket;
            if continues {
                last.len += s.len;
                last.segments += 1;
                continue;
            }
        }
        runs.push(IovaRun {
            va: s.va,
            iova: s.iova,
            len: s.len,
            page_size: s.page_size,
            socket: s.socket,
            segments: 1,
        });
    }
    runs
}

/// The malloc heap of every NUMA socket EAL knows. Needs EAL to be up.
pub fn heap_stats() -> Vec<HeapStats> {
    // SAFETY: plain getters once EAL is up.
    let sockets = unsafe { dpdk_sys::rte_socket_count() };
    (0..sockets)
        .filter_map(|i| {
            // SAFETY: `i` is below rte_socket_count().
            let socket = unsafe { dpdk_sys::rte_socket_id_by_idx(i) };
            let mut s = dpdk_sys::rte_malloc_socket_stats::default();
            // SAFETY: `s` is a valid out-pointer for this socket's stats.
            let read = unsafe { dpdk_sys::rte_malloc_get_socket_stats(socket, &mut s) } == 0;
            read.then_some(HeapStats {
                socket,
                total: s.heap_totalsz_bytes as u64,
                allocated: s.heap_allocsz_bytes as u64,
                largest_free: s.greatest_free_size as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB2: u64 = 2 << 20;

    fn seg(va: u64, iova: u64) -> Memseg {
        Memseg {
            va,
            iova,
            len: MB2,
            page_size: MB2,
            socket: 0,
        }
    }

    #[test]
    fn pages_contiguous_in_both_spaces_form_one_run() {
        let base = 0x1_0000_0000;
        let runs = iova_runs(&[seg(base, 0x4000_0000), seg(base + MB2, 0x4000_0000 + MB2)]);
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].len, runs[0].segments), (2 * MB2, 2));
    }

    #[test]
    fn a_jump_in_iova_or_va_starts_a_new_run() {
        let base = 0x1_0000_0000;
        // VA-contiguous, IOVA jumps (physical pages scattered: IOVA as PA).
        let runs = iova_runs(&[
            seg(base, 0x4000_0000),
            seg(base + MB2, 0x8000_0000),
            seg(base + 2 * MB2, 0x8000_0000 + MB2),
            // IOVA-contiguous but a hole in VA.
            seg(base + 4 * MB2, 0x8000_0000 + 2 * MB2),
        ]);
        assert_eq!(
            runs.iter().map(|r| r.segments).collect::<Vec<_>>(),
            [1, 2, 1]
        );
    }

    #[test]
    fn unknown_iova_never_joins() {
        let runs = iova_runs(&[seg(0, u64::MAX), seg(MB2, u64::MAX)]);
        assert_eq!(runs.len(), 2);
    }
}
