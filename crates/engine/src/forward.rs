//! The io-forward poll loop: `rx_burst` → `tx_burst` per direction, like testpmd's `io` mode.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use dpdk::{Burst, RxQueue, TxQueue};

/// One direction's counters, alone on its cache line(s). Written by exactly one lcore with
/// plain relaxed stores once per burst; read by anyone.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct DirectionCounters {
    /// Packets received from the rx port.
    pub rx_packets: AtomicU64,
    /// Packets the tx port took.
    pub tx_packets: AtomicU64,
    /// Packets received but dropped because the tx queue was full.
    pub dropped: AtomicU64,
    /// Rx polls that returned at least one packet.
    pub busy_polls: AtomicU64,
}

/// What one lcore polls.
#[derive(Debug)]
pub struct Lane {
    /// Where packets come from.
    pub rx: RxQueue,
    /// Where they go.
    pub tx: TxQueue,
    /// Index into the engine's counter array.
    pub counters: usize,
}

/// Runs until `stop` is set. Returns the lcore's exit code (0).
pub fn io_forward(
    mut lanes: Vec<Lane>,
    counters: &Arc<[DirectionCounters]>,
    stop: &AtomicBool,
) -> i32 {
    // Local running totals: each shared counter is only ever stored, never loaded, here.
    let mut totals = vec![[0u64; 4]; lanes.len()];
    let mut burst = Burst::new();
    while !stop.load(Relaxed) {
        for (lane, total) in lanes.iter_mut().zip(totals.iter_mut()) {
            let received = lane.rx.recv(&mut burst);
            if received == 0 {
                continue;
            }
            let sent = lane.tx.send(&mut burst);
            let dropped = burst.free_all();
            total[0] += received as u64;
            total[1] += sent as u64;
            total[2] += dropped as u64;
            total[3] += 1;
            let shared = &counters[lane.counters];
            shared.rx_packets.store(total[0], Relaxed);
            shared.tx_packets.store(total[1], Relaxed);
            shared.dropped.store(total[2], Relaxed);
            shared.busy_polls.store(total[3], Relaxed);
        }
    }
    0
}
