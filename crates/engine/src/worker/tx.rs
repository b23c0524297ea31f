//! A worker's tx side: bursts out of a port's tx queue, what is dropped and why, and the
//! generated packets a port could not take yet.
//!
//! A forwarded packet that cannot go is dropped and counted: `port/txLinkDown` while the
//! port's link is down (the queue is not even tried), `port/txDropped` when its tx queue is
//! full. Holding it instead would let one port whose peer is gone drain the packet pool every
//! port receives into; a kernel interface drops what is sent to it while its carrier is down,
//! and DPDK's own forwarders (testpmd, l2fwd) free what `rte_eth_tx_burst` does not take.
//!
//! A generated packet is held instead, per port, and offered to the queue again on the
//! worker's next iterations, while its generator makes no more (see `Worker::generate`): a
//! generator is the traffic's source, so waiting costs nothing upstream, and a `count`
//! arrives whole however late the link comes up (memif, vhost, `virtio_user` ports come up
//! when their peer connects) and however slow the receiver is. Held packets are at most a
//! burst per port; those still held when the worker leaves are counted as dropped.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dpdk::{Burst, Mbuf, TxQueue};
use stats::Lane;

use super::plan::Direct;
use super::Worker;
use crate::stages::bump;

impl Worker {
    /// Sends `burst` out of `port`; what does not go is dropped and counted or, when the
    /// packets are generated ones (`holding`), held. Inlined: forwarded packets to
    /// a port whose link is up are a load, the driver's call and a count; the rest is out
    /// of line ([`Self::send_rest`], [`Self::drop_unsent`]).
    #[allow(clippy::inline_always)] // once per burst and port
    #[inline(always)]
    pub(super) fn send_now<const COUNT: bool>(
        &mut self,
        port: u16,
        burst: &mut Burst,
        holding: bool,
    ) {
        let p = usize::from(port);
        if holding || !self.view.link_up(p) {
            return self.send_rest::<COUNT>(p, burst, holding);
        }
        let Some(tx) = &mut self.tx[p] else {
            return self.send_rest::<COUNT>(p, burst, holding);
        };
        if send_up::<COUNT>(tx, self.view.lane(p), burst) {
            self.drop_unsent::<COUNT>(p, burst, true);
        }
    }

    /// [`Self::send_now`] out of `direct`'s port, whose tx queue, link word and lane the
    /// worker's plan resolved: the same, without looking them up.
    #[allow(clippy::inline_always)] // once per burst
    #[inline(always)]
    pub(super) fn send_direct<const COUNT: bool>(
        &mut self,
        direct: &mut Direct,
        burst: &mut Burst,
        holding: bool,
    ) {
        let p = direct.out;
        if holding || direct.link.load(Relaxed) == 0 {
            return self.send_rest::<COUNT>(p, burst, holding);
        }
        if send_up::<COUNT>(&mut direct.tx, direct.out_lane, burst) {
            self.drop_unsent::<COUNT>(p, burst, true);
        }
    }

    /// Frees the forwarded packets port `p` did not take and counts them: `port/txDropped`
    /// when its link is `up` (its queue was full, or this worker has none there), else
    /// `port/txLinkDown`.
    #[inline(never)]
    fn drop_unsent<const COUNT: bool>(&mut self, p: usize, burst: &mut Burst, up: bool) {
        let lost = burst.free_all();
        if COUNT && lost > 0 {
            bump(self.lost_counter(p, up), lost as u64);
        }
    }

    /// Where packets port `p` could not take are counted: `port/txDropped` while its link is
    /// `up`, else `port/txLinkDown`.
    fn lost_counter(&self, p: usize, up: bool) -> &AtomicU64 {
        let lane = self.view.lane(p);
        if up {
            &lane.tx_dropped
        } else {
            &lane.tx_link_down
        }
    }

