//! The poll-mode loop each worker lcore runs: `rx_burst` → pipeline stages → `tx_burst`, per
//! (port, queue) it alone owns, plus the generators assigned to it.
//!
//! No locks, no allocation, no syscalls on the hot path. Counters are plain relaxed stores
//! into this worker's own cache lines. The program is picked up afresh at burst boundaries
//! (see [`crate::rcu`]), so a swap never splits a burst between two programs. The busy/idle
//! accounting the loop publishes for `top` is in `worker/load.rs`; sending, and what happens
//! to packets a port cannot take (its link down, its queue full), in `worker/tx.rs`; what the
//! current program makes of each rx queue's bursts, resolved once per program, in
//! `worker/plan.rs`; the per-packet path (verdicts, floods, drops) in `worker/each.rs`.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpdk::{Burst, Mbuf, Mempool, RxQueue, TxQueue, BURST_SIZE};
use stats::WorkerView;

use crate::compile::Program;
use crate::rcu::{Publisher, OFFLINE};
use crate::stages::generator::{Cursor, Generator};
use crate::stages::{bump, counter, DROP};

mod capture;
mod each;
mod latency;
mod load;
mod plan;
mod tx;
use latency::Stamp;
use load::Load;
use plan::{Direct, Plan, Way};

/// Workers forward and generate.
pub const RUN: u8 = 0;
/// Generators stop; workers forward what is still arriving, then leave once idle.
pub const DRAIN: u8 = 1;
/// Workers leave at once.
pub const STOP: u8 = 2;

/// How long a draining worker must see nothing arrive before it leaves.
const DRAIN_IDLE: Duration = Duration::from_millis(5);
/// The longest a drain lasts (endless sources such as `net_null` never go idle).
const DRAIN_MAX: Duration = Duration::from_millis(100);

/// What the engine and its workers share.
#[derive(Debug)]
pub struct Shared {
    /// The current program.
    pub publisher: Publisher,
    /// [`RUN`], [`DRAIN`] or [`STOP`].
    pub control: AtomicU8,
    /// The packet pool (generators and copies allocate from it).
    pub pool: Mempool,
    /// The shared-memory stats segment; its `workers × ports` lanes (worker-major) are
    /// where the workers count.
    pub segment: Arc<stats::Segment>,
    /// Ports.
    pub ports: usize,
    /// When the engine started (bridge aging counts from here).
    pub epoch: Instant,
    /// Whether workers keep software counters (`stats.counters`).
    pub counting: bool,
    /// Why the engine failed, once a worker's loop has panicked (the first one wins; the
    /// stats segment's `failure` text says the same to every reader).
    pub failure: std::sync::OnceLock<String>,
    /// The lcore whose worker panics as it starts (`FASTPATH_FAULT_PANIC_LCORE`, read once
    /// by the engine at start): the reliability tests' fault injection.
    pub fault_lcore: Option<u32>,
    /// Running live captures (`worker/capture.rs`): checked once per burst.
    pub taps: crate::capture::Taps,
}

impl Shared {
    /// Records that worker `w` (on `lcore`) failed: the engine's `stop` reports it, and the
    /// stats segment carries the text and the failed flag for every reader.
    fn fail(&self, w: usize, lcore: u32, why: &str) {
        let text = format!("worker lcore {lcore} (worker {w}) panicked: {why}; it stopped forwarding. Stop the engine (its ports and memory are released normally) and report this as a bug");
        if self.failure.set(text.clone()).is_ok() {
            self.segment.set_failure(&text);
        }
    }
}

/// Acknowledges [`OFFLINE`] when dropped.
struct Offline<'a> {
    publisher: &'a Publisher,
    worker: usize,
}

impl Drop for Offline<'_> {
    fn drop(&mut self) {
        self.publisher.ack(self.worker, OFFLINE);
    }
}

