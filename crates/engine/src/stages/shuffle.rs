//! The MAC swap of `macSwap` and `fiveTupleSwap` over a whole burst, as one byte shuffle of
//! each frame's first 16 bytes where the CPU can (`pshufb`, SSSE3), as testpmd's `macswap`
//! does it: a load, a shuffle and a store a packet, where the portable
//! [`net::swap_macs`] takes nine instructions (callgrind: macswap 154.8 → 148.8 a packet).
//! SSSE3 is in every x86-64 CPU since 2006 but not in Rust's x86-64 baseline, so it is
//! checked once per burst (std caches the answer).

use super::each_prefetched;
use crate::net;

/// Swaps the source and destination MAC of every packet of `pkts`, then calls `then` with
/// the packet's bytes (for what else a stage swaps).
#[inline]
pub(super) fn swap_macs_then(pkts: &mut [dpdk::Mbuf], mut then: impl FnMut(&mut [u8])) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3 (checked).
        unsafe { ssse3::swap_macs_then(pkts, then) };
        return;
    }
    each_prefetched(pkts, |_, d| {
        net::swap_macs(d);
        then(d);
    });
}

#[cfg(target_arch = "x86_64")]
mod ssse3 {
    use std::arch::x86_64::{_mm_loadu_si128, _mm_setr_epi8, _mm_shuffle_epi8, _mm_storeu_si128};

    use super::each_prefetched;
    use crate::net;

    /// [`super::swap_macs_then`] with the shuffle (the loop is here, so that the shuffle
    /// inlines into it).
    ///
    /// # Safety
    /// Only on a CPU with SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn swap_macs_then(pkts: &mut [dpdk::Mbuf], mut then: impl FnMut(&mut [u8])) {
        each_prefetched(pkts, |_, d| {
            swap_macs(d);
            then(d);
        });
    }

    /// [`net::swap_macs`] as a shuffle of the first 16 bytes (shorter frames: the portable
    /// swap).
    #[target_feature(enable = "ssse3")]
    #[inline]
    pub(super) fn swap_macs(d: &mut [u8]) {
        if let Some(head) = d.first_chunk_mut::<16>() {
            // Bytes 6-11 (source) to 0-5, 0-5 (destination) to 6-11; 12-15 stay.
            let order = _mm_setr_epi8(6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15);
            // SAFETY: 16 bytes of the packet; unaligned loads and stores are allowed.
            unsafe {
                let x = _mm_loadu_si128(head.as_ptr().cast());
                _mm_storeu_si128(head.as_mut_ptr().cast(), _mm_shuffle_epi8(x, order));
            }
        } else {
            net::swap_macs(d);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use crate::net;

    #[test]
    fn the_shuffle_swaps_what_the_portable_swap_does_at_every_length() {
        if !std::is_x86_feature_detected!("ssse3") {
            eprintln!("skipped: this CPU has no SSSE3 (the portable swap runs instead)");
            return;
        }
        for len in 0..=64usize {
            let frame: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let (mut shuffled, mut portable) = (frame.clone(), frame.clone());
            // SAFETY: the CPU has SSSE3 (checked above).
            unsafe { super::ssse3::swap_macs(&mut shuffled) };
            net::swap_macs(&mut portable);
            assert_eq!(shuffled, portable, "{len}-byte frame");
            if len >= 12 {
                assert_eq!(shuffled[..6], frame[6..12]);
                assert_eq!(shuffled[6..12], frame[..6]);
                assert_eq!(shuffled[12..], frame[12..]);
            }
        }
    }
}
