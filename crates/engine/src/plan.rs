//! Everything decided before EAL starts: lcore layout, forwarding directions, memory.
//!
//! Planning is pure (no DPDK calls), so impossible layouts are refused while the process
//! can still start an EAL, and the rules are unit-tested without one.

use dpdk::{EalArgs, EalMemory, IovaMode, BURST_SIZE};
use probe::Hugepages;

use crate::config::{EngineConfig, PortConfig};
use crate::error::{EngineError, ErrorCode};

/// Bytes one mbuf takes in its pool: 128-byte header, 2176-byte data room, mempool header
/// and alignment, rounded up.
const MBUF_FOOTPRINT: u64 = 2560;
/// What EAL itself, the rings and the drivers need beside the packet pool.
const EAL_OVERHEAD: u64 = 64 << 20;
/// The least `-m` that starts EAL without hugepages comfortably.
const MIN_NO_HUGE_MB: u64 = 128;

/// One io-forwarding direction: rx queue 0 of `rx_port` → tx queue 0 of `tx_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Direction {
    /// Port index received from.
    pub rx_port: usize,
    /// Port index sent to.
    pub tx_port: usize,
}

/// The directions one worker lcore polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPlan {
    /// The worker's lcore id.
    pub lcore: u32,
    /// Indexes into [`Plan::directions`].
    pub directions: Vec<usize>,
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
    /// Every forwarding direction.
    pub directions: Vec<Direction>,
    /// Which worker polls which directions.
    pub workers: Vec<WorkerPlan>,
    /// Mbufs in the packet pool.
    pub mbufs: u32,
    /// Per-lcore mbuf cache.
    pub mbuf_cache: u32,
}

impl Plan {
    /// Plans `config` for a process allowed to run on `cpus`, with `hugepages` as the machine has them.
    pub fn new(
        config: &EngineConfig,
        cpus: &[u32],
        hugepages: &Hugepages,
    ) -> Result<Self, EngineError> {
        check_ports(&config.ports)?;
        let (main_lcore, workers) = check_lcores(config, cpus)?;

        let directions: Vec<Direction> = (0..config.ports.len())
            .map(|p| Direction {
                rx_port: p,
                tx_port: p ^ 1,
            })
            .collect();
        if workers.len() > directions.len() {
            return Err(EngineError::config(
                "lcores.workers",
                format!(
                    "{} workers for {} forwarding directions: io forwarding gives each worker whole \
                     directions (port 0→1, 1→0, ...), so use at most {} workers",
                    workers.len(),
                    directions.len(),
                    directions.len()
                ),
            ));
        }
        let workers: Vec<WorkerPlan> = workers
            .iter()
            .enumerate()
            .map(|(w, &lcore)| WorkerPlan {
                lcore,
                directions: (w..directions.len()).step_by(workers.len()).collect(),
            })
            .collect();

        let (use_huge, note, eal_memory) = plan_memory(config, workers.len(), hugepages)?;

        let iova_mode = match config.eal.iova_mode.as_deref() {
            None => None,
            Some("PA" | "pa") => Some(IovaMode::Pa),
            Some("VA" | "va") => Some(IovaMode::Va),
            Some(other) => {
                return Err(EngineError::config(
                    "eal.iovaMode",
                    format!("{other:?} is not \"PA\" or \"VA\""),
                ))
            }
        };
        if iova_mode == Some(IovaMode::Pa) && !use_huge {
            return Err(EngineError::config(
                "eal.iovaMode",
                "IOVA as PA needs hugepages (physical addresses of 4 KiB pages are not usable); use \"VA\" or enable hugepages",
            ));
        }

        let vdevs = config.ports.iter().filter_map(|p| p.vdev.clone()).collect();
        let pci_allow = config.ports.iter().filter_map(|p| p.pci.clone()).collect();
        let file_prefix = config
            .eal
            .file_prefix
            .clone()
            .unwrap_or_else(|| format!("fastpath-{}", std::process::id()));
        let eal = EalArgs {
            file_prefix,
            main_lcore,
            workers: workers.iter().map(|w| w.lcore).collect(),
            memory: eal_memory,
            iova_mode,
            vdevs,
            pci_allow,
            log_level: config.eal.log_level.clone(),
            log_to_stderr: config.eal.log_to_stderr,
            extra: config.eal.extra_args.clone(),
        };
        Ok(Self {
            eal,
            hugepages: use_huge,
            hugepages_note: note,
            directions,
            workers,
            mbufs: config.memory.mbufs,
            mbuf_cache: config.memory.mbuf_cache,
        })
    }
}