    /// The rest of [`Self::send_now`] and [`Self::send_direct`]: generated packets (sent
    /// behind those already held, and held when they cannot go), and packets for a port
    /// whose link is down or on which this worker has no tx queue.
    #[inline(never)]
    fn send_rest<const COUNT: bool>(&mut self, p: usize, burst: &mut Burst, holding: bool) {
        let up = self.view.link_up(p);
        // Generated packets queue behind those already held for the port, in order.
        let behind = holding && !self.held[p].is_empty();
        let sent = match &mut self.tx[p] {
            Some(tx) if up && !behind => tx.send(burst),
            _ => 0,
        };
        if COUNT {
            bump(&self.view.lane(p).tx_packets, sent as u64);
        }
        if !(holding && self.tx[p].is_some()) {
            return self.drop_unsent::<COUNT>(p, burst, up);
        }
        let lost = self.hold(p, burst);
        if COUNT && lost > 0 {
            bump(self.lost_counter(p, up), lost as u64);
        }
    }

    /// Moves what `burst` holds to port `p`'s held packets; frees (and returns the number
    /// of) those that do not fit.
    fn hold(&mut self, p: usize, burst: &mut Burst) -> usize {
        let held = &mut self.held[p];
        let mut lost = 0;
        for m in burst.drain() {
            match held.push(m) {
                Ok(()) => self.held_packets += 1,
                Err(m) => {
                    drop(m);
                    lost += 1;
                }
            }
        }
        lost
    }

    /// Offers the packets held for each port whose link is up to its tx queue again;
    /// returns whether any went.
    #[inline]
    pub(super) fn retry_held<const COUNT: bool>(&mut self) -> bool {
        if self.held_packets == 0 {
            return false;
        }
        let mut any = false;
        for p in 0..self.held.len() {
            if self.held[p].is_empty() || !self.view.link_up(p) {
                continue;
            }
            let Some(tx) = &mut self.tx[p] else {
                continue;
            };
            let sent = tx.send(&mut self.held[p]);
            self.held_packets -= sent;
            if sent > 0 {
                any = true;
                if COUNT {
                    bump(&self.view.lane(p).tx_packets, sent as u64);
                }
            }
        }
        any
    }

    /// Frees what is still held as the worker leaves, counted as dropped (at a full queue,
    /// or at a link that is down), so that every generated packet is counted somewhere.
    pub(super) fn release_held<const COUNT: bool>(&mut self) {
        for p in 0..self.held.len() {
            let n = self.held[p].free_all();
            if COUNT && n > 0 {
                bump(self.lost_counter(p, self.view.link_up(p)), n as u64);
            }
        }
        self.held_packets = 0;
    }

    /// Puts a forwarded packet in `port`'s tx buffer, sending the buffer first when full.
    /// Once per packet: left to itself the compiler made it a call (about 10 instructions a
    /// packet more, by callgrind).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(super) fn enqueue<const COUNT: bool>(&mut self, port: u16, m: Mbuf) {
        if let Err(m) = self.txbufs[usize::from(port)].push(m) {
            self.flush_port::<COUNT>(usize::from(port));
            let _ = self.txbufs[usize::from(port)].push(m);
        }
    }

    /// Sends what every port's tx buffer holds.
    #[inline]
    pub(super) fn flush<const COUNT: bool>(&mut self) {
        for port in 0..self.txbufs.len() {
            if !self.txbufs[port].is_empty() {
                self.flush_port::<COUNT>(port);
            }
        }
    }

    fn flush_port<const COUNT: bool>(&mut self, port: usize) {
        // The buffers leave `self` while one is sent (a Vec's three words move, not a
        // 264-byte burst twice), so that `send_now` may borrow the rest of the worker.
        let mut bufs = std::mem::take(&mut self.txbufs);
        self.send_now::<COUNT>(port as u16, &mut bufs[port], self.holding);
        self.txbufs = bufs;
    }
}

/// Sends `burst` on `tx`, whose port's link is up, counting what the driver took in `lane`;
/// returns whether packets are left (the queue was full), for the caller to drop and count.
#[allow(clippy::inline_always)] // once per burst
#[inline(always)]
fn send_up<const COUNT: bool>(tx: &mut TxQueue, lane: &Lane, burst: &mut Burst) -> bool {
    let sent = tx.send(burst);
    if COUNT {
        bump(&lane.tx_packets, sent as u64);
    }
    !burst.is_empty()
}
