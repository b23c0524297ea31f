//! Everything decided before EAL starts: ports and their vdev specs, which lcore polls which
//! (port, queue), memory, EAL's argv.
//!
//! Planning is pure (no DPDK calls), so impossible layouts are refused while the process can
//! still start an EAL, and the rules are unit-tested without one.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use dpdk::{EalArgs, EalMemory, IovaMode, BURST_SIZE};
use probe::Hugepages;

use crate::config::{EngineConfig, PortConfig};
use crate::error::{EngineError, ErrorCode};
use crate::net::{parse_mac, Mac};

/// What EAL allocates from its heap for itself (tailqs, telemetry, lcore and bus state)
/// before any port or pool: measured on DPDK 22.11 as the heap's allocated bytes after
/// init minus what the plan counts for the pool and ports (330-340 KiB; see
/// `test/memory-plan.test.ts`, which checks the plan against the heap on every run).
const EAL_HEAP_BASELINE: u64 = 352 << 10;
/// What a port's ethdev and driver state take from the heap (measured about 99 KiB for a
/// `net_null` port with one queue pair), before descriptor rings.
const PORT_HEAP_BASE: u64 = 112 << 10;
/// Heap bytes per descriptor of a PCI device's rings (descriptor plus software ring entry,
/// generously: drivers differ; software vdevs keep no descriptor rings in the heap).
const PCI_DESCRIPTOR_BYTES: u64 = 64;
/// The least `-m` EAL without hugepages is given: its own start-up needs room besides the
/// heap it reports.
const MIN_NO_HUGE_MB: u64 = 64;

/// The memory a config needs, worked out before EAL starts (`fastpath mem plan` prints it;
/// the engine starts EAL with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The page size the heap gets: the hugepage size, or 4 KiB without hugepages.
    pub page_size: u64,
    /// The packet pool: objects packed page by page as DPDK populates them, its ring, and
    /// its header with every lcore's cache.
    pub mempool_bytes: u64,
    /// The ports: ethdev and driver state, and PCI devices' descriptor rings.
    pub port_bytes: u64,
    /// EAL's own heap allocations (a measured constant).
    pub eal_bytes: u64,
    /// Heap bytes in all (the three above).
    pub heap_bytes: u64,
    /// Heap pages: `heap_bytes` rounded up to whole pages (what `--socket-mem` asks for).
    pub heap_pages: u64,
    /// Pages the stats segment takes (its own hugetlbfs file when hugepages are used).
    pub stats_pages: u64,
    /// Pages to reserve in all: heap pages plus the stats segment's.
    pub pages: u64,
}

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
}

impl Plan {
    /// Plans `config` for a process allowed to run on `cpus`, with `hugepages` as the machine has them.
    pub fn new(
        config: &EngineConfig,
        cpus: &[u32],
        hugepages: &Hugepages,
    ) -> Result<Self, EngineError> {
        let ports = plan_ports(&config.ports)?;
        let names: HashMap<&str, usize> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        check_pipeline_refs(config, &names)?;
        let (main, main_cpu, mut workers) = plan_lcores(config, cpus)?;
        assign_rx_queues(config, &ports, &names, &mut workers)?;
        let (use_huge, note, eal_memory, memory) =
            plan_memory(config, &ports, workers.len(), hugepages)?;

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
        })
    }

    /// Checks `config`'s pipelines against this plan's ports (names, references, one
    /// pipeline per input port), as `apply` needs before compiling them.
    pub fn check_pipelines(&self, config: &EngineConfig) -> Result<(), EngineError> {
        let names: HashMap<&str, usize> = self
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        check_pipeline_refs(config, &names)
    }

    /// Which worker polls (port, queue), if any.
    pub fn owner(&self, port: usize, queue: u16) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.rx.contains(&(port, queue)))
    }
}