/// One worker's queues and scratch space.
#[derive(Debug)]
pub struct Worker {
    /// Index among the workers (its tx queue number).
    pub index: usize,
    /// Owned rx queues, with their port index.
    pub rx: Vec<(u16, RxQueue)>,
    /// Its tx queue on each port, where it has one.
    pub tx: Vec<Option<TxQueue>>,
    txbufs: Vec<Burst>,
    /// Per port: generated packets its tx queue has not taken yet (see `worker/tx.rs`).
    held: Vec<Burst>,
    /// Packets in `held`, all ports (0: nothing to retry).
    held_packets: usize,
    /// Whether the packets a per-packet pipeline is sending are generated ones (held, not
    /// dropped, when they cannot go: see `worker/tx.rs`).
    holding: bool,
    trash: Burst,
    copies: Vec<(u16, Mbuf)>,
    cursors: Vec<Cursor>,
    /// Full bursts received while latency is on, for its sampling (`worker/latency.rs`).
    full_bursts: u32,
    /// TSC ticks to ns, 32.32 fixed point (`worker/latency.rs`).
    ns_per_tick: u64,
    /// Probe sequences seen, per generating pipeline slot (`worker/latency.rs`).
    probes_seen: latency::ProbeState,
    /// This worker's lanes, the links and its pipeline counters, addresses resolved once.
    view: WorkerView,
    /// Shared state (last: the pool it holds must outlive the bursts above).
    pub shared: Arc<Shared>,
}

impl Worker {
    /// A worker over these queues.
    pub fn new(
        index: usize,
        rx: Vec<(u16, RxQueue)>,
        tx: Vec<Option<TxQueue>>,
        view: WorkerView,
        shared: Arc<Shared>,
    ) -> Self {
        let ports = tx.len();
        Self {
            index,
            rx,
            tx,
            shared,
            txbufs: (0..ports).map(|_| Burst::new()).collect(),
            held: (0..ports).map(|_| Burst::new()).collect(),
            held_packets: 0,
            holding: false,
            trash: Burst::new(),
            copies: Vec::with_capacity(BURST_SIZE * 4),
            cursors: Vec::new(),
            full_bursts: 0,
            ns_per_tick: latency::ns_per_tick_q32(),
            probes_seen: latency::probe_state(),
            view,
        }
    }

