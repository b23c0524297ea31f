//! Fastpath's data plane.
//!
//! [`Engine::start`] plans a config ([`plan::Plan`]), starts EAL on its own thread, creates
//! the packet pool and ports on the main lcore, and launches one io-forward loop per worker
//! lcore. [`Engine::stats`] reads counters without stopping anything; [`Engine::stop`] sets
//! the stop flag, waits for every worker, closes the ports and cleans EAL up.

pub mod config;
mod error;
pub mod forward;
pub mod plan;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use dpdk::{lcore, Eal, Mempool, Port, PortConfig as DpdkPortConfig};

pub use config::{EngineConfig, SCHEMA_VERSION};
pub use error::{EngineError, ErrorCode};
use forward::{DirectionCounters, Lane};
use plan::Plan;

/// Facts about a running engine, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// The IOVA mode EAL selected: `"PA"` or `"VA"`.
    pub iova_mode: String,
    /// The main (control) lcore.
    pub main_lcore: u32,
    /// Worker lcores and what each forwards.
    pub workers: Vec<WorkerInfo>,
    /// Whether hugepages back packet memory.
    pub hugepages: bool,
    /// Why hugepages are not used, when the engine chose.
    pub hugepages_note: Option<String>,
    /// The packet pool.
    pub mempool: MempoolInfo,
    /// The ports, in id order.
    pub ports: Vec<PortSummary>,
    /// The argv EAL was started with.
    pub eal_args: Vec<String>,
    /// DPDK's version string.
    pub dpdk_version: String,
}

/// A worker lcore and the directions it forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Its lcore id.
    pub lcore: u32,
    /// `"net_null0→net_null1"` per direction.
    pub directions: Vec<String>,
}

/// The packet pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolInfo {
    /// Pool name.
    pub name: String,
    /// Mbufs in it.
    pub capacity: u32,
    /// Bytes per element.
    pub element_size: u32,
    /// Per-lcore cache.
    pub cache: u32,
}

/// One port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSummary {
    /// Display name.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// Driver name.
    pub driver: String,
    /// MAC as `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Link up.
    pub link_up: bool,
}

/// Counters of one port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// Display name.
    pub name: String,
    /// Packets the engine received on this port.
    pub rx_packets: u64,
    /// Packets the engine sent out of this port.
    pub tx_packets: u64,
    /// Packets received on this port and dropped because their output was full.
    pub rx_dropped: u64,
    /// Bytes received (driver counter).
    pub rx_bytes: u64,
    /// Bytes sent (driver counter).
    pub tx_bytes: u64,
    /// Packets the driver missed or could not buffer (`imissed` + `rx_nombuf`).
    pub rx_missed: u64,
    /// Driver rx errors.
    pub rx_errors: u64,
    /// Driver tx errors.
    pub tx_errors: u64,
}

/// Counters of one worker lcore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LcoreCounters {
    /// Lcore id.
    pub lcore: u32,
    /// Packets it received.
    pub rx_packets: u64,
    /// Packets it sent.
    pub tx_packets: u64,
    /// Packets it dropped.
    pub dropped: u64,
    /// Polls that found packets.
    pub busy_polls: u64,
}

/// A snapshot of every counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Nanoseconds since the workers started.
    pub uptime_ns: u64,
    /// Per port, in id order.
    pub ports: Vec<PortCounters>,
    /// Per worker lcore.
    pub lcores: Vec<LcoreCounters>,
    /// Mbufs free in the pool.
    pub mempool_available: u32,
    /// Mbufs in use.
    pub mempool_in_use: u32,
}

/// A running engine. Dropping it stops it.
pub struct Engine {
    info: EngineInfo,
    plan: Plan,
    port_ids: Vec<u16>,
    counters: Arc<[DirectionCounters]>,
    stop: Arc<AtomicBool>,
    started: Instant,
    // Torn down in this order by `shutdown`: workers, ports, pool, EAL.
    ports: Vec<Port>,
    pool: Option<Mempool>,
    eal: Option<Eal>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts an engine from msgpack config bytes (what `@fastpath/control` sends).
    pub fn start_msgpack(bytes: &[u8]) -> Result<Self, EngineError> {
        Self::start(&EngineConfig::from_msgpack(bytes)?)
    }

