//! Who sends where: a pipeline runs on the workers that poll its input queues and on its
//! generator's worker, and sends on every port it outputs to or a stage forwards or mirrors
//! to. Worker `w` sends on tx queue `w`, and a port gets one tx queue per worker up to what
//! its driver offers ([`tx_queues`]), so every worker a pipeline runs on needs `w` below
//! that on each port the pipeline sends on.
//!
//! One arithmetic, two checks: the plan's, before EAL, for the ports whose driver's queues
//! the config decides ([`super::drivers`]); compile's, once the ports are up, for every port
//! (PCI devices and other vdevs included) and at every live change.

use super::{PortPlan, WorkerPlan};
use crate::config::EngineConfig;

/// The tx queues the engine gives a port whose driver offers `max`: one per worker, up to
/// `max`, and at least one.
pub fn tx_queues(workers: usize, max: u16) -> u16 {
    u16::try_from(workers).unwrap_or(u16::MAX).min(max).max(1)
}

/// Which worker polls (port, queue), if any.
pub fn owner(workers: &[WorkerPlan], port: usize, queue: u16) -> Option<usize> {
    workers.iter().position(|w| w.rx.contains(&(port, queue)))
}

/// Where one pipeline runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runs {
    /// The workers it runs on: its input queues' owners, then its generator's.
    pub workers: Vec<usize>,
    /// Its generator's worker (generators are dealt to the workers in config order).
    pub generator: Option<usize>,
}

/// An input queue that no worker polls: the input's path and the port's name (only a live
/// change can make one: the start's layout polls every input).
pub type Unpolled = (String, String);

/// Where each pipeline of `config` runs on this layout, in config order.
pub fn runs(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: &[WorkerPlan],
) -> Result<Vec<Runs>, Unpolled> {
    let mut generators = 0;
    let mut all = Vec::with_capacity(config.pipelines.len());
    for (i, pc) in config.pipelines.iter().enumerate() {
        let mut runners = Vec::new();
        for (k, input) in pc.input.iter().enumerate() {
            let unpolled = || {
                (
                    pc.input.path(&format!("pipelines[{i}].input"), k),
                    input.clone(),
                )
            };
            let p = ports
                .iter()
                .position(|p| p.name == *input)
                .ok_or_else(unpolled)?;
            for q in 0..ports[p].rx_queues {
                let w = owner(workers, p, q).ok_or_else(unpolled)?;
                if !runners.contains(&w) {
                    runners.push(w);
                }
            }
        }
        let generator = pc.generator.as_ref().map(|_| {
            let w = generators % workers.len().max(1);
            generators += 1;
            if !runners.contains(&w) {
                runners.push(w);
            }
            w
        });
        all.push(Runs {
            workers: runners,
            generator,
        });
    }
    Ok(all)
}

/// The ports pipeline `i` sends on, each with the config path that names it: its outputs,
/// then the ports its stages forward or mirror to.
pub fn sends_to(config: &EngineConfig, i: usize) -> Vec<(&str, String)> {
    let pc = &config.pipelines[i];
    let base = format!("pipelines[{i}]");
    let outputs = pc
        .output
        .iter()
        .enumerate()
        .map(|(k, o)| (o.as_str(), pc.output.path(&format!("{base}.output"), k)));
    let stages = pc.stages.iter().enumerate().flat_map(|(s, stage)| {
        let base = &base;
        stage
            .sends_to()
            .into_iter()
            .map(move |(port, field)| (port, format!("{base}.stages[{s}].{field}")))
    });
    outputs.chain(stages).collect()
}

/// The first port pipeline `i` sends on where a worker it runs on has no tx queue, as the
/// problem to report there: (path, message). `tx(port)` is the port's tx queues and driver
/// name, `None` where they are not known yet (before EAL, for a PCI device or another vdev).
pub fn tx_queue_problem<'a>(
    config: &EngineConfig,
    i: usize,
    runs: &Runs,
    ports: &[PortPlan],
    workers: &[WorkerPlan],
    tx: impl Fn(usize) -> Option<(u16, &'a str)>,
) -> Option<(String, String)> {
    sends_to(config, i).into_iter().find_map(|(name, path)| {
        let p = ports.iter().position(|p| p.name == name)?;
        let (queues, driver) = tx(p)?;
        let &w = runs.workers.iter().find(|&&w| w >= usize::from(queues))?;
        Some((
            path,
            format!(
                "port {name:?} ({driver}) has {queues} tx queue(s), so only the first {queues} worker(s) can send to it, \
                 but this pipeline also runs on lcore {}; use fewer workers or poll its inputs from the first ones",
                workers[w].lcore
            ),
        ))
    })
}
