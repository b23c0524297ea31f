//! Compiling a config's pipelines into a [`Program`]: what workers run, immutable once
//! published.
//!
//! [`compile`] takes a config [`crate::validate`] found no problem with, resolves port names
//! to indexes, compiles each stage through the registry in [`crate::stages`] (addresses and
//! prefixes parsed, counter slots taken, bridge tables carried over), compiles generators,
//! and checks what only the running engine knows: which workers may send on which port's tx
//! queues, whether a new input port has a worker polling it, and the stats segment's room.
//! It also decides, once per pipeline, how bursts leave it ([`Flow`]), so that the worker's
//! hot path for the common shapes is as short as testpmd's.
//! A new program replaces the old one through [`crate::rcu`] without pausing any worker.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::config::{EngineConfig, PipelineConfig};
use crate::error::{EngineError, ErrorCode};
use crate::net::Mac;
use crate::plan::Plan;
use crate::stages::bridge::MacTable;
use crate::stages::generator::{compile_generator, Generator};
use crate::stages::{CompileContext, Stage, DROP};

/// How packets leave a pipeline: the shapes that need no per-packet verdicts are spotted at
/// compile time so that the hot path for them is as short as testpmd's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Stages only rewrite headers (or there are none) and there is one output: the whole
    /// burst goes to it.
    Whole,
    /// The first stage drops everything: free the burst, count it.
    DropAll,
    /// Stages decide per packet (match, bridge, mirror, drop after others).
    PerPacket,
}

/// A compiled pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// Display name.
    pub name: String,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Where packets go when no stage decides: the first output, or [`DROP`].
    pub default_out: u16,
    /// How a burst leaves the pipeline, decided once at compile time.
    pub flow: Flow,
    /// Whether a stage needs the time (bridges).
    pub needs_clock: bool,
    /// Ports a [`FLOOD`](crate::stages::FLOOD) verdict copies to (the bridge's ports).
    pub flood_ports: Vec<u16>,
    /// The generator, if any.
    pub generator: Option<Generator>,
    /// Counter slot in the stats segment (stable for this name across programs).
    pub slot: usize,
}

/// Everything workers run, immutable once published.
#[derive(Debug)]
pub struct Program {
    /// Pipelines in config order.
    pub pipelines: Vec<Pipeline>,
    /// For each port index, the pipeline its received packets enter.
    pub input_pipeline: Vec<Option<u16>>,
    /// For each port index, its MAC (for MAC rewriting).
    pub port_macs: Vec<Mac>,
    /// Where every pipeline and rule counts (slots stable by name across programs).
    pub segment: Arc<stats::Segment>,
    /// Match stages: (pipeline index, name, counter slot), in config order.
    pub rule_names: Vec<(usize, String, usize)>,
}

/// What the engine knows after the ports are up, needed to compile.
#[derive(Debug, Clone)]
pub struct PortFacts {
    /// MAC per port.
    pub macs: Vec<Mac>,
    /// Tx queues configured per port; worker `w` sends on queue `w` if `w` is below it.
    pub tx_queues: Vec<u16>,
    /// Driver name per port.
    pub drivers: Vec<String>,
}

/// Bridge tables by (pipeline name, stage index), carried from one program to the next.
pub type BridgeTables = HashMap<(String, usize), Arc<MacTable>>;

/// Generator budgets by pipeline name, carried from one program to the next.
pub type Generated = HashMap<String, Arc<AtomicU64>>;

/// What compiling a program accumulates across pipelines.
struct Compiler<'a> {
    names: HashMap<&'a str, u16>,
    rule_names: Vec<(usize, String, usize)>,
    segment: &'a stats::Segment,
    bridges: &'a mut BridgeTables,
    next_bridges: BridgeTables,
}

