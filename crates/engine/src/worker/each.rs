//! The per-packet path: a pipeline whose stages decide per packet (or that drops every
//! packet, or that the plan could not resolve) runs here, and each packet goes where its
//! verdict says. [`Flow::Whole`] pipelines the plan resolved take [`Worker::forward`] instead.

use dpdk::{Burst, Mbuf, BURST_SIZE};

use super::latency::Stamp;
use super::{capture, Source, Worker};
use crate::compile::{Flow, Pipeline, Program};
use crate::stages::{bump, counter, StageContext, DROP, FLOOD};

impl Worker {
    /// Runs pipeline `p` over `burst`, from `source`, and sends the result: a pipeline that
    /// drops everything with no verdicts, the rest through [`Self::process_each`]. A
    /// [`Flow::Whole`] pipeline, resolved in the worker's plan, goes through
    /// [`Self::forward`] instead; here only if the plan could not resolve it (this worker
    /// has no tx queue on its port, which compiling refuses), where `process_each` drops
    /// and counts what it sends.
    #[inline]
    pub(super) fn process<const COUNT: bool>(
        &mut self,
        program: &Program,
        p: usize,
        source: Source,
        burst: &mut Burst,
    ) {
        let (in_port, stamp, generated) = source.parts();
        let pipeline = &program.pipelines[p];
        let capturing = self.shared.taps.any();
        if capturing {
            self.capture_input(pipeline, in_port, burst.as_slice());
        }
        match pipeline.flow {
            Flow::DropAll => self.drop_all::<COUNT>(pipeline, in_port, burst, capturing),
            Flow::Whole | Flow::PerPacket => {
                self.holding = generated;
                self.process_each::<COUNT>(program, pipeline, in_port, stamp, burst, capturing);
            }
        }
    }

    /// [`Self::process`] of a pipeline that drops everything.
    #[inline(never)]
    fn drop_all<const COUNT: bool>(
        &mut self,
        pipeline: &Pipeline,
        in_port: u16,
        burst: &mut Burst,
        capturing: bool,
    ) {
        if capturing {
            let all = capture::Verdicts::All(DROP);
            self.capture_verdicts(pipeline, in_port, burst.as_slice(), &all, &[]);
        }
        let n = burst.free_all() as u64;
        if COUNT {
            let counters = self.view.pipeline(pipeline.slot);
            bump(&counters[counter::IN], n);
            bump(&counters[counter::DROPPED], n);
        }
    }

    /// [`Self::process`] of a pipeline whose stages decide per packet: each stage writes a
    /// verdict per packet, then each packet goes where its verdict says.
    #[inline(never)]
    fn process_each<const COUNT: bool>(
        &mut self,
        program: &Program,
        pipeline: &Pipeline,
        in_port: u16,
        stamp: Stamp,
        burst: &mut Burst,
        capturing: bool,
    ) {
        let n = burst.len();
        let mut verdict = [pipeline.default_out; BURST_SIZE];
        let mut ctx = StageContext {
            in_port,
            now_s: if pipeline.needs_clock {
                self.shared.epoch.elapsed().as_secs()
            } else {
                0
            },
            copies: &mut self.copies,
            pool: &self.shared.pool,
            segment: &program.segment,
            worker: self.index,
            counting: COUNT,
            copy_failures: 0,
        };
        for stage in &pipeline.stages {
            stage.run(
                burst.as_mut_slice(),
                &mut verdict[..n],
                &program.port_macs,
                &mut ctx,
            );
        }
        let copy_failures = ctx.copy_failures;
        if capturing {
            let each = capture::Verdicts::Each(&verdict[..n]);
            self.capture_verdicts(pipeline, in_port, burst.as_slice(), &each, &self.copies);
        }
        let (mut out, dropped) = self.dispatch::<COUNT>(pipeline, in_port, burst, &verdict);
        let dropped = dropped + copy_failures;
        self.trash.free_all();
        // Copies leave in the order they were made (the Vec keeps its capacity: no allocation).
        let mut copies = std::mem::take(&mut self.copies);
        for (port, copy) in copies.drain(..) {
            self.enqueue::<COUNT>(port, copy);
            out += 1;
        }
        self.copies = copies;
        if COUNT {
            let counters = self.view.pipeline(pipeline.slot);
            bump(&counters[counter::IN], n as u64);
            bump(&counters[counter::OUT], out);
            bump(&counters[counter::DROPPED], dropped);
        }
        self.flush::<COUNT>();
        self.record_latency(program, pipeline.slot, out, stamp);
    }

    /// Sends each packet where its verdict says (a flood copies it to every other flood
    /// port); returns (packets handed to outputs, packets dropped).
    #[inline]
    fn dispatch<const COUNT: bool>(
        &mut self,
        pipeline: &Pipeline,
        in_port: u16,
        burst: &mut Burst,
        verdict: &[u16],
    ) -> (u64, u64) {
        let mut dropped = 0u64;
        let mut out = 0u64;
        for (m, &v) in burst.drain().zip(verdict.iter()) {
            // A port first: every verdict from UNSENT up is no port, and ports index txbufs.
            if usize::from(v) < self.txbufs.len() {
                self.enqueue::<COUNT>(v, m);
                out += 1;
            } else {
                let (o, d) = self.dispatch_other::<COUNT>(pipeline, in_port, m, v);
                out += o;
                dropped += d;
            }
        }
        (out, dropped)
    }

    /// [`Self::dispatch`] of a packet whose verdict names no port: a flood (a copy to every
    /// other flood port) or a drop. Out of line, so that the loop over the usual verdicts
    /// keeps its values in registers. Returns (packets handed to outputs, packets dropped).
    #[inline(never)]
    fn dispatch_other<const COUNT: bool>(
        &mut self,
        pipeline: &Pipeline,
        in_port: u16,
        m: Mbuf,
        v: u16,
    ) -> (u64, u64) {
        if v != FLOOD {
            // DROP, UNSENT, and (never made) a port past the last. The trash holds a whole
            // burst, so this push cannot fail.
            let _ = self.trash.push(m);
            return (0, 1);
        }
        let targets = pipeline
            .flood_ports
            .iter()
            .copied()
            .filter(|&q| q != in_port);
        let count = targets.clone().count();
        if count == 0 {
            let _ = self.trash.push(m);
            return (0, 1);
        }
        let (mut out, mut dropped) = (0, 0);
        for (k, q) in targets.enumerate() {
            if k + 1 == count {
                self.enqueue::<COUNT>(q, m);
                out += 1;
                break;
            }
            match m.deep_copy(&self.shared.pool) {
                Some(copy) => {
                    self.enqueue::<COUNT>(q, copy);
                    out += 1;
                }
                None => dropped += 1,
            }
        }
        (out, dropped)
    }
}
