//! Compiling a config's pipelines into a [`Program`]: what workers run, immutable once
//! published.
//!
//! [`compile`] takes a config [`crate::validate`] found no problem with, resolves port names
//! to indexes, compiles each stage through the registry in [`crate::stages`] (addresses and
//! prefixes parsed, counter slots taken, bridge tables carried over), compiles generators,
//! and checks what only the running engine knows: which workers may send on which port's tx
//! queues (for every driver: the plan checked those whose queues the config decides), whether
//! a new input port has a worker polling it, and the stats segment's room over the engine's life.
//! It also decides, once per pipeline, how bursts leave it ([`Flow`]), so that the worker's
//! hot path for the common shapes is as short as testpmd's.
//! A new program replaces the old one through [`crate::rcu`] without pausing any worker.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::config::{EngineConfig, PipelineConfig};
use crate::error::{EngineError, ErrorCode};
use crate::net::Mac;
use crate::plan::{senders, Plan};
use crate::stages::bridge::MacTable;
use crate::stages::generator::{compile_generator, Generator};
use crate::stages::route::RouteTable;
use crate::stages::{CompileContext, Stage, DROP, UNSENT};

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
    /// Where packets go when no stage decides: the first output, or [`UNSENT`] (dropped at
    /// the end unless a stage sends them).
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
    /// Workers time each rx burst to its tx into `pipeline/latency` (`stats.latency`, and
    /// counters on).
    pub latency: bool,
    /// A generator makes probes: workers look for them in what they receive.
    pub probing: bool,
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
    /// DPDK port id per port (a generator's `rate.percent` asks its link speed).
    pub ids: Vec<u16>,
}

impl PortFacts {
    /// The facts of the ports as they came up.
    pub fn of(summaries: &[crate::report::PortSummary]) -> Self {
        Self {
            macs: summaries
                .iter()
                .map(|s| crate::net::parse_mac(&s.mac).unwrap_or_default())
                .collect(),
            tx_queues: summaries.iter().map(|s| s.tx_queues).collect(),
            drivers: summaries.iter().map(|s| s.driver.clone()).collect(),
            ids: summaries.iter().map(|s| s.id).collect(),
        }
    }
}

/// Bridge tables by (pipeline name, stage index), carried from one program to the next.
pub type BridgeTables = HashMap<(String, usize), Arc<MacTable>>;

/// Route stages' tables by (pipeline name, stage name), carried from one program to the next
/// while the stage's config is unchanged, and what the engine's route API changes.
pub type RouteTables = HashMap<(String, String), Arc<RouteTable>>;

/// Generator budgets by pipeline name, carried from one program to the next.
pub type Generated = HashMap<String, Arc<AtomicU64>>;

/// What compiling a program accumulates across pipelines.
struct Compiler<'a> {
    names: HashMap<&'a str, u16>,
    rule_names: Vec<(usize, String, usize)>,
    segment: &'a stats::Segment,
    bridges: &'a mut BridgeTables,
    next_bridges: BridgeTables,
    routes: &'a mut RouteTables,
    next_routes: RouteTables,
    port_macs: &'a [Mac],
}

impl Compiler<'_> {
    fn port(&self, name: &str) -> Result<u16, EngineError> {
        port_index(&self.names, name)
    }

    /// Pipeline `i`'s stages, in order (`io` stages compile to nothing).
    fn stages(
        &mut self,
        pc: &PipelineConfig,
        i: usize,
        name: &str,
        slot: usize,
        outputs: &[u16],
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
                segment: self.segment,
                rule_names: &mut self.rule_names,
                bridges: self.bridges,
                next_bridges: &mut self.next_bridges,
                routes: self.routes,
                next_routes: &mut self.next_routes,
                port_macs: self.port_macs,
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

/// How bursts leave a pipeline with these stages.
fn flow_of(stages: &[Stage], default_out: u16) -> Flow {
    let rewrites_only = stages.iter().all(Stage::rewrites_only);
    if stages.first().is_some_and(Stage::drops_all) || (rewrites_only && default_out == UNSENT) {
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
    routes: &mut RouteTables,
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
        routes,
        next_routes: RouteTables::new(),
        port_macs: &facts.macs,
    };
    // The workers each pipeline runs on, as the running layout has them.
    let runs = senders::runs(config, &plan.ports, &plan.workers).map_err(|(path, port)| {
        EngineError::new(
            ErrorCode::NeedsRestart,
            format!("{path}: no worker polls port {port:?} (it was no pipeline's input at start); restart the engine with this config"),
        )
    })?;
    let mut input_pipeline = vec![None; plan.ports.len()];
    let mut pipelines = Vec::with_capacity(config.pipelines.len());
    for ((i, pc), runs) in config.pipelines.iter().enumerate().zip(&runs) {
        let path = format!("pipelines[{i}]");
        let name = config.pipeline_name(i);
        let slot = segment.pipeline_slot(&name).ok_or_else(|| {
            EngineError::config(&format!("{path}.name"), format!("the stats segment has room for {} pipeline names over the engine's life; restart the engine", stats::PIPELINE_SLOTS))
        })?;
        for input in pc.input.iter() {
            input_pipeline[usize::from(compiler.port(input)?)] = Some(i as u16);
        }
        let outputs: Vec<u16> = pc
            .output
            .iter()
            .map(|o| compiler.port(o))
            .collect::<Result<_, _>>()?;
        // Without outputs a packet goes where a stage sends it (a route, a forward), or nowhere.
        let default_out = outputs.first().copied().unwrap_or(UNSENT);
        let generator = match (&pc.generator, runs.generator) {
            (Some(g), Some(worker)) => Some(compile_generator(
                g,
                outputs.first().copied().unwrap_or(DROP),
                facts,
                worker,
                Arc::clone(generated.entry(name.clone()).or_default()),
                slot,
                &format!("{path}.generator"),
            )?),
            _ => None,
        };
        let stages = compiler.stages(pc, i, &name, slot, &outputs)?;
        let needs_clock = stages.iter().any(Stage::needs_clock);
        // Every port's tx queues are known now, PCI devices' and other vdevs' too.
        let tx = |p: usize| Some((facts.tx_queues[p], facts.drivers[p].as_str()));
        if let Some((path, message)) =
            senders::tx_queue_problem(config, i, runs, &plan.ports, &plan.workers, tx)
        {
            return Err(EngineError::config(&path, message));
        }
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
        routes,
        next_routes,
        ..
    } = compiler;
    *bridges = next_bridges;
    *routes = next_routes;
    Ok(Program {
        probing: pipelines
            .iter()
            .any(|p| p.generator.as_ref().is_some_and(|g| g.probe_slot.is_some())),
        port_macs: facts.macs.clone(),
        segment: Arc::clone(segment),
        rule_names,
        latency: config.stats.latency && config.stats.counters,
        pipelines,
        input_pipeline,
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
        assert_eq!(flow_of(&[Stage::MacSwap(MacSwap)], UNSENT), Flow::DropAll);
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