    /// Plans `config`, starts EAL, the ports and the workers.
    pub fn start(config: &EngineConfig) -> Result<Self, EngineError> {
        let cpus = allowed_cpus()?;
        let hugepages = probe::Hugepages::read(std::path::Path::new("/")).unwrap_or_default();
        let plan = Plan::new(config, &cpus, &hugepages)?;

        let eal = Eal::init(&plan.eal).map_err(|e| eal_init_error(&e, &plan))?;
        let iova_mode = eal.iova_mode().to_string();
        let eal_args = eal.argv().to_vec();

        let setup_config = config.clone();
        let setup_plan = plan.clone();
        // Ports and the pool are made on the main lcore so they land on its NUMA socket.
        let (pool, ports) = eal.run(move || set_up(&setup_config, &setup_plan))?;

        let names: Vec<String> = config
            .ports
            .iter()
            .map(|p| p.display_name().to_owned())
            .collect();
        let summaries = ports
            .iter()
            .zip(&names)
            .map(|(port, name)| {
                let info = port.info().map_err(|e| port_error(name, &e))?;
                let mac = port.mac().map_err(|e| port_error(name, &e))?;
                let link_up = port.link().is_ok_and(|l| l.up);
                Ok(PortSummary {
                    name: name.clone(),
                    id: port.id(),
                    driver: info.driver,
                    mac: format_mac(mac),
                    link_up,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let workers = plan
            .workers
            .iter()
            .map(|w| WorkerInfo {
                lcore: w.lcore,
                directions: w
                    .directions
                    .iter()
                    .map(|&d| {
                        format!(
                            "{}→{}",
                            names[plan.directions[d].rx_port], names[plan.directions[d].tx_port]
                        )
                    })
                    .collect(),
            })
            .collect();
        let info = EngineInfo {
            iova_mode,
            main_lcore: plan.eal.main_lcore,
            workers,
            hugepages: plan.hugepages,
            hugepages_note: plan.hugepages_note.clone(),
            mempool: MempoolInfo {
                name: pool.name(),
                capacity: pool.capacity(),
                element_size: pool.element_size(),
                cache: plan.mbuf_cache,
            },
            ports: summaries,
            eal_args,
            dpdk_version: dpdk::version(),
        };
        let counters: Arc<[DirectionCounters]> = plan
            .directions
            .iter()
            .map(|_| DirectionCounters::default())
            .collect();
        let mut engine = Self {
            info,
            port_ids: ports.iter().map(Port::id).collect(),
            plan,
            counters,
            stop: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            ports,
            pool: Some(pool),
            eal: Some(eal),
        };
        engine.launch_workers()?;
        Ok(engine)
    }

    fn launch_workers(&mut self) -> Result<(), EngineError> {
        let eal = self.eal.as_ref().expect("EAL runs until shutdown");
        for worker in &self.plan.workers {
            let lanes: Vec<Lane> = worker
                .directions
                .iter()
                .map(|&d| {
                    let dir = self.plan.directions[d];
                    Lane {
                        rx: self.ports[dir.rx_port].rx_queue(0),
                        tx: self.ports[dir.tx_port].tx_queue(0),
                        counters: d,
                    }
                })
                .collect();
            let counters = Arc::clone(&self.counters);
            let stop = Arc::clone(&self.stop);
            let lcore_id = worker.lcore;
            eal.run(move || {
                lcore::launch(lcore_id, move || {
                    forward::io_forward(lanes, &counters, &stop)
                })
            })
            .map_err(|e| {
                EngineError::new(
                    ErrorCode::Lcore,
                    format!("could not start the poll loop on lcore {lcore_id}: {e}"),
                )
            })?;
        }
        self.started = Instant::now();
        Ok(())
    }

    /// Facts fixed at start.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// A snapshot of every counter. Cheap: relaxed loads plus one driver stats call per port.
    pub fn stats(&self) -> EngineStats {
        let mut ports: Vec<PortCounters> = self
            .info
            .ports
            .iter()
            .map(|p| PortCounters {
                name: p.name.clone(),
                ..PortCounters::default()
            })
            .collect();
        for (d, dir) in self.plan.directions.iter().enumerate() {
            let c = &self.counters[d];
            ports[dir.rx_port].rx_packets += c.rx_packets.load(Relaxed);
            ports[dir.rx_port].rx_dropped += c.dropped.load(Relaxed);
            ports[dir.tx_port].tx_packets += c.tx_packets.load(Relaxed);
        }
        if self.eal.is_some() {
            for (counters, &id) in ports.iter_mut().zip(&self.port_ids) {
                if let Ok(s) = Port::stats_of(id) {
                    counters.rx_bytes = s.rx_bytes;
                    counters.tx_bytes = s.tx_bytes;
                    counters.rx_missed = s.rx_missed + s.rx_nombuf;
                    counters.rx_errors = s.rx_errors;
                    counters.tx_errors = s.tx_errors;
                }
            }
        }
        let lcores = self
            .plan
            .workers
            .iter()
            .map(|w| {
                let mut l = LcoreCounters {
                    lcore: w.lcore,
                    ..LcoreCounters::default()
                };
                for &d in &w.directions {
                    let c = &self.counters[d];
                    l.rx_packets += c.rx_packets.load(Relaxed);
                    l.tx_packets += c.tx_packets.load(Relaxed);
                    l.dropped += c.dropped.load(Relaxed);
                    l.busy_polls += c.busy_polls.load(Relaxed);
                }
                l
            })
            .collect();
        let (available, in_use) = self
            .pool
            .as_ref()
            .map_or((0, 0), |p| (p.available(), p.in_use()));
        EngineStats {
            uptime_ns: u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            ports,
            lcores,
            mempool_available: available,
            mempool_in_use: in_use,
        }
    }

    /// Whether [`Engine::stop`] has run.
    pub fn is_stopped(&self) -> bool {
        self.eal.is_none()
    }

    /// Stops the workers, closes the ports, frees the pool and cleans EAL up. Returns the
    /// final counters. EAL cannot start again in this process afterwards.
    pub fn stop(&mut self) -> Result<EngineStats, EngineError> {
        if self.eal.is_none() {
            return Err(EngineError::new(ErrorCode::Stopped, "the engine is already stopped; start a new one (in a new process: EAL runs once per process)"));
        }
        let final_stats = self.shutdown()?;
        Ok(final_stats)
    }

    fn shutdown(&mut self) -> Result<EngineStats, EngineError> {
        let Some(eal) = self.eal.take() else {
            return Ok(self.stats());
        };
        self.stop.store(true, Relaxed);
        let lcores: Vec<u32> = self.plan.workers.iter().map(|w| w.lcore).collect();
        let codes = eal.run(move || {
            lcores
                .iter()
                .map(|&l| (l, lcore::wait(l)))
                .collect::<Vec<_>>()
        });
        // Counters are final once every worker has returned; read driver bytes while ports are open.
        self.eal = Some(eal);
        let final_stats = self.stats();
        let eal = self.eal.take().expect("just put back");
        let ports = std::mem::take(&mut self.ports);
        let pool = self.pool.take();
        let closed = eal.run(move || {
            let mut errors = Vec::new();
            for port in ports {
                let name = port.name().to_owned();
                if let Err(e) = port.close() {
                    errors.push(format!("{name}: {e}"));
                }
            }
            drop(pool);
            errors
        });
        let cleaned = eal.cleanup();
        if let Some((lcore, code)) = codes.iter().find(|(_, code)| *code != 0) {
            return Err(EngineError::new(
                ErrorCode::Lcore,
                format!("the poll loop on lcore {lcore} ended with code {code} (a panic reports {}); this is a bug: please report it", lcore::PANICKED),
            ));
        }
        if !closed.is_empty() {
            return Err(EngineError::new(
                ErrorCode::Port,
                format!("closing ports failed: {}", closed.join("; ")),
            ));
        }
        cleaned.map_err(|e| {
            EngineError::new(ErrorCode::EalInit, format!("EAL cleanup failed: {e}"))
        })?;
        Ok(final_stats)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn set_up(config: &EngineConfig, plan: &Plan) -> Result<(Mempool, Vec<Port>), EngineError> {
    let pool = Mempool::pktmbuf("fastpath_pktmbuf", plan.mbufs, plan.mbuf_cache, Mempool::DEFAULT_DATA_ROOM, lcore::socket_id())
        .map_err(|e| {
            EngineError::new(
                ErrorCode::Mempool,
                format!("could not create the packet pool of {} mbufs: {e}; lower memory.mbufs or give EAL more memory", plan.mbufs),
            )
        })?;
    let mut ports = Vec::with_capacity(config.ports.len());
    for (i, pc) in config.ports.iter().enumerate() {
        let device = pc.device_name();
        let mut port = Port::by_name(device).map_err(|_| {
            EngineError::new(
                ErrorCode::Port,
                format!(
                    "ports[{i}]: DPDK created no port for {device:?}; check the driver name and arguments of the spec {:?} (the EAL log above says why)",
                    pc.vdev.as_deref().or(pc.pci.as_deref()).unwrap_or_default()
                ),
            )
        })?;
        let info = port.info().map_err(|e| port_error(pc.display_name(), &e))?;
        if info.max_rx_queues < 1 || info.max_tx_queues < 1 {
            return Err(EngineError::new(
                ErrorCode::Port,
                format!("ports[{i}] ({device}): driver {} offers {} rx / {} tx queues; io forwarding needs one of each", info.driver, info.max_rx_queues, info.max_tx_queues),
            ));
        }
        let conf = DpdkPortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: pc.rx_descriptors,
            tx_descriptors: pc.tx_descriptors,
        };
        port.configure(conf, &pool)
            .map_err(|e| port_error(pc.display_name(), &e))?;
        port.start()
            .map_err(|e| port_error(pc.display_name(), &e))?;
        port.set_promiscuous(pc.promiscuous)
            .map_err(|e| port_error(pc.display_name(), &e))?;
        ports.push(port);
    }
    Ok((pool, ports))
}

fn port_error(name: &str, e: &dpdk::DpdkError) -> EngineError {
    EngineError::new(ErrorCode::Port, format!("port {name}: {e}"))
}

fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn eal_init_error(e: &dpdk::eal::EalInitError, plan: &Plan) -> EngineError {
    use dpdk::eal::EalInitError;
    match e {
        EalInitError::AlreadyUsed => EngineError::new(
            ErrorCode::EalOnce,
            "DPDK's EAL already ran in this process and cannot start again; run each engine in its own process (e.g. child_process.fork)",
        ),
        EalInitError::Failed { error, log } => {
            let said: Vec<&str> = log
                .iter()
                .map(String::as_str)
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    ["fail", "error", "cannot", "unable", "invalid", "not ", "no "].iter().any(|w| l.contains(w))
                })
                .collect();
            let hint = match error.errno {
                libc::ENODEV => "check each --vdev spec: the driver name must be one DPDK has (net_null, net_ring, net_pcap, net_af_packet, net_tap, net_memif, ...) and its arguments valid".to_owned(),
                libc::ENOMEM => "EAL could not get its memory: reserve more hugepages, or run without them (memory.hugepages: false / --no-huge)".to_owned(),
                libc::EACCES | libc::EPERM => "EAL lacks a permission it needs: run as root, or without hugepages (--no-huge)".to_owned(),
                libc::EALREADY => "EAL was already initialised in this process; run each engine in its own process".to_owned(),
                libc::EINVAL => format!("EAL rejected its arguments ({}); check eal.extraArgs and eal.logLevel", plan.eal.to_argv().join(" ")),
                _ => "see the EAL log above for the cause".to_owned(),
            };
            let said = if said.is_empty() { String::new() } else { format!(" EAL said: {}.", said.join("; ")) };
            EngineError::new(ErrorCode::EalInit, format!("DPDK could not start ({error}).{said} To fix: {hint}."))
        }
    }
}

/// The CPUs this process may run on (its affinity mask), ascending.
fn allowed_cpus() -> Result<Vec<u32>, EngineError> {
    // SAFETY: cpu_set_t is plain data; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid out-pointer of the size passed; pid 0 means the calling thread.
    let ret =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if ret != 0 {
        return Err(EngineError::new(
            ErrorCode::Internal,
            format!(
                "sched_getaffinity failed: {}",
                std::io::Error::last_os_error()
            ),
        ));
    }
    Ok((0..libc::CPU_SETSIZE as u32)
        // SAFETY: `set` is initialised and the index is below CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu as usize, &set) })
        .collect())
}
