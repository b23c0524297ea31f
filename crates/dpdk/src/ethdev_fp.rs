//! `rte_eth_rx_burst` and `rte_eth_tx_burst`, which DPDK 22.11 writes as `static inline`
//! functions in `rte_ethdev.h`, written again here over the same public table,
//! `rte_eth_fp_ops`, so that they inline into the worker's loop: the calls through a C
//! shim they replace cost 32 instructions a burst, rx and tx together (their prologues,
//! epilogues and argument moves; 1.0 a packet, by callgrind in io mode).
//!
//! Both follow the header line by line: the driver's burst function and queue data are read
//! from the port's entry on every call (DPDK rewrites them when a port starts or stops), and
//! the rx/tx callbacks this build of DPDK enables (`RTE_ETHDEV_RXTX_CALLBACKS`, which
//! `dpdk-dumpcap`'s pdump uses) still run. Its fast-path trace points are compiled out
//! (`RTE_ENABLE_TRACE_FP` is off in Debian's build), and so are its debug checks.

use std::ffi::c_void;
use std::ptr::addr_of;
use std::sync::atomic::{AtomicPtr, Ordering};

use dpdk_sys::{rte_eth_fp_ops, rte_mbuf};

use crate::error::DpdkError;

/// The `rte_eth_fp_ops` entry of port `port`, whose address is fixed for the process's
/// life (its contents are not). Fails for an id past `RTE_MAX_ETHPORTS`, which no port has.
pub(crate) fn entry(port: u16) -> Result<*const rte_eth_fp_ops, DpdkError> {
    /// The length of the array `_` points to.
    fn len<T, const N: usize>(_: *const [T; N]) -> usize {
        N
    }
    // Only the static's address is taken; no reference to it is made.
    let table = addr_of!(dpdk_sys::rte_eth_fp_ops);
    if usize::from(port) >= len(table) {
        return Err(DpdkError {
            context: format!("port id {port} is past DPDK's RTE_MAX_ETHPORTS"),
            errno: libc::EINVAL,
        });
    }
    // SAFETY: in bounds (checked above).
    Ok(unsafe { table.cast::<rte_eth_fp_ops>().add(usize::from(port)) })
}

/// The callback list head of queue `queue` in `clbk`, loaded as DPDK loads it (relaxed: the
/// release when a callback is inserted orders its contents).
///
/// # Safety
/// `clbk` is a port's rx or tx callback array, which has an entry for `queue`.
#[inline]
unsafe fn callbacks(clbk: *mut *mut c_void, queue: u16) -> *mut c_void {
    // SAFETY: in the array (the caller's promise); DPDK writes it atomically.
    unsafe { (*clbk.add(usize::from(queue)).cast::<AtomicPtr<c_void>>()).load(Ordering::Relaxed) }
}

/// `rte_eth_rx_burst(port, queue, pkts, n)`.
///
/// # Safety
/// `ops` is [`entry`]`(port)`; `queue` is a configured rx queue of the port that only this
/// thread polls; `pkts` has room for `n` pointers.
#[allow(clippy::inline_always)] // once per burst, in the worker's loop
#[inline(always)]
pub(crate) unsafe fn rx_burst(
    ops: *const rte_eth_fp_ops,
    port: u16,
    queue: u16,
    pkts: *mut *mut rte_mbuf,
    n: u16,
) -> u16 {
    // SAFETY: the fields are read by value through the pointer, as the C header reads them
    // (DPDK rewrites them only while the port is stopped, when no worker polls it); the
    // queue arrays have an entry for a configured queue.
    unsafe {
        let data = *(*ops).rxq.data.add(usize::from(queue));
        // A port that is not started has DPDK's dummy burst function here, never null.
        let Some(burst) = (*ops).rx_pkt_burst else {
            return 0;
        };
        let got = burst(data, pkts, n);
        let cb = callbacks((*ops).rxq.clbk, queue);
        if cb.is_null() {
            got
        } else {
            dpdk_sys::rte_eth_call_rx_callbacks(port, queue, pkts, got, n, cb)
        }
    }
}

/// `rte_eth_tx_burst(port, queue, pkts, n)`.
///
/// # Safety
/// As [`rx_burst`], for a configured tx queue only this thread sends on; the first `n`
/// pointers of `pkts` are mbufs the caller owns (those taken are the driver's).
#[allow(clippy::inline_always)] // once per burst, in the worker's loop
#[inline(always)]
pub(crate) unsafe fn tx_burst(
    ops: *const rte_eth_fp_ops,
    port: u16,
    queue: u16,
    pkts: *mut *mut rte_mbuf,
    n: u16,
) -> u16 {
    // SAFETY: as in `rx_burst`.
    unsafe {
        let data = *(*ops).txq.data.add(usize::from(queue));
        let cb = callbacks((*ops).txq.clbk, queue);
        let n = if cb.is_null() {
            n
        } else {
            dpdk_sys::rte_eth_call_tx_callbacks(port, queue, pkts, n, cb)
        };
        match (*ops).tx_pkt_burst {
            Some(burst) => burst(data, pkts, n),
            None => 0,
        }
    }
}
