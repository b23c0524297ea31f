//! A worker's writer into its lane of a capture ring (the layout is in `capture/ring.rs`).

use std::sync::atomic::Ordering;

use super::{put, Ring, LANE_HEADER, L_CAPTURED, L_DROPPED, L_HEAD, L_TAIL, PAD, RECORD_HEADER};

/// A worker's writer into its lane for one burst: [`Writer::push`] copies, dropping (and
/// counting) what does not fit; dropping the writer publishes the copies.
#[derive(Debug)]
pub struct Writer<'a> {
    ring: &'a Ring,
    off: usize,
    data: usize,
    head: u64,
    tail: u64,
    captured: u64,
    dropped: u64,
}

impl<'a> Writer<'a> {
    /// The writer of the lane at `off` in `ring`.
    #[inline]
    pub(super) fn new(ring: &'a Ring, off: usize) -> Self {
        Self {
            ring,
            off,
            data: off + LANE_HEADER,
            head: ring.atomic64(off + L_HEAD).load(Ordering::Relaxed),
            tail: ring.atomic64(off + L_TAIL).load(Ordering::Acquire),
            captured: 0,
            dropped: 0,
        }
    }

    /// Copies `bytes` (already cut to the snaplen) as a record; `false`, counted as dropped,
    /// when the lane has no room.
    #[inline]
    pub fn push(&mut self, port: u16, flags: u16, tsc: u64, orig_len: u32, bytes: &[u8]) -> bool {
        let size = self.ring.lane_bytes;
        let need = (RECORD_HEADER + bytes.len()).next_multiple_of(8);
        let pos = (self.head as usize) & (size - 1);
        let rest = size - pos;
        let skip = if rest < need { rest } else { 0 };
        if need > size / 2 || self.head + (skip + need) as u64 - self.tail > size as u64 {
            self.dropped += 1;
            return false;
        }
        let base = self.ring.base.as_ptr();
        // SAFETY: the lane's bytes from `pos` on are free (the reader is past them: checked
        // against its tail above), in bounds (`need` ≤ `rest` after a skip), and only this
        // worker writes them until the head below publishes them.
        unsafe {
            let mut at = base.add(self.data + pos);
            if skip > 0 {
                if skip >= RECORD_HEADER {
                    put(at, &(skip as u32).to_ne_bytes());
                    put(at.add(6), &PAD.to_ne_bytes());
                }
                at = base.add(self.data);
            }
            put(at, &(need as u32).to_ne_bytes());
            put(at.add(4), &port.to_ne_bytes());
            put(at.add(6), &flags.to_ne_bytes());
            put(at.add(8), &orig_len.to_ne_bytes());
            put(at.add(12), &(bytes.len() as u32).to_ne_bytes());
            put(at.add(16), &tsc.to_ne_bytes());
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), at.add(RECORD_HEADER), bytes.len());
        }
        self.head += (skip + need) as u64;
        self.captured += 1;
        true
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        let ring = self.ring;
        ring.atomic64(self.off + L_HEAD)
            .store(self.head, Ordering::Release);
        if self.captured > 0 {
            let c = ring.atomic64(self.off + L_CAPTURED);
            c.store(c.load(Ordering::Relaxed) + self.captured, Ordering::Relaxed);
        }
        if self.dropped > 0 {
            let d = ring.atomic64(self.off + L_DROPPED);
            d.store(d.load(Ordering::Relaxed) + self.dropped, Ordering::Relaxed);
        }
    }
}
