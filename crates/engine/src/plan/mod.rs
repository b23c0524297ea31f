//! Everything decided before EAL starts: ports and their vdev specs, which lcore polls which
//! (port, queue), memory, EAL's argv.
//!
//! Planning is pure (no DPDK calls), so impossible layouts are refused while the process can
//! still start an EAL, and the rules are unit-tested without one. A config is planned only
//! once [`crate::validate`] found no problem with it; what is checked here is what depends on
//! the machine (the CPUs this process may use, the hugepages it has) or on the rx queue
//! layout: a tx queue for every worker that sends on a port whose driver's queues the config
//! decides ([`senders`], [`drivers`]). A live change keeps the start's layout, so compile
//! checks it again there.

use std::collections::HashMap;

use dpdk::{EalArgs, IovaMode};
use probe::Hugepages;

use crate::config::{EngineConfig, IovaChoice};
use crate::error::{EngineError, ErrorCode};
use crate::net::Mac;
use crate::validate;

mod drivers;
mod lcores;
mod memory;
mod ports;
pub mod senders;
mod sockets;
#[cfg(test)]
mod tests;

pub use drivers::{too_many_rx_queues, Driver};
pub use lcores::cpu_list;
use lcores::{assign_rx_queues, plan_lcores};
use memory::{hugepage_size, plan_memory, MemoryChoice};
pub use memory::{memory_plan, HugepageShortfall, MemoryPlan};
pub(crate) use memory::{shares_memory, SHARED_MEMORY};
use ports::plan_ports;
pub(crate) use ports::spec_and_device;
pub(crate) use sockets::clear_stale;

/// How a port is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A `--vdev` spec.
    Vdev(String),
    /// An allow-listed PCI device.
    Pci(String),
}

/// One port, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    /// Its config name.
    pub name: String,
    /// The DPDK device name it is found by.
    pub device: String,
    /// How EAL creates it.
    pub spec: PortSpec,
    /// Rx queues.
    pub rx_queues: u16,
    /// Rx ring size.
    pub rx_descriptors: u16,
    /// Tx ring size.
    pub tx_descriptors: u16,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// MTU to set.
    pub mtu: Option<u16>,
    /// MAC to set.
    pub mac: Option<Mac>,
}

/// One worker lcore and the rx queues it alone polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPlan {
    /// Lcore id.
    pub lcore: u32,
    /// CPU it runs on.
    pub cpu: u32,
    /// (port index, queue) pairs.
    pub rx: Vec<(usize, u16)>,
}

/// How the engine will come up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// EAL's argv, typed.
    pub eal: EalArgs,
    /// Whether hugepages back packet memory.
    pub hugepages: bool,
    /// Why hugepages are not used, when the config left the choice to the engine.
    pub hugepages_note: Option<String>,
    /// Ports in id order.
    pub ports: Vec<PortPlan>,
    /// Workers in launch order; worker `w` sends on tx queue `w` of every port.
    pub workers: Vec<WorkerPlan>,
    /// Mbufs in the packet pool.
    pub mbufs: u32,
    /// Per-lcore mbuf cache.
    pub mbuf_cache: u32,
    /// The memory it needs.
    pub memory: MemoryPlan,
    /// Its plan on hugepages, when the config left them to the engine and too few are usable.
    pub hugepage_shortfall: Option<HugepageShortfall>,
}