    /// The loop. Returns the lcore's exit code (0, or [`dpdk::lcore::PANICKED`] after a panic,
    /// which is caught here and recorded as the engine's failure).
    pub fn run(self, lcore: u32) -> i32 {
        let shared = Arc::clone(&self.shared);
        let index = self.index;
        let fault = self.shared.fault_lcore == Some(lcore);
        // Two monomorphised loops: with counters off, no counting code is left in the loop.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if self.shared.counting {
                self.poll::<true>(fault)
            } else {
                self.poll::<false>(fault)
            }
        }));
        outcome.unwrap_or_else(|payload| {
            let why = payload
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            shared.fail(index, lcore, &why);
            dpdk::lcore::PANICKED
        })
    }

    fn poll<const COUNT: bool>(mut self, fault: bool) -> i32 {
        let shared = Arc::clone(&self.shared);
        let publisher = &shared.publisher;
        // However the loop ends (a panic included), this worker stops reading programs and
        // says so, so that `apply` never waits for it.
        let _offline = Offline {
            publisher,
            worker: self.index,
        };
        let mut generation = publisher.generation();
        // SAFETY: we are worker `index`; the reference is dropped before every newer ack.
        let mut program: &Program = unsafe { publisher.load() };
        publisher.ack(self.index, generation);
        self.cursors = vec![Cursor::default(); program.pipelines.len()];
        let mut burst = Burst::new();
        // The rx queues leave `self` for the loop's life, in the plan that says where the
        // program sends what each receives (`worker/plan.rs`), so that polling them borrows
        // nothing the pipelines need (and the loop over them has no bounds checks).
        let view = self.view.clone();
        let mut plan = Plan::new(self.index, std::mem::take(&mut self.rx), &view);
        plan.follow(program, &self.tx);
        let mut drain: Option<(Instant, Instant)> = None;
        // Iterations and TSC cycles, busy and idle, published to the stats segment every 64
        // iterations (busy % in `top`). The TSC is read where the state changes: as the
        // first packets of a busy iteration after idle ones arrive (the time before was
        // idle), at the end of the first idle iteration after busy ones (the time before was
        // busy), and at each publication. A saturated (or idle) lcore reads it once per 64
        // iterations, not once per iteration.
        let loops = shared.segment.loops(self.index);
        let mut load = Load::new(COUNT);
        assert!(
            !fault,
            "fault injected by FASTPATH_FAULT_PANIC_LCORE (a test of panic containment)"
        );
        loop {
            let state = shared.control.load(Relaxed);
            if state == STOP {
                break;
            }
            let latest = publisher.generation();
            if latest != generation {
                // Burst boundary: nothing of the old program is held here but the plan,
                // which follows the new one before the ack releases the old.
                // SAFETY: as above; the ack below releases the old reference.
                program = unsafe { publisher.load() };
                generation = latest;
                plan.follow(program, &self.tx);
                self.cursors = vec![Cursor::default(); program.pipelines.len()];
                publisher.ack(self.index, generation);
            }
            let mut busy = false;
            for input in &mut plan.inputs {
                if input.queue.recv(&mut burst) == 0 {
                    continue;
                }
                if COUNT && !busy {
                    load.work_starts();
                }
                busy = true;
                let n = burst.len() as u64;
                if COUNT {
                    bump(&input.lane.rx_packets, n);
                    bump(&input.lane.busy_polls, 1);
                }
                let stamp = if plan.timing {
                    self.time_rx(program, &mut burst)
                } else {
                    Stamp::NONE
                };
                let source = Source::Received(input.port, stamp);
                match &mut input.way {
                    Way::Direct(direct) => {
                        self.forward::<COUNT>(program, direct, source, &mut burst);
                    }
                    Way::Pipeline(p) => self.process::<COUNT>(program, *p, source, &mut burst),
                    Way::Unrouted => {
                        if COUNT {
                            bump(&input.lane.unrouted, n);
                        }
                        burst.free_all();
                    }
                }
            }
            if self.held_packets > 0 || !plan.generators.is_empty() {
                if COUNT && !busy {
                    // Held packets or a generator may make this iteration busy.
                    load.work_starts();
                }
                busy |=
                    self.send_and_make::<COUNT>(program, state, &mut plan.generators, &mut burst);
            }
            if state != RUN {
                let now = Instant::now();
                let (started, last_busy) = drain.get_or_insert((now, now));
                if busy {
                    *last_busy = now;
                }
                if now - *last_busy >= DRAIN_IDLE || now - *started >= DRAIN_MAX {
                    break;
                }
            }
            if COUNT {
                load.iteration_ends(busy, loops);
            }
        }
        self.release_held::<COUNT>();
        0
    }

    /// Offers the held packets to their ports again (also while draining), then, in `state`
    /// [`RUN`], makes a burst with each of `generators` (the plan's); returns whether any
    /// packet went or was made. A generator whose count is made leaves the list: under this
    /// program it makes nothing more, so the loop stops asking (a new program lists it
    /// again). Out of the loop: a forwarding-only worker with nothing held never calls it.
    #[inline(never)]
    fn send_and_make<const COUNT: bool>(
        &mut self,
        program: &Program,
        state: u8,
        generators: &mut Vec<(usize, Option<Direct>)>,
        burst: &mut Burst,
    ) -> bool {
        let mut busy = self.retry_held::<COUNT>();
        if state != RUN {
            return busy;
        }
        let mut g = 0;
        while let Some((p, direct)) = generators.get_mut(g) {
            if program.pipelines[*p]
                .generator
                .as_ref()
                .is_none_or(Generator::exhausted)
            {
                generators.remove(g);
                continue;
            }
            busy |= self.generate::<COUNT>(program, *p, direct.as_mut(), burst);
            g += 1;
        }
        busy
    }

    /// Makes one burst for pipeline `p` (`direct`, when it is a [`Flow::Whole`](crate::compile::Flow::Whole) one);
    /// returns whether it made any packet.
    fn generate<const COUNT: bool>(
        &mut self,
        program: &Program,
        p: usize,
        direct: Option<&mut Direct>,
        burst: &mut Burst,
    ) -> bool {
        let pipeline = &program.pipelines[p];
        let Some(generator) = &pipeline.generator else {
            return false;
        };
        // Nothing is made for a port whose link is down or which has not taken the last
        // burst yet: a `count` is not spent on packets that could only be dropped.
        let out = usize::from(generator.out);
        if !self.held[out].is_empty() || !self.view.link_up(out) {
            return false;
        }
        // One TSC read per burst: the pace, and the probes' stamp.
        let now = if generator.ticks_per_packet.is_some() || generator.probe_slot.is_some() {
            dpdk::tsc()
        } else {
            0
        };
        let (want, missed) = generator.pace(&mut self.cursors[p], now);
        if COUNT && missed > 0 {
            bump(
                &self.view.pipeline(pipeline.slot)[counter::PACE_MISSED],
                missed,
            );
        }
        if want == 0 {
            return false;
        }
        let allocated = burst.alloc_from(&self.shared.pool, want);
        if allocated == 0 {
            return false;
        }
        // Claim after allocating, so a claimed packet is always made; the rest go back.
        let (first, granted) = generator.claim_from(allocated);
        burst.truncate(granted);
        if granted == 0 {
            return false;
        }
        let cursor = &mut self.cursors[p];
        Generator::paced(cursor, granted);
        for (k, m) in burst.as_mut_slice().iter_mut().enumerate() {
            if m.set_len(generator.next_len(cursor)) {
                generator.write(cursor, m.data_mut(), (first + k as u64, now));
            }
        }
        if COUNT {
            bump(
                &self.view.pipeline(pipeline.slot)[counter::GENERATED],
                granted as u64,
            );
        }
        match direct {
            Some(direct) => self.forward::<COUNT>(program, direct, Source::Generated, burst),
            None => self.process::<COUNT>(program, p, Source::Generated, burst),
        }
        true
    }

    /// Runs a [`Flow::Whole`](crate::compile::Flow::Whole) pipeline, resolved as `direct`, over a burst from `source`,
    /// and sends the burst out of its one port. Inlined into the loop: forwarding a burst
    /// received on a port whose output's link is up costs no call but the drivers'.
    #[allow(clippy::inline_always)] // once per burst; a call here cost ~17 instructions a burst
    #[inline(always)]
    fn forward<const COUNT: bool>(
        &mut self,
        program: &Program,
        direct: &mut Direct,
        source: Source,
        burst: &mut Burst,
    ) {
        let (in_port, stamp, generated) = source.parts();
        let pipeline = direct.pipeline;
        let n = burst.len() as u64;
        let capturing = self.shared.taps.any();
        if capturing {
            self.capture_input(pipeline, in_port, burst.as_slice());
        }
        for stage in &pipeline.stages {
            stage.rewrite_all(
                burst.as_mut_slice(),
                pipeline.default_out,
                &program.port_macs,
            );
        }
        if capturing {
            let all = capture::Verdicts::All(pipeline.default_out);
            self.capture_verdicts(pipeline, in_port, burst.as_slice(), &all, &[]);
        }
        if COUNT {
            bump(&direct.counters[counter::IN], n);
            bump(&direct.counters[counter::OUT], n);
        }
        self.send_direct::<COUNT>(direct, burst, generated);
        self.record_latency(program, pipeline.slot, n, stamp);
    }
}

/// Where a burst came from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Received on this port, at this time.
    Received(u16, Stamp),
    /// Made by the pipeline's generator: no port, no rx time, and held rather than dropped
    /// when its port cannot take it yet (`worker/tx.rs`).
    Generated,
}

impl Source {
    /// (the port it came in on or [`DROP`], its rx time, whether it is generated).
    #[inline]
    fn parts(self) -> (u16, Stamp, bool) {
        match self {
            Self::Received(port, stamp) => (port, stamp, false),
            Self::Generated => (DROP, Stamp::NONE, true),
        }
    }
}