/// Sizes the packet pool and picks hugepages or not: (use hugepages, why not, EAL memory).
fn plan_memory(
    config: &EngineConfig,
    workers: usize,
    hugepages: &Hugepages,
) -> Result<(bool, Option<String>, EalMemory), EngineError> {
    let memory = &config.memory;
    let needed_mbufs: u64 = config
        .ports
        .iter()
        .map(|p| u64::from(p.rx_descriptors) + u64::from(p.tx_descriptors))
        .sum::<u64>()
        + workers as u64 * (u64::from(memory.mbuf_cache) + BURST_SIZE as u64)
        + u64::from(memory.mbuf_cache);
    if u64::from(memory.mbufs) < needed_mbufs {
        return Err(EngineError::config(
                "memory.mbufs",
                format!(
                    "{} mbufs cannot fill every rx/tx ring and lcore cache; raise it to at least {needed_mbufs} \
                     (or shrink rxDescriptors/txDescriptors)",
                    memory.mbufs
                ),
            ));
    }
    if memory.mbuf_cache as usize > 512 {
        return Err(EngineError::config(
            "memory.mbufCache",
            "DPDK caps the per-lcore cache at 512",
        ));
    }
    let pool_bytes = u64::from(memory.mbufs) * MBUF_FOOTPRINT;
    let needed_bytes = pool_bytes + EAL_OVERHEAD;
    let (use_huge, note) = match memory.hugepages {
            Some(false) => (false, None),
            Some(true) => match hugepages.shortfall(needed_bytes) {
                None => (true, None),
                Some(why) => {
                    return Err(EngineError::new(
                        ErrorCode::NoHugepages,
                        format!("hugepages were required (memory.hugepages: true) but {why}; or set memory.hugepages to false to run without them"),
                    ))
                }
            },
            None => match hugepages.shortfall(needed_bytes) {
                None => (true, None),
                Some(why) => (false, Some(why)),
            },
        };
    let eal_memory = if use_huge {
        EalMemory::Hugepages
    } else {
        EalMemory::NoHuge {
            megabytes: (needed_bytes >> 20).max(MIN_NO_HUGE_MB) as u32,
        }
    };

    Ok((use_huge, note, eal_memory))
}

fn check_ports(ports: &[PortConfig]) -> Result<(), EngineError> {
    if ports.is_empty() {
        return Err(EngineError::config("ports", "no ports: give at least two (e.g. { vdev: \"net_null0\" } and { vdev: \"net_null1\" })"));
    }
    if !ports.len().is_multiple_of(2) {
        return Err(EngineError::config(
            "ports",
            format!(
                "{} ports: io forwarding pairs ports 0↔1, 2↔3, ..., so give an even number",
                ports.len()
            ),
        ));
    }
    for (i, port) in ports.iter().enumerate() {
        let path = format!("ports[{i}]");
        match (&port.vdev, &port.pci) {
            (Some(_), Some(_)) => {
                return Err(EngineError::config(
                    &path,
                    "has both vdev and pci; give exactly one",
                ))
            }
            (None, None) => {
                return Err(EngineError::config(
                    &path,
                    "needs a vdev spec or a pci address",
                ))
            }
            (Some(v), None) if v.split(',').next().is_none_or(str::is_empty) => {
                return Err(EngineError::config(
                    &format!("{path}.vdev"),
                    format!("{v:?} has no device name"),
                ))
            }
            _ => {}
        }
        if port.rx_descriptors == 0 || port.tx_descriptors == 0 {
            return Err(EngineError::config(
                &path,
                "rxDescriptors and txDescriptors must be at least 1",
            ));
        }
        if let Some(j) = ports[..i]
            .iter()
            .position(|p| p.device_name() == port.device_name())
        {
            return Err(EngineError::config(
                &path,
                format!(
                    "device {:?} is already ports[{j}]; each port needs its own device",
                    port.device_name()
                ),
            ));
        }
    }
    Ok(())
}

fn check_lcores(config: &EngineConfig, cpus: &[u32]) -> Result<(u32, Vec<u32>), EngineError> {
    let allowed = cpu_list(cpus);
    let workers = &config.lcores.workers;
    if workers.is_empty() {
        return Err(EngineError::config(
            "lcores.workers",
            format!("no worker lcores: the poll loops need at least one, e.g. workers: [1] (this process may use CPUs {allowed})"),
        ));
    }
    let main = match config.lcores.main {
        Some(main) => main,
        None => *cpus
            .iter()
            .find(|c| !workers.contains(c))
            .unwrap_or(&cpus[0]),
    };
    for (i, &lcore) in std::iter::once(&main).chain(workers).enumerate() {
        let path = if i == 0 {
            "lcores.main".to_owned()
        } else {
            format!("lcores.workers[{}]", i - 1)
        };
        if !cpus.contains(&lcore) {
            return Err(EngineError::config(
                &path,
                format!("lcore {lcore} is not a CPU this process may run on (allowed: {allowed})"),
            ));
        }
    }
    if workers.contains(&main) {
        return Err(EngineError::config(
            "lcores.workers",
            format!("lcore {main} is the main lcore; workers need CPUs of their own"),
        ));
    }
    for (i, w) in workers.iter().enumerate() {
        if workers[..i].contains(w) {
            return Err(EngineError::config(
                &format!("lcores.workers[{i}]"),
                format!("lcore {w} is listed twice"),
            ));
        }
    }
    Ok((main, workers.clone()))
}