impl Plan {
    /// Plans `config` for a process allowed to run on `cpus`, with `hugepages` as the machine
    /// has them. Refuses a config with problems ([`validate::problems`], all of them) first.
    pub fn new(
        config: &EngineConfig,
        cpus: &[u32],
        hugepages: &Hugepages,
    ) -> Result<Self, EngineError> {
        validate::check(config)?;
        let ports = plan_ports(&config.ports)?;
        let names: HashMap<&str, usize> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        let (main, main_cpu, mut workers) = plan_lcores(config, cpus)?;
        assign_rx_queues(config, &ports, &names, &mut workers);
        check_tx_queues(config, &ports, &workers)?;
        let MemoryChoice {
            hugepages: use_huge,
            note,
            eal: eal_memory,
            plan: memory,
            shortfall,
        } = plan_memory(config, &ports, workers.len(), main_cpu, hugepages)?;

        let iova_mode = config.eal.iova_mode.map(|mode| match mode {
            IovaChoice::Pa => IovaMode::Pa,
            IovaChoice::Va => IovaMode::Va,
        });
        if iova_mode == Some(IovaMode::Pa) && !use_huge {
            return Err(EngineError::config(
                "eal.iovaMode",
                "IOVA as PA needs hugepages (physical addresses of 4 KiB pages are not usable); use \"VA\" or enable hugepages",
            ));
        }
        if config.eal.secondary_processes && !use_huge {
            return Err(EngineError::config(
                "eal.secondaryProcesses",
                "DPDK secondary processes (dpdk-dumpcap, dpdk-proc-info) share the engine's hugepages, and this engine runs without them (--no-huge --no-shconf); set memory.hugepages to true, or leave secondaryProcesses off and capture with `fastpath capture`",
            ));
        }
        let mut pinning = vec![(main, main_cpu)];
        pinning.extend(workers.iter().map(|w| (w.lcore, w.cpu)));
        let eal = EalArgs {
            file_prefix: config
                .eal
                .file_prefix
                .clone()
                .unwrap_or_else(|| format!("fastpath-{}", std::process::id())),
            main_lcore: main,
            workers: workers.iter().map(|w| w.lcore).collect(),
            cpus: if pinning.iter().all(|(l, c)| l == c) {
                Vec::new()
            } else {
                pinning
            },
            memory: eal_memory,
            iova_mode,
            vdevs: ports
                .iter()
                .filter_map(|p| {
                    if let PortSpec::Vdev(v) = &p.spec {
                        Some(v.clone())
                    } else {
                        None
                    }
                })
                .collect(),
            pci_allow: ports
                .iter()
                .filter_map(|p| {
                    if let PortSpec::Pci(a) = &p.spec {
                        Some(a.clone())
                    } else {
                        None
                    }
                })
                .collect(),
            log_level: config.eal.log_level.clone(),
            log_to_stderr: config.eal.log_to_stderr,
            extra: config.eal.extra_args.clone(),
            secondary_processes: config.eal.secondary_processes,
        };
        Ok(Self {
            eal,
            hugepages: use_huge,
            hugepages_note: note,
            ports,
            workers,
            mbufs: config.memory.mbufs,
            mbuf_cache: config.memory.mbuf_cache,
            memory,
            hugepage_shortfall: shortfall,
        })
    }

    /// The memory `config` needs on this machine's hugepages, however many are free now, and
    /// the NUMA node it goes on (the main lcore's, when the machine says): what reserving
    /// hugepages for it must make free, and where. Refuses a config with problems first.
    pub fn hugepage_memory(
        config: &EngineConfig,
        cpus: &[u32],
        hugepages: &Hugepages,
    ) -> Result<(MemoryPlan, Option<u32>), EngineError> {
        validate::check(config)?;
        let ports = plan_ports(&config.ports)?;
        let (_, main_cpu, workers) = plan_lcores(config, cpus)?;
        let plan = memory_plan(
            config,
            &ports,
            workers.len() as u64,
            hugepage_size(hugepages),
        );
        Ok((plan, hugepages.node_of_cpu(main_cpu)))
    }

    /// Which worker polls (port, queue), if any.
    pub fn owner(&self, port: usize, queue: u16) -> Option<usize> {
        senders::owner(&self.workers, port, queue)
    }
}

/// Refuses, before EAL, a worker that would send on a port without a tx queue of its own,
/// for the ports whose driver's queues the config decides; compile checks every port once
/// they are up, with the same arithmetic and message.
fn check_tx_queues(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: &[WorkerPlan],
) -> Result<(), EngineError> {
    let bug = |(path, port): senders::Unpolled| {
        EngineError::new(
            ErrorCode::Internal,
            format!("{path}: no worker polls port {port:?} in a validated config; this is a bug: please report it"),
        )
    };
    let tx = |p: usize| {
        let driver = ports[p].spec.driver()?;
        Some((
            senders::tx_queues(workers.len(), driver.max_tx_queues),
            driver.name,
        ))
    };
    for (i, runs) in senders::runs(config, ports, workers)
        .map_err(bug)?
        .iter()
        .enumerate()
    {
        if let Some((path, message)) =
            senders::tx_queue_problem(config, i, runs, ports, workers, tx)
        {
            return Err(EngineError::config(&path, message));
        }
    }
    Ok(())
}