impl Compiler<'_> {
    /// Marks pipeline `i`'s input ports and returns the workers that poll them.
    fn inputs(
        &self,
        plan: &Plan,
        pc: &PipelineConfig,
        i: usize,
        input_pipeline: &mut [Option<u16>],
    ) -> Result<Vec<usize>, EngineError> {
        let mut runners = Vec::new();
        for (k, input) in pc.input.iter().enumerate() {
            let path = pc.input.path(&format!("pipelines[{i}].input"), k);
            let p = self.port(input)?;
            input_pipeline[usize::from(p)] = Some(i as u16);
            for q in 0..plan.ports[usize::from(p)].rx_queues {
                let owner = plan.owner(usize::from(p), q).ok_or_else(|| {
                    EngineError::new(
                        ErrorCode::NeedsRestart,
                        format!("{path}: no worker polls port {input:?} (it was no pipeline's input at start); restart the engine with this config"),
                    )
                })?;
                if !runners.contains(&owner) {
                    runners.push(owner);
                }
            }
        }
        Ok(runners)
    }

    fn port(&self, name: &str) -> Result<u16, EngineError> {
        port_index(&self.names, name)
    }

    /// Pipeline `i`'s stages, in order (`io` stages compile to nothing). Ports they can send
    /// to are added to `sends_to` for the tx-queue check.
    fn stages(
        &mut self,
        pc: &PipelineConfig,
        i: usize,
        name: &str,
        slot: usize,
        outputs: &[u16],
        sends_to: &mut Vec<(u16, String)>,
    ) -> Result<Vec<Stage>, EngineError> {
        let mut stages = Vec::with_capacity(pc.stages.len());
        for (s, sc) in pc.stages.iter().enumerate() {
            let mut cx = CompileContext {
                path: format!("pipelines[{i}].stages[{s}]"),
                pipeline: i,
                pipeline_name: name,
                pipeline_slot: slot,
                stage: s,
                pipeline_config: pc,
                outputs,
                ports: &self.names,
                sends_to,
                segment: self.segment,
                rule_names: &mut self.rule_names,
                bridges: self.bridges,
                next_bridges: &mut self.next_bridges,
            };
            if let Some(stage) = sc.compile(&mut cx)? {
                stages.push(stage);
            }
        }
        Ok(stages)
    }
}

/// The index of port `name` among `ports` (validated: an unknown name is a bug).
pub(crate) fn port_index(ports: &HashMap<&str, u16>, name: &str) -> Result<u16, EngineError> {
    ports
        .get(name)
        .copied()
        .ok_or_else(|| unvalidated(&format!("{name:?} is not a port")))
}

/// A config rule that [`crate::validate`] should have refused reached the compiler: a bug.
pub(crate) fn unvalidated(what: &str) -> EngineError {
    EngineError::new(
        ErrorCode::Internal,
        format!("compiling a validated config found {what}; this is a bug: please report it"),
    )
}

/// Only the engine knows each driver's tx queue count: every worker running a pipeline
/// must own a tx queue on every port the pipeline can send to.
fn check_tx_queues(
    plan: &Plan,
    facts: &PortFacts,
    runners: &[usize],
    sends_to: &[(u16, String)],
) -> Result<(), EngineError> {
    for (p, site) in sends_to {
        let queues = facts.tx_queues[usize::from(*p)];
        if let Some(&w) = runners.iter().find(|&&w| w >= usize::from(queues)) {
            return Err(EngineError::config(
                site,
                format!(
                    "port {:?} ({}) has {queues} tx queue(s), so only the first {queues} worker(s) can send to it, \
                     but this pipeline also runs on lcore {}; use fewer workers or poll its inputs from the first ones",
                    plan.ports[usize::from(*p)].name,
                    facts.drivers[usize::from(*p)],
                    plan.workers[w].lcore
                ),
            ));
        }
    }
    Ok(())
}