/// `[0, 1, 2, 5]` → `"0-2,5"`.
pub fn cpu_list(cpus: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EalConfig, LcoreConfig, MemoryConfig};
    use probe::{HugepagePool, HugetlbfsMount};

    fn port(vdev: &str) -> PortConfig {
        PortConfig {
            name: None,
            vdev: Some(vdev.into()),
            pci: None,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            promiscuous: true,
        }
    }

    fn config(workers: &[u32], hugepages: Option<bool>) -> EngineConfig {
        EngineConfig {
            version: 1,
            ports: vec![port("net_null0"), port("net_null1")],
            lcores: LcoreConfig {
                main: None,
                workers: workers.to_vec(),
            },
            memory: MemoryConfig {
                hugepages,
                ..MemoryConfig::default()
            },
            eal: EalConfig::default(),
        }
    }

    fn huge(free: u64) -> Hugepages {
        Hugepages {
            pools: vec![HugepagePool {
                size_kb: 2048,
                total: 512,
                free,
            }],
            mounts: vec![HugetlbfsMount {
                path: "/dev/hugepages".into(),
                page_size_kb: None,
            }],
        }
    }

    #[test]
    fn one_worker_takes_both_directions() {
        let plan = Plan::new(&config(&[1], None), &[0, 1], &huge(512)).unwrap();
        assert_eq!(plan.eal.main_lcore, 0);
        assert_eq!(
            plan.workers,
            vec![WorkerPlan {
                lcore: 1,
                directions: vec![0, 1]
            }]
        );
        assert_eq!(
            plan.directions[1],
            Direction {
                rx_port: 1,
                tx_port: 0
            }
        );
        assert!(plan.hugepages);
        assert_eq!(plan.eal.memory, EalMemory::Hugepages);
    }

    #[test]
    fn two_workers_split_the_directions() {
        let plan = Plan::new(&config(&[2, 3], None), &[0, 1, 2, 3], &huge(512)).unwrap();
        assert_eq!(plan.workers[0].directions, vec![0]);
        assert_eq!(plan.workers[1].directions, vec![1]);
        assert_eq!(plan.eal.to_argv()[2], "0,2,3");
    }

    #[test]
    fn zero_workers_is_refused_with_the_fix() {
        let err = Plan::new(&config(&[], None), &[0, 1], &huge(512)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Config);
        assert!(
            err.message.starts_with("lcores.workers: no worker lcores"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("allowed") || err.message.contains("CPUs 0-1"),
            "{}",
            err.message
        );
    }

    #[test]
    fn lcores_outside_the_affinity_are_refused() {
        let err = Plan::new(&config(&[7], None), &[0, 1], &huge(512)).unwrap_err();
        assert_eq!(
            err.message,
            "lcores.workers[0]: lcore 7 is not a CPU this process may run on (allowed: 0-1)"
        );
    }

    #[test]
    fn required_hugepages_that_are_missing_fail_with_their_code() {
        let err = Plan::new(&config(&[1], Some(true)), &[0, 1], &huge(0)).unwrap_err();
        assert_eq!(err.code, ErrorCode::NoHugepages);
        assert!(
            err.message.contains("memory.hugepages to false"),
            "{}",
            err.message
        );
    }

    #[test]
    fn optional_hugepages_fall_back_to_no_huge_and_say_why() {
        let plan = Plan::new(&config(&[1], None), &[0, 1], &Hugepages::default()).unwrap();
        assert!(!plan.hugepages);
        assert!(plan
            .hugepages_note
            .unwrap()
            .contains("no hugepages are reserved"));
        assert!(matches!(plan.eal.memory, EalMemory::NoHuge { megabytes } if megabytes >= 128));
    }

    #[test]
    fn odd_ports_and_duplicate_devices_are_refused() {
        let mut c = config(&[1], Some(false));
        c.ports.push(port("net_null2"));
        assert!(Plan::new(&c, &[0, 1], &huge(0))
            .unwrap_err()
            .message
            .contains("even number"));
        let mut c = config(&[1], Some(false));
        c.ports[1] = port("net_null0,size=128");
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert_eq!(
            err.message,
            "ports[1]: device \"net_null0\" is already ports[0]; each port needs its own device"
        );
    }

    #[test]
    fn a_pool_too_small_for_the_rings_is_refused() {
        let mut c = config(&[1], Some(false));
        c.memory.mbufs = 1023;
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert!(
            err.message.starts_with("memory.mbufs: 1023 mbufs"),
            "{}",
            err.message
        );
    }

    #[test]
    fn cpu_lists_are_compact() {
        assert_eq!(cpu_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(cpu_list(&[3]), "3");
    }
}
