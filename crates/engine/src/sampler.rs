//! The sampler: a thread beside the workers that, every 10 ms, copies the drivers' port
//! counters into the stats segment, watches the packet pool for running dry, appends a sample
//! to the segment's rings and beats its heartbeat.
//!
//! It runs off the hot path (pinned where the mostly idle main lcore runs), so that workers
//! never make a driver call for stats, and readers in other processes see fresh driver numbers
//! and a live heartbeat without asking the engine.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dpdk::Port;

use crate::bring_up::pin_to;
use crate::worker::Shared;

/// Samples the counters into the stats segment's ring and beats its heartbeat every 10 ms
/// until dropped.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts the thread, pinned to `cpu`; `port_ids` are the DPDK ids of the ports, in
    /// port-index order.
    pub(crate) fn start(shared: Arc<Shared>, port_ids: Vec<u16>, cpu: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fastpath-sampler".into())
            .spawn(move || {
                // Keep off the workers' CPUs: run where the (mostly idle) main lcore runs.
                pin_to(cpu);
                while !flag.load(Relaxed) {
                    for (p, &id) in port_ids.iter().enumerate() {
                        if let Ok(d) = Port::stats_of(id) {
                            let values = [
                                d.rx_packets,
                                d.tx_packets,
                                d.rx_bytes,
                                d.tx_bytes,
                                d.rx_missed,
                                d.rx_errors,
                                d.tx_errors,
                                d.rx_nombuf,
                            ];
                            shared.segment.set_driver(p, values);
                            shared.segment.set_queues(p, &d.queues);
                        }
                    }
                    if (shared.pool.available() as usize) < dpdk::BURST_SIZE {
                        shared.pool_dry_samples.fetch_add(1, Relaxed);
                    }
                    shared.segment.sample();
                    shared.segment.beat();
                    std::thread::park_timeout(Duration::from_millis(stats::SAMPLE_PERIOD_MS));
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
