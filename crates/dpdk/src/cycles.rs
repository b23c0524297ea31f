//! The cycle counter DPDK's own timing uses (`rte_rdtsc`, `rte_get_tsc_hz`).

/// The CPU's time-stamp counter: constant-rate on every x86-64 CPU DPDK supports, a few
/// cycles to read, not serialising (what `rte_rdtsc` does). Elsewhere, a monotonic
/// nanosecond clock, with [`tsc_hz`] saying 10⁹.
#[inline]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86-64.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    }
}

/// [`tsc`] ticks per second, as EAL measured it at init (0 before EAL has started).
pub fn tsc_hz() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: a plain getter of a value EAL set at init (0 before).
        unsafe { dpdk_sys::rte_get_tsc_hz() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        1_000_000_000
    }
}