/// The vdev spec for a port's source; `index` keeps generated device names unique.
fn vdev_spec(p: &PortConfig, index: usize) -> Option<String> {
    if let Some(v) = &p.vdev {
        return Some(v.clone());
    }
    if let Some(pcap) = &p.pcap {
        let mut spec = format!("net_pcap{index}");
        if let Some(rx) = &pcap.rx {
            let _ = write!(spec, ",rx_pcap={rx}");
        }
        if let Some(tx) = &pcap.tx {
            let _ = write!(spec, ",tx_pcap={tx}");
        }
        if pcap.infinite_rx {
            spec.push_str(",infinite_rx=1");
        }
        return Some(spec);
    }
    if let Some(af) = &p.af_packet {
        return Some(format!(
            "net_af_packet{index},iface={},qpairs={}",
            af.iface, p.queues
        ));
    }
    if let Some(tap) = &p.tap {
        return Some(match &tap.iface {
            Some(iface) => format!("net_tap{index},iface={iface}"),
            None => format!("net_tap{index}"),
        });
    }
    if p.ring.is_some() {
        return Some(format!("net_ring{index}"));
    }
    if let Some(null) = &p.null {
        return Some(match null.size {
            Some(size) => format!("net_null{index},size={size}"),
            None => format!("net_null{index}"),
        });
    }
    None
}