/// How bursts leave a pipeline with these stages.
fn flow_of(stages: &[Stage], default_out: u16) -> Flow {
    let rewrites_only = stages.iter().all(Stage::rewrites_only);
    if stages.first().is_some_and(Stage::drops_all) || (rewrites_only && default_out == DROP) {
        Flow::DropAll
    } else if rewrites_only {
        Flow::Whole
    } else {
        Flow::PerPacket
    }
}

/// Compiles `config`'s pipelines against the running layout.
pub fn compile(
    config: &EngineConfig,
    plan: &Plan,
    facts: &PortFacts,
    bridges: &mut BridgeTables,
    generated: &mut Generated,
    segment: &Arc<stats::Segment>,
) -> Result<Program, EngineError> {
    let mut compiler = Compiler {
        segment,
        names: plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i as u16))
            .collect(),
        rule_names: Vec::new(),
        bridges,
        next_bridges: BridgeTables::new(),
    };
    let mut input_pipeline = vec![None; plan.ports.len()];
    let mut pipelines = Vec::with_capacity(config.pipelines.len());
    let mut generators = 0usize;
    for (i, pc) in config.pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        let name = config.pipeline_name(i);
        let slot = segment.pipeline_slot(&name).ok_or_else(|| {
            EngineError::config(&format!("{path}.name"), format!("the stats segment has room for {} pipeline names over the engine's life; restart the engine", stats::PIPELINE_SLOTS))
        })?;
        // The workers this pipeline runs on: the owners of its input queues, and its generator's.
        let mut runners = compiler.inputs(plan, pc, i, &mut input_pipeline)?;
        let outputs: Vec<u16> = pc
            .output
            .iter()
            .map(|o| compiler.port(o))
            .collect::<Result<_, _>>()?;
        let default_out = outputs.first().copied().unwrap_or(DROP);
        let generator = match &pc.generator {
            None => None,
            Some(g) => {
                let worker = generators % plan.workers.len();
                generators += 1;
                if !runners.contains(&worker) {
                    runners.push(worker);
                }
                Some(compile_generator(
                    g,
                    default_out,
                    facts,
                    worker,
                    Arc::clone(generated.entry(name.clone()).or_default()),
                )?)
            }
        };
        let mut sends_to: Vec<(u16, String)> = outputs
            .iter()
            .enumerate()
            .map(|(k, &o)| (o, pc.output.path(&format!("{path}.output"), k)))
            .collect();
        let stages = compiler.stages(pc, i, &name, slot, &outputs, &mut sends_to)?;
        let needs_clock = stages.iter().any(Stage::needs_clock);
        check_tx_queues(plan, facts, &runners, &sends_to)?;
        let flow = flow_of(&stages, default_out);
        let flood_ports = if needs_clock { outputs } else { Vec::new() };
        pipelines.push(Pipeline {
            name,
            stages,
            default_out,
            flow,
            needs_clock,
            flood_ports,
            generator,
            slot,
        });
    }
    let Compiler {
        rule_names,
        bridges,
        next_bridges,
        ..
    } = compiler;
    *bridges = next_bridges;
    Ok(Program {
        pipelines,
        input_pipeline,
        port_macs: facts.macs.clone(),
        segment: Arc::clone(segment),
        rule_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::{DropAll, FiveTupleSwap, MacSwap};

    #[test]
    fn flows_follow_the_stages() {
        assert_eq!(flow_of(&[], 1), Flow::Whole);
        assert_eq!(
            flow_of(
                &[Stage::MacSwap(MacSwap), Stage::FiveTupleSwap(FiveTupleSwap)],
                1
            ),
            Flow::Whole
        );
        assert_eq!(flow_of(&[Stage::MacSwap(MacSwap)], DROP), Flow::DropAll);
        assert_eq!(
            flow_of(&[Stage::Drop(DropAll), Stage::MacSwap(MacSwap)], 1),
            Flow::DropAll
        );
        assert_eq!(
            flow_of(&[Stage::MacSwap(MacSwap), Stage::Drop(DropAll)], 1),
            Flow::PerPacket
        );
    }
}
