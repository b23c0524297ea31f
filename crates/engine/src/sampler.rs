//! The sampler: a thread beside the workers that, every 10 ms, copies the ports' link states,
//! the drivers' port counters and the packet pool's levels into the stats segment, counts the
//! samples that found the pool dry, appends a sample to the segment's rings and beats its
//! heartbeat.
//!
//! It runs off the hot path (pinned where the mostly idle main lcore runs), so that workers
//! never make a driver call for stats, and every reader (the engine's own `stats()`
//! included) sees fresh numbers and a live heartbeat without asking the engine.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dpdk::Port;
use stats::Scalar;

use crate::bring_up::pin_to;
use crate::links::LinkSource;
use crate::plan::Plan;
use crate::worker::Shared;

/// Samples into the stats segment every 10 ms until finished or dropped.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    port_ids: Arc<[u16]>,
    links: Arc<[LinkSource]>,
    /// Whether the segment has the test-only counter (`FASTPATH_TEST_COUNTER`).
    test_counter: bool,
}

/// Publishes every port's link state ([`LinkSource`]) as `port/linkUp`: readers see it,
/// and workers read it there instead of asking the driver on their hot path.
fn publish_links(segment: &stats::Segment, links: &[LinkSource]) {
    for (p, link) in links.iter().enumerate() {
        segment.set_link_up(p, link.read());
    }
}

/// One sample: the links, the drivers' counters, the pool, the ring, the heartbeat.
fn tick(shared: &Shared, port_ids: &[u16], links: &[LinkSource], test_counter: bool) {
    let segment = &shared.segment;
    publish_links(segment, links);
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
            segment.set_driver(p, values);
            segment.set_queues(p, &d.queues);
        }
    }
    let available = shared.pool.available();
    segment.set(Scalar::MempoolAvailable, u64::from(available));
    segment.set(Scalar::MempoolInUse, u64::from(shared.pool.in_use()));
    // Software PMDs count no rx_nombuf: the engine watches the pool itself.
    if (available as usize) < dpdk::BURST_SIZE {
        segment.add(Scalar::MempoolDrySamples, 1);
    }
    if test_counter {
        // One per sample for every element, counted by worker 0 (the sampler is its only
        // writer, as a worker is of its own counters).
        for element in 0.. {
            let Some(counter) = segment.extra(0, 0, element) else {
                break;
            };
            counter.store(counter.load(Relaxed) + 1, Relaxed);
        }
    }
    segment.sample();
    segment.beat();
}

impl Sampler {
    /// Starts the thread, pinned to the main lcore's CPU of `plan`; `port_ids` are the DPDK
    /// ids of its ports, in port-index order (an `net_af_packet` port's link is read from its
    /// kernel interface: [`LinkSource`]).
    pub(crate) fn start(
        shared: Arc<Shared>,
        port_ids: Vec<u16>,
        plan: &Plan,
        test_counter: bool,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cpu = plan
            .eal
            .cpus
            .first()
            .map_or(plan.eal.main_lcore, |&(_, cpu)| cpu);
        let links: Arc<[LinkSource]> = port_ids
            .iter()
            .zip(&plan.ports)
            .map(|(&id, p)| LinkSource::new(id, p.spec.af_packet_interface()))
            .collect();
        // Before any worker runs: they read the links from the first loop on.
        publish_links(&shared.segment, &links);
        let port_ids: Arc<[u16]> = port_ids.into();
        let (flag, thread_shared, ids, thread_links) = (
            Arc::clone(&stop),
            Arc::clone(&shared),
            Arc::clone(&port_ids),
            Arc::clone(&links),
        );
        let thread = std::thread::Builder::new()
            .name("fastpath-sampler".into())
            .spawn(move || {
                // Keep off the workers' CPUs: run where the (mostly idle) main lcore runs.
                pin_to(cpu);
                while !flag.load(Relaxed) {
                    tick(&thread_shared, &ids, &thread_links, test_counter);
                    std::thread::park_timeout(Duration::from_millis(stats::SAMPLE_PERIOD_MS));
                }
            })
            .ok();
        Self {
            stop,
            thread,
            shared,
            port_ids,
            links,
            test_counter,
        }
    }

    /// Stops the thread and takes one last sample on this one: the counters' final values
    /// (called once the workers have returned, while the ports are still open).
    pub(crate) fn finish(mut self) {
        self.halt();
        tick(&self.shared, &self.port_ids, &self.links, self.test_counter);
    }

    fn halt(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.halt();
    }
}