/// Whether `name` is a Linux interface name Fastpath will pass on: 1 to 15 characters
/// (`IFNAMSIZ` − 1) of letters, digits, `_`, `.` and `-`. Nothing that could end a vdev
/// argument (`,`, `=`) or a path.
pub fn valid_iface(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `path` can go into a vdev argument as a file path: not empty, no `,` or `=`
/// (they would start another argument: `rx_pcap=a.pcap,iface=eth0`), no control bytes.
pub fn valid_vdev_path(path: &str) -> bool {
    !path.is_empty()
        && !path
            .bytes()
            .any(|b| b == b',' || b == b'=' || b.is_ascii_control())
}

/// Refuses interface names and file paths that would not reach the driver as given.
fn check_source_strings(p: &PortConfig, path: &str) -> Result<(), EngineError> {
    let iface = |field: &str, name: &str| {
        if valid_iface(name) {
            Ok(())
        } else {
            Err(EngineError::config(
                &format!("{path}.{field}"),
                format!("{name:?} is not an interface name (1 to 15 letters, digits, _, . or -)"),
            ))
        }
    };
    let file = |field: &str, file: &str| {
        if valid_vdev_path(file) {
            Ok(())
        } else {
            Err(EngineError::config(
                &format!("{path}.{field}"),
                format!("{file:?} cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters"),
            ))
        }
    };
    if let Some(pcap) = &p.pcap {
        if let Some(rx) = &pcap.rx {
            file("pcap.rx", rx)?;
        }
        if let Some(tx) = &pcap.tx {
            file("pcap.tx", tx)?;
        }
    }
    if let Some(af) = &p.af_packet {
        iface("afPacket.iface", &af.iface)?;
    }
    if let Some(name) = p.tap.as_ref().and_then(|t| t.iface.as_deref()) {
        iface("tap.iface", name)?;
    }
    Ok(())
}

fn plan_ports(configs: &[PortConfig]) -> Result<Vec<PortPlan>, EngineError> {
    if configs.is_empty() {
        return Err(EngineError::config(
            "ports",
            "no ports: give at least one (e.g. a: { vdev: \"net_null0\" })",
        ));
    }
    let mut ports: Vec<PortPlan> = Vec::with_capacity(configs.len());
    for (i, p) in configs.iter().enumerate() {
        let path = format!("ports.{}", p.name);
        let sources = [
            p.vdev.is_some(),
            p.pci.is_some(),
            p.pcap.is_some(),
            p.af_packet.is_some(),
            p.tap.is_some(),
            p.ring.is_some(),
            p.null.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(EngineError::config(
                &path,
                "give exactly one source: vdev, pci, pcap, afPacket, tap, ring or null",
            ));
        }
        check_source_strings(p, &path)?;
        if let Some(j) = ports.iter().position(|q| q.name == p.name) {
            return Err(EngineError::config(
                &path,
                format!("the name is already used by port {j}"),
            ));
        }
        let spec = match (&p.pci, vdev_spec(p, i)) {
            (Some(pci), _) => PortSpec::Pci(pci.clone()),
            (None, Some(vdev)) => PortSpec::Vdev(vdev),
            (None, None) => unreachable!("exactly one source is set"),
        };
        let device = match &spec {
            PortSpec::Vdev(v) => v.split(',').next().unwrap_or_default().to_owned(),
            PortSpec::Pci(a) => a.clone(),
        };
        if device.is_empty() {
            return Err(EngineError::config(
                &format!("{path}.vdev"),
                "the spec has no device name",
            ));
        }
        if let Some(q) = ports.iter().find(|q| q.device == device) {
            return Err(EngineError::config(
                &path,
                format!(
                    "device {device:?} is already port {:?}; each port needs its own device",
                    q.name
                ),
            ));
        }
        if p.queues == 0 {
            return Err(EngineError::config(
                &format!("{path}.queues"),
                "must be at least 1",
            ));
        }
        if p.rx_descriptors == 0 || p.tx_descriptors == 0 {
            return Err(EngineError::config(
                &path,
                "rxDescriptors and txDescriptors must be at least 1",
            ));
        }
        let mac = p
            .mac
            .as_deref()
            .map(parse_mac)
            .transpose()
            .map_err(|e| EngineError::config(&format!("{path}.mac"), e))?;
        ports.push(PortPlan {
            name: p.name.clone(),
            device,
            spec,
            rx_queues: p.queues,
            rx_descriptors: p.rx_descriptors,
            tx_descriptors: p.tx_descriptors,
            promiscuous: p.promiscuous,
            mtu: p.mtu,
            mac,
        });
    }
    Ok(ports)
}

fn check_pipeline_refs(
    config: &EngineConfig,
    names: &HashMap<&str, usize>,
) -> Result<(), EngineError> {
    let known = || {
        let mut n: Vec<&str> = names.keys().copied().collect();
        n.sort_unstable();
        n.join(", ")
    };
    let resolve = |path: String, name: &str| -> Result<usize, EngineError> {
        names.get(name).copied().ok_or_else(|| {
            EngineError::config(
                &path,
                format!("{name:?} is not a port (ports: {})", known()),
            )
        })
    };
    let mut input_of: HashMap<usize, usize> = HashMap::new();
    let mut seen_names: HashMap<String, usize> = HashMap::new();
    for (i, p) in config.pipelines.iter().enumerate() {
        let name = config.pipeline_name(i);
        if let Some(j) = seen_names.insert(name.clone(), i) {
            return Err(EngineError::config(
                &format!("pipelines[{i}].name"),
                format!("{name:?} is already pipelines[{j}]"),
            ));
        }
        if p.input.is_empty() && p.generator.is_none() {
            return Err(EngineError::config(
                &format!("pipelines[{i}]"),
                "needs an input port or a generator",
            ));
        }
        for (k, input) in p.input.iter().enumerate() {
            let port = resolve(format!("pipelines[{i}].input[{k}]"), input)?;
            if let Some(j) = input_of.insert(port, i) {
                return Err(EngineError::config(
                    &format!("pipelines[{i}].input[{k}]"),
                    format!("port {input:?} is already the input of pipelines[{j}]; a port feeds one pipeline"),
                ));
            }
        }
        for (k, output) in p.output.iter().enumerate() {
            resolve(format!("pipelines[{i}].output[{k}]"), output)?;
        }
        for (s, stage) in p.stages.iter().enumerate() {
            if let crate::config::StageConfig::Match {
                action:
                    crate::config::ActionConfig::Forward { port }
                    | crate::config::ActionConfig::Mirror { port },
                ..
            } = stage
            {
                resolve(format!("pipelines[{i}].stages[{s}].action.port"), port)?;
            }
        }
    }
    Ok(())
}

fn plan_lcores(
    config: &EngineConfig,
    cpus: &[u32],
) -> Result<(u32, u32, Vec<WorkerPlan>), EngineError> {
    let allowed = cpu_list(cpus);
    let workers = &config.lcores.workers;
    if workers.is_empty() {
        return Err(EngineError::config(
            "lcores.workers",
            format!("no worker lcores: the poll loops need at least one, e.g. workers: [1] (this process may use CPUs {allowed})"),
        ));
    }
    let lcores: Vec<u32> = workers.iter().map(|w| w.lcore).collect();
    // By default the first CPU this process may use that no worker runs on (or at least no
    // worker's lcore id), so that `taskset -c 2,3` with `workers: [3]` picks 2.
    let worker_cpus: Vec<u32> = workers.iter().map(|w| w.cpu.unwrap_or(w.lcore)).collect();
    let free = |c: &u32| !lcores.contains(c);
    let main = config.lcores.main.unwrap_or_else(|| {
        cpus.iter()
            .copied()
            .find(|c| free(c) && !worker_cpus.contains(c))
            .or_else(|| cpus.iter().copied().find(free))
            .unwrap_or(0)
    });
    let main_cpu = config.lcores.main_cpu.unwrap_or(main);
    let check_cpu = |path: &str, cpu: u32| {
        if cpus.contains(&cpu) {
            Ok(())
        } else {
            Err(EngineError::config(
                path,
                format!("CPU {cpu} is not one this process may run on (allowed: {allowed})"),
            ))
        }
    };
    check_cpu(
        if config.lcores.main_cpu.is_some() {
            "lcores.mainCpu"
        } else {
            "lcores.main"
        },
        main_cpu,
    )?;
    if main >= 128 {
        return Err(EngineError::config("lcores.main", "lcore ids go up to 127"));
    }
    let mut plans = Vec::with_capacity(workers.len());
    for (i, w) in workers.iter().enumerate() {
        let path = format!("lcores.workers[{i}]");
        if w.lcore == main {
            return Err(EngineError::config(
                &path,
                format!("lcore {main} is the main lcore; workers need lcores of their own"),
            ));
        }
        if lcores[..i].contains(&w.lcore) {
            return Err(EngineError::config(
                &path,
                format!("lcore {} is listed twice", w.lcore),
            ));
        }
        if w.lcore >= 128 {
            return Err(EngineError::config(&path, "lcore ids go up to 127"));
        }
        let cpu = w.cpu.unwrap_or(w.lcore);
        check_cpu(
            &if w.cpu.is_some() {
                format!("{path}.cpu")
            } else {
                path.clone()
            },
            cpu,
        )?;
        plans.push(WorkerPlan {
            lcore: w.lcore,
            cpu,
            rx: Vec::new(),
        });
    }
    Ok((main, main_cpu, plans))
}

fn assign_rx_queues(
    config: &EngineConfig,
    ports: &[PortPlan],
    names: &HashMap<&str, usize>,
    workers: &mut [WorkerPlan],
) -> Result<(), EngineError> {
    let mut owner: HashMap<(usize, u16), usize> = HashMap::new();
    for (w, wc) in config.lcores.workers.iter().enumerate() {
        for (k, q) in wc.rx.iter().flatten().enumerate() {
            let path = format!("lcores.workers[{w}].rx[{k}]");
            let port = *names.get(q.port.as_str()).ok_or_else(|| {
                EngineError::config(
                    &format!("{path}.port"),
                    format!("{:?} is not a port", q.port),
                )
            })?;
            if q.queue >= ports[port].rx_queues {
                return Err(EngineError::config(
                    &format!("{path}.queue"),
                    format!(
                        "port {:?} has {} rx queue(s), so queue {} does not exist",
                        q.port, ports[port].rx_queues, q.queue
                    ),
                ));
            }
            if let Some(other) = owner.insert((port, q.queue), w) {
                return Err(EngineError::config(
                    &path,
                    format!("queue {} of port {:?} is already polled by lcore {}; a queue has one owner", q.queue, q.port, workers[other].lcore),
                ));
            }
            workers[w].rx.push((port, q.queue));
        }
    }
    // Every queue of every input port needs an owner; auto workers share the rest round-robin.
    let inputs: BTreeSet<usize> = config
        .pipelines
        .iter()
        .flat_map(|p| p.input.iter().map(|n| names[n.as_str()]))
        .collect();
    let auto: Vec<usize> = config
        .lcores
        .workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.rx.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut next = 0;
    for &port in &inputs {
        for queue in 0..ports[port].rx_queues {
            if owner.contains_key(&(port, queue)) {
                continue;
            }
            let Some(&w) = auto
                .get(next % auto.len().max(1))
                .filter(|_| !auto.is_empty())
            else {
                return Err(EngineError::config(
                    "lcores.workers",
                    format!("queue {queue} of port {:?} (an input of a pipeline) is polled by no worker; list it in a worker's rx", ports[port].name),
                ));
            };
            next += 1;
            owner.insert((port, queue), w);
            workers[w].rx.push((port, queue));
        }
    }
    for (&(port, queue), &w) in &owner {
        if !inputs.contains(&port) {
            return Err(EngineError::config(
                &format!("lcores.workers[{w}].rx"),
                format!(
                    "queue {queue} of port {:?} is polled but the port is no pipeline's input",
                    ports[port].name
                ),
            ));
        }
    }
    Ok(())
}

/// Sizes the packet pool and picks hugepages or not: (use hugepages, why not, EAL memory,
/// the memory plan).
fn plan_memory(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: usize,
    hugepages: &Hugepages,
) -> Result<(bool, Option<String>, EalMemory, MemoryPlan), EngineError> {
    let memory = &config.memory;
    let workers = workers as u64;
    let rings: u64 = ports
        .iter()
        .map(|p| {
            u64::from(p.rx_queues) * u64::from(p.rx_descriptors)
                + workers * u64::from(p.tx_descriptors)
        })
        .sum();
    // Each worker caches mbufs and holds up to a burst per port in its tx buffers.
    let needed_mbufs = rings
        + workers * (u64::from(memory.mbuf_cache) + BURST_SIZE as u64 * (ports.len() as u64 + 2))
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
    if memory.mbufs >= 1 << 30 {
        return Err(EngineError::config(
            "memory.mbufs",
            format!(
                "{} is more than a pool can hold here: at most 1073741823 (2^30 - 1)",
                memory.mbufs
            ),
        ));
    }
    if memory.mbuf_cache > 512 {
        return Err(EngineError::config(
            "memory.mbufCache",
            "DPDK caps the per-lcore cache at 512",
        ));
    }
    // A page size of 0 (an odd mount option) reads as unknown: DPDK's default 2 MiB.
    let huge_page = hugepages
        .mounts
        .first()
        .and_then(|m| m.page_size_kb)
        .or_else(|| hugepages.pools.first().map(|p| p.size_kb))
        .filter(|&kb| kb > 0)
        .unwrap_or(2048)
        * 1024;
    let huge_plan = memory_plan(config, ports, workers, huge_page);
    let needed_bytes = huge_plan.pages * huge_plan.page_size;
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
    Ok(if use_huge {
        let mb = (huge_plan.heap_pages * huge_plan.page_size).div_ceil(1 << 20);
        let eal = EalMemory::Hugepages {
            socket_mb: vec![u32::try_from(mb).unwrap_or(u32::MAX)],
        };
        (true, note, eal, huge_plan)
    } else {
        let plan = memory_plan(config, ports, workers, 4096);
        let mb = (plan.heap_bytes.div_ceil(1 << 20) + 1).max(MIN_NO_HUGE_MB);
        let eal = EalMemory::NoHuge {
            megabytes: u32::try_from(mb).unwrap_or(u32::MAX),
        };
        (false, note, eal, plan)
    })
}

/// The memory `config` needs in pages of `page_size` (4096: no hugepages, the stats segment
/// then lives in /dev/shm and takes no reserved pages).
pub fn memory_plan(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: u64,
    page_size: u64,
) -> MemoryPlan {
    let memory = &config.memory;
    // Pool objects may not cross a page: DPDK packs them page by page (with IOVA as VA on
    // hugepages it need not, so this may count up to an object per page too many).
    let mempool_bytes = dpdk::Mempool::pktmbuf_footprint(
        memory.mbufs,
        memory.mbuf_cache,
        dpdk::Mempool::DEFAULT_DATA_ROOM,
        page_size,
    );
    let port_bytes = ports
        .iter()
        .map(|p| {
            let descriptors = match p.spec {
                PortSpec::Pci(_) => {
                    u64::from(p.rx_queues) * u64::from(p.rx_descriptors)
                        + workers * u64::from(p.tx_descriptors)
                }
                PortSpec::Vdev(_) => 0,
            };
            PORT_HEAP_BASE + descriptors * PCI_DESCRIPTOR_BYTES
        })
        .sum::<u64>();
    let heap_bytes = mempool_bytes + port_bytes + EAL_HEAP_BASELINE;
    let heap_pages = heap_bytes.div_ceil(page_size);
    let stats_pages = if page_size > 4096 {
        let segment = stats::segment_size(ports.len(), workers as usize, page_size as usize);
        (segment as u64).div_ceil(page_size)
    } else {
        0
    };
    MemoryPlan {
        page_size,
        mempool_bytes,
        port_bytes,
        eal_bytes: EAL_HEAP_BASELINE,
        heap_bytes,
        heap_pages,
        stats_pages,
        pages: heap_pages + stats_pages,
    }
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
    use crate::config::{
        EalConfig, EmptySource, LcoreConfig, MemoryConfig, NullSource, PipelineConfig, QueueRef,
        WorkerConfig,
    };
    use probe::{HugepagePool, HugetlbfsMount};

    fn null(name: &str, queues: u16) -> PortConfig {
        PortConfig {
            name: name.into(),
            vdev: None,
            pci: None,
            pcap: None,
            af_packet: None,
            tap: None,
            ring: None,
            null: Some(NullSource { size: None }),
            queues,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
            promiscuous: true,
            mtu: None,
            mac: None,
        }
    }

    fn pipe(input: &[&str], output: &[&str]) -> PipelineConfig {
        PipelineConfig {
            name: None,
            input: input.iter().map(|s| (*s).to_owned()).collect(),
            generator: None,
            stages: vec![],
            output: output.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn worker(lcore: u32) -> WorkerConfig {
        WorkerConfig {
            lcore,
            cpu: None,
            rx: None,
        }
    }

    fn config(workers: Vec<WorkerConfig>, hugepages: Option<bool>) -> EngineConfig {
        EngineConfig {
            version: crate::SCHEMA_VERSION,
            ports: vec![null("a", 1), null("b", 1)],
            lcores: LcoreConfig {
                main: None,
                main_cpu: None,
                workers,
            },
            memory: MemoryConfig {
                hugepages,
                ..MemoryConfig::default()
            },
            eal: EalConfig::default(),
            pipelines: vec![pipe(&["a"], &["b"]), pipe(&["b"], &["a"])],
            stats: crate::config::StatsConfig::default(),
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
    fn sources_become_vdev_specs_named_by_port_index() {
        let mut c = config(vec![worker(1)], Some(false));
        c.ports[0].null = None;
        c.ports[0].pcap = Some(crate::config::PcapSource {
            rx: Some("in.pcap".into()),
            tx: None,
            infinite_rx: true,
        });
        c.ports[1].null = None;
        c.ports[1].ring = Some(EmptySource {});
        let plan = Plan::new(&c, &[0, 1], &huge(0)).unwrap();
        assert_eq!(
            plan.eal.vdevs,
            ["net_pcap0,rx_pcap=in.pcap,infinite_rx=1", "net_ring1"]
        );
        assert_eq!(plan.ports[0].device, "net_pcap0");
        assert!(plan.eal.to_argv().contains(&"--no-pci".to_owned()));
    }

    #[test]
    fn one_worker_polls_every_input_queue() {
        let plan = Plan::new(&config(vec![worker(1)], None), &[0, 1], &huge(512)).unwrap();
        assert_eq!(plan.eal.main_lcore, 0);
        assert_eq!(
            plan.workers,
            vec![WorkerPlan {
                lcore: 1,
                cpu: 1,
                rx: vec![(0, 0), (1, 0)]
            }]
        );
        assert!(plan.hugepages);
        // EAL is given the planned heap up front, in whole 2 MiB pages.
        let m = &plan.memory;
        assert_eq!(
            plan.eal.memory,
            EalMemory::Hugepages {
                socket_mb: vec![(m.heap_pages * 2) as u32]
            }
        );
        assert!(m.heap_pages * m.page_size >= m.heap_bytes);
        assert!(m.heap_pages * m.page_size - m.heap_bytes < m.page_size);
    }

    #[test]
    fn the_memory_plan_counts_the_pool_page_by_page_and_pci_rings() {
        let c = config(vec![worker(1)], None);
        let plan = Plan::new(&c, &[0, 1], &huge(512)).unwrap();
        let m = &plan.memory;
        assert_eq!(m.page_size, 2 << 20);
        assert_eq!(m.heap_bytes, m.mempool_bytes + m.port_bytes + m.eal_bytes);
        assert_eq!(m.pages, m.heap_pages + m.stats_pages);
        assert!(
            m.stats_pages >= 1,
            "the stats segment takes hugepages of its own"
        );
        // 8191 mbufs of ~2.3 KiB: about 18.5 MiB of objects, page-packed.
        assert!((19 << 20..22 << 20).contains(&m.mempool_bytes), "{m:?}");
        // Without hugepages, 4 KiB pages hold one mbuf each: a bigger pool.
        let small = memory_plan(&c, &plan.ports, 1, 4096);
        assert!(small.mempool_bytes > 8191 * 4096, "{small:?}");
        assert_eq!(small.stats_pages, 0);
        // A PCI port's descriptor rings count; a vdev's do not.
        let mut ports = plan.ports.clone();
        ports[0].spec = PortSpec::Pci("0000:03:00.0".into());
        let with_pci = memory_plan(&c, &ports, 1, 2 << 20);
        assert_eq!(
            with_pci.port_bytes - m.port_bytes,
            (1024 + 1024) * PCI_DESCRIPTOR_BYTES
        );
    }

    #[test]
    fn auto_workers_share_queues_round_robin_and_lcores_may_share_a_cpu() {
        let mut c = config(
            vec![
                worker(1),
                WorkerConfig {
                    lcore: 2,
                    cpu: Some(1),
                    rx: None,
                },
            ],
            Some(false),
        );
        c.ports[0].queues = 2;
        c.memory.mbufs = 16383;
        let plan = Plan::new(&c, &[0, 1], &huge(0)).unwrap();
        assert_eq!(plan.workers[0].rx, vec![(0, 0), (1, 0)]);
        assert_eq!(plan.workers[1].rx, vec![(0, 1)]);
        assert!(plan
            .eal
            .to_argv()
            .join(" ")
            .contains("--lcores 0@0,1@1,2@1"));
    }

    #[test]
    fn a_queue_owned_twice_is_refused_with_its_path() {
        let q = |port: &str| {
            Some(vec![QueueRef {
                port: port.into(),
                queue: 0,
            }])
        };
        let c = config(
            vec![
                WorkerConfig {
                    lcore: 1,
                    cpu: None,
                    rx: q("a"),
                },
                WorkerConfig {
                    lcore: 2,
                    cpu: Some(1),
                    rx: q("a"),
                },
            ],
            Some(false),
        );
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert_eq!(err.message, "lcores.workers[1].rx[0]: queue 0 of port \"a\" is already polled by lcore 1; a queue has one owner");
    }

    #[test]
    fn an_input_queue_nobody_polls_is_refused() {
        let c = config(
            vec![WorkerConfig {
                lcore: 1,
                cpu: None,
                rx: Some(vec![QueueRef {
                    port: "a".into(),
                    queue: 0,
                }]),
            }],
            Some(false),
        );
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert!(
            err.message
                .contains("queue 0 of port \"b\" (an input of a pipeline) is polled by no worker"),
            "{}",
            err.message
        );
    }

    #[test]
    fn zero_workers_and_foreign_cpus_are_refused_with_the_fix() {
        let err = Plan::new(&config(vec![], None), &[0, 1], &huge(512)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Config);
        assert!(
            err.message.starts_with("lcores.workers: no worker lcores"),
            "{}",
            err.message
        );
        let err = Plan::new(&config(vec![worker(7)], None), &[0, 1], &huge(512)).unwrap_err();
        assert_eq!(
            err.message,
            "lcores.workers[0]: CPU 7 is not one this process may run on (allowed: 0-1)"
        );
    }

    #[test]
    fn undefined_ports_and_double_inputs_are_refused() {
        let mut c = config(vec![worker(1)], Some(false));
        c.pipelines[1].output = vec!["c".into()];
        assert_eq!(
            Plan::new(&c, &[0, 1], &huge(0)).unwrap_err().message,
            "pipelines[1].output[0]: \"c\" is not a port (ports: a, b)"
        );
        let mut c = config(vec![worker(1)], Some(false));
        c.pipelines[1].input = vec!["a".into()];
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert_eq!(err.message, "pipelines[1].input[0]: port \"a\" is already the input of pipelines[0]; a port feeds one pipeline");
    }

    #[test]
    fn hugepages_required_but_missing_fail_with_their_code_and_optional_ones_fall_back() {
        let err = Plan::new(&config(vec![worker(1)], Some(true)), &[0, 1], &huge(0)).unwrap_err();
        assert_eq!(err.code, ErrorCode::NoHugepages);
        assert!(
            err.message.contains("memory.hugepages to false"),
            "{}",
            err.message
        );
        let plan = Plan::new(
            &config(vec![worker(1)], None),
            &[0, 1],
            &Hugepages::default(),
        )
        .unwrap();
        assert!(!plan.hugepages);
        assert!(plan
            .hugepages_note
            .unwrap()
            .contains("no hugepages are reserved"));
        // Without hugepages every mbuf takes a 4 KiB page: -m covers 8191 of them and more.
        assert!(
            matches!(plan.eal.memory, EalMemory::NoHuge { megabytes } if u64::from(megabytes) << 20 > plan.memory.heap_bytes),
            "{:?}",
            plan.eal.memory
        );
        assert!(plan.memory.heap_bytes > 8191 * 4096);
    }

    #[test]
    fn a_pool_too_small_for_the_rings_is_refused() {
        let mut c = config(vec![worker(1)], Some(false));
        c.memory.mbufs = 1023;
        let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
        assert!(
            err.message.starts_with("memory.mbufs: 1023 mbufs"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_automatic_main_lcore_comes_from_the_allowed_cpus() {
        let plan = Plan::new(&config(vec![worker(3)], Some(false)), &[2, 3], &huge(0)).unwrap();
        assert_eq!((plan.eal.main_lcore, plan.workers[0].lcore), (2, 3));
    }

    #[test]
    fn cpu_lists_are_compact() {
        assert_eq!(cpu_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(cpu_list(&[3]), "3");
    }
}
