//! What a worker runs under the current program, worked out when the program changes
//! rather than on every burst: where each of its rx queues' bursts go, and which generators
//! it runs.
//!
//! For the common pipeline, whose whole burst goes out of one port ([`Flow::Whole`]: plain
//! forwarding, MAC rewrites and swaps), what the loop touches per burst (the pipeline, its
//! counters, the output port's tx queue, lane and link word) is resolved here once, so that
//! forwarding a burst reads it from one place, with no lookup of the pipeline, its counters
//! or its output (about 45 of the loop's instructions per burst, by callgrind).

use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;

use dpdk::{RxQueue, TxQueue};
use stats::{Lane, WorkerView, PIPELINE_FIELDS};

use crate::compile::{Flow, Pipeline, Program};

/// A worker's part of the current program.
pub(super) struct Plan<'a> {
    /// Its rx queues.
    pub inputs: Vec<Input<'a>>,
    /// The generators it runs: a pipeline index, and the pipeline resolved when it is a
    /// [`Flow::Whole`] one. A generator whose count is made leaves the list until the next
    /// program.
    pub generators: Vec<(usize, Option<Direct<'a>>)>,
    /// Whether received bursts are timed (latency) or looked into (probes).
    pub timing: bool,
    view: &'a WorkerView,
    worker: usize,
}

/// One of the worker's rx queues.
pub(super) struct Input<'a> {
    /// Its port index.
    pub port: u16,
    pub queue: RxQueue,
    /// This worker's lane for the port: where what it receives is counted.
    pub lane: &'a Lane,
    /// Where the current program sends what it receives.
    pub way: Way<'a>,
}

/// Where a received burst goes under the current program.
pub(super) enum Way<'a> {
    /// A [`Flow::Whole`] pipeline, resolved.
    Direct(Direct<'a>),
    /// The pipeline at this index, through `Worker::process` (its stages decide per packet,
    /// or it drops everything).
    Pipeline(usize),
    /// No pipeline takes the port's packets: they are counted (`unrouted`) and freed.
    Unrouted,
}

/// A pipeline that sends every packet out of one port, ready to run.
pub(super) struct Direct<'a> {
    pub pipeline: &'a Pipeline,
    /// The output port's index (below the port count).
    pub out: usize,
    /// The worker's tx queue there (a second handle on `Worker::tx[out]`: the worker uses
    /// one at a time, on its own thread).
    pub tx: TxQueue,
    /// This worker's counters for the pipeline.
    pub counters: &'a [AtomicU64; PIPELINE_FIELDS],
    /// This worker's lane for the output port.
    pub out_lane: &'a Lane,
    /// The output port's link word (non-zero: up).
    pub link: &'a AtomicU64,
    /// Not `Send`: `tx` is a second handle on a queue the worker also holds, so both must
    /// stay on the worker's thread.
    _one_thread: PhantomData<*const ()>,
}

impl<'a> Plan<'a> {
    /// Worker `worker`'s plan over its rx queues (`(port index, queue)`), before any program.
    pub fn new(worker: usize, rx: Vec<(u16, RxQueue)>, view: &'a WorkerView) -> Self {
        let inputs = rx
            .into_iter()
            .map(|(port, queue)| Input {
                port,
                queue,
                lane: view.lane(usize::from(port)),
                way: Way::Unrouted,
            })
            .collect();
        Self {
            inputs,
            generators: Vec::new(),
            timing: false,
            view,
            worker,
        }
    }

    /// Works out what the worker, with tx queues `tx` (per port), runs under `program`.
    pub fn follow(&mut self, program: &'a Program, tx: &[Option<TxQueue>]) {
        let view = self.view;
        for input in &mut self.inputs {
            input.way = match program.input_pipeline[usize::from(input.port)] {
                None => Way::Unrouted,
                Some(p) => match Direct::of(program, usize::from(p), view, tx) {
                    Some(direct) => Way::Direct(direct),
                    None => Way::Pipeline(usize::from(p)),
                },
            };
        }
        self.generators = (0..program.pipelines.len())
            .filter(|&p| {
                program.pipelines[p]
                    .generator
                    .as_ref()
                    .is_some_and(|g| g.worker == self.worker)
            })
            .map(|p| (p, Direct::of(program, p, view, tx)))
            .collect();
        self.timing = program.latency || program.probing;
    }
}

impl<'a> Direct<'a> {
    /// Pipeline `p` of `program`, resolved, when it is a [`Flow::Whole`] one and the worker
    /// has a tx queue on its port (else `Worker::process` drops and counts what it sends).
    fn of(
        program: &'a Program,
        p: usize,
        view: &'a WorkerView,
        tx: &[Option<TxQueue>],
    ) -> Option<Self> {
        let pipeline = &program.pipelines[p];
        let out = usize::from(pipeline.default_out);
        if pipeline.flow != Flow::Whole {
            return None;
        }
        let queue = tx.get(out)?.as_ref()?;
        Some(Self {
            pipeline,
            out,
            // SAFETY: both handles stay with this worker, on its thread (`Direct` is not
            // `Send`), used one at a time.
            tx: unsafe { queue.alias() },
            counters: view.pipeline(pipeline.slot),
            out_lane: view.lane(out),
            link: view.link(out),
            _one_thread: PhantomData,
        })
    }
}
