//! Fastpath's data plane.
//!
//! [`Engine::start`] plans a config ([`plan::Plan`]), starts EAL on its own thread, creates
//! the packet pool and ports on the main lcore, compiles the pipelines
//! ([`program::compile`]) and launches one poll loop per worker lcore ([`worker`]).
//! [`Engine::apply`] swaps in new pipelines without pausing a worker ([`rcu`]);
//! [`Engine::stats`] reads counters without stopping anything; [`Engine::stop`] drains the
//! workers, closes the ports and cleans EAL up.

pub mod bridge;
pub mod config;
mod error;
pub mod net;
pub mod plan;
pub mod program;
pub mod rcu;
pub mod worker;

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpdk::{lcore, Eal, Mempool, Port, PortConfig as DpdkPortConfig};

pub use config::{EngineConfig, SCHEMA_VERSION};
pub use error::{EngineError, ErrorCode};
use plan::{Plan, PortSpec};
use program::{BridgeTables, Generated, PortFacts, Program};
use rcu::Publisher;
use worker::{Shared, Worker};

/// How long `apply` waits for every worker to pick up new pipelines.
const SWAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Facts about a running engine, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// The IOVA mode EAL selected: `"PA"` or `"VA"`.
    pub iova_mode: String,
    /// The main (control) lcore.
    pub main_lcore: u32,
    /// Worker lcores and what each polls.
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
    /// The shared-memory stats segment any process may read.
    pub stats_path: String,
    /// EAL's memory once the ports and the pool were set up.
    pub memory: MemoryInfo,
    /// What this start found and cleared (left by a killed engine of the same name).
    pub notes: Vec<String>,
}

/// EAL's memory as it came up: what it mapped, how IOVA-contiguous it is, how full the heaps
/// are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Bytes EAL mapped.
    pub bytes: u64,
    /// Pages (memsegs) they came in.
    pub segments: u32,
    /// The page size (the largest, if several).
    pub page_size: u64,
    /// Runs of memory contiguous in both virtual and IO address space, in address order.
    pub runs: Vec<dpdk::memory::IovaRun>,
    /// Each NUMA socket's malloc heap.
    pub heaps: Vec<dpdk::memory::HeapStats>,
    /// What the planner counted on, before EAL started.
    pub plan: plan::MemoryPlan,
}

impl MemoryInfo {
    /// Reads it from EAL (any thread, once EAL is up) and publishes it in the stats segment.
    fn read(plan: &plan::MemoryPlan, iova_mode: &str, segment: &stats::Segment) -> Self {
        let segments = dpdk::memory::memsegs();
        let info = Self {
            bytes: segments.iter().map(|s| s.len).sum(),
            segments: segments.len() as u32,
            page_size: segments.iter().map(|s| s.page_size).max().unwrap_or(0),
            runs: dpdk::memory::iova_runs(&segments),
            heaps: dpdk::memory::heap_stats(),
            plan: plan.clone(),
        };
        let summary = stats::MemorySummary {
            iova_mode: match iova_mode {
                "PA" => 1,
                "VA" => 2,
                _ => 0,
            },
            bytes: info.bytes,
            segments: u64::from(info.segments),
            page_size: info.page_size,
            heap_total: info.heaps.iter().map(|h| h.total).sum(),
            heap_allocated: info.heaps.iter().map(|h| h.allocated).sum(),
            planned: plan.heap_pages * plan.page_size,
        };
        let runs: Vec<_> = info
            .runs
            .iter()
            .map(|r| (r.va, r.iova, r.len, r.segments, r.socket))
            .collect();
        segment.set_memory(&summary, &runs);
        info
    }
}

/// A worker lcore and the (port, queue) pairs it polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Its lcore id.
    pub lcore: u32,
    /// The CPU it runs on.
    pub cpu: u32,
    /// `"port:queue"` per owned rx queue.
    pub rx_queues: Vec<String>,
    /// Pipelines whose generator it runs.
    pub generators: Vec<String>,
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
    /// Config name.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// DPDK device name.
    pub device: String,
    /// Driver name.
    pub driver: String,
    /// MAC as `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Link up.
    pub link_up: bool,
    /// Rx queues.
    pub rx_queues: u16,
    /// Tx queues (one per worker, up to the driver's limit).
    pub tx_queues: u16,
    /// Whether rx is spread over the queues by RSS.
    pub rss: bool,
}

/// Counters of one port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// Config name.
    pub name: String,
    /// Packets the engine received on this port.
    pub rx_packets: u64,
    /// Packets the engine sent out of this port.
    pub tx_packets: u64,
    /// Packets for this port dropped because its tx queue was full.
    pub tx_dropped: u64,
    /// Packets received here that no pipeline takes.
    pub unrouted: u64,
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
    /// Packets it could not send (tx full).
    pub tx_dropped: u64,
}

/// Counters of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCounters {
    /// Rule name.
    pub name: String,
    /// Packets it matched.
    pub matched: u64,
}

/// Counters of one pipeline, across every program it has run in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineCounters {
    /// Pipeline name.
    pub name: String,
    /// Packets that entered (received or generated).
    pub in_packets: u64,
    /// Packets handed to outputs (copies included).
    pub out_packets: u64,
    /// Packets its stages dropped.
    pub dropped: u64,
    /// Packets its generator made.
    pub generated: u64,
    /// Its rules (current program's rules, with totals carried by name).
    pub rules: Vec<RuleCounters>,
}

/// A snapshot of every counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Nanoseconds since the workers started.
    pub uptime_ns: u64,
    /// Pipeline generation (1 at start, +1 per apply).
    pub generation: u64,
    /// Per port, in id order.
    pub ports: Vec<PortCounters>,
    /// Per worker lcore.
    pub lcores: Vec<LcoreCounters>,
    /// Per pipeline of the current program.
    pub pipelines: Vec<PipelineCounters>,
    /// Mbufs free in the pool.
    pub mempool_available: u32,
    /// Mbufs in use.
    pub mempool_in_use: u32,
    /// Set once a worker's loop has failed (panicked): what happened and what to do. The
    /// other workers run on; the engine should be stopped.
    pub failure: Option<String>,
    /// 10 ms samples that found fewer free mbufs than a burst (the pool ran dry: receive and
    /// generate stall until packets are sent; raise `memory.mbufs`).
    pub mempool_dry_samples: u64,
}

/// A running engine. Dropping it stops it.
pub struct Engine {
    config: EngineConfig,
    plan: Plan,
    facts: PortFacts,
    info: EngineInfo,
    started: Instant,
    program: Arc<Program>,
    bridges: BridgeTables,
    generated: Generated,
    // Torn down in this order by `shutdown`: workers, ports, shared (pool), EAL.
    shared: Option<Arc<Shared>>,
    heartbeat: Option<Heartbeat>,
    ports: Vec<Port>,
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

        // The stats segment comes first: a name clash is reported before EAL is spent.
        let (segment, notes) = create_segment(&plan, &hugepages, config.stats.group.as_deref())?;
        let segment = Arc::new(segment);
        let stats_path = segment.path().display().to_string();
        let eal = Eal::init(&plan.eal).map_err(|e| eal_init_error(&e, &plan))?;
        let iova_mode = eal.iova_mode().to_string();
        segment.set_tsc_hz(dpdk::tsc_hz());
        let eal_args = eal.argv().to_vec();

        let setup_plan = plan.clone();
        // Ports and the pool are made on the main lcore so they land on its NUMA socket.
        let (pool, ports, summaries) = eal.run(move || set_up(&setup_plan))?;
        for (p, s) in summaries.iter().enumerate() {
            segment.set_queue_counts(p, s.rx_queues, s.tx_queues);
        }
        let facts = PortFacts {
            macs: summaries
                .iter()
                .map(|s| net::parse_mac(&s.mac).unwrap_or_default())
                .collect(),
            tx_queues: summaries.iter().map(|s| s.tx_queues).collect(),
            drivers: summaries.iter().map(|s| s.driver.clone()).collect(),
        };
        let mut bridges = BridgeTables::new();
        let mut generated = Generated::new();
        let program = Arc::new(program::compile(
            config,
            &plan,
            &facts,
            &mut bridges,
            &mut generated,
            &segment,
        )?);

        let workers = worker_infos(&plan, &program);
        let summaries_ids: Vec<u16> = summaries.iter().map(|s| s.id).collect();
        let main_cpu = plan
            .eal
            .cpus
            .first()
            .map_or(plan.eal.main_lcore, |&(_, cpu)| cpu);
        let memory = MemoryInfo::read(&plan.memory, &iova_mode, &segment);
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
            stats_path,
            memory,
            notes,
        };
        let shared = Arc::new(Shared {
            publisher: Publisher::new(Arc::clone(&program), plan.workers.len()),
            control: AtomicU8::new(worker::RUN),
            pool,
            segment,
            ports: plan.ports.len(),
            epoch: Instant::now(),
            counting: config.stats.counters,
            failure: std::sync::OnceLock::new(),
            pool_dry_samples: std::sync::atomic::AtomicU64::new(0),
            // Read here, on the control thread, before any worker runs: the reliability
            // tests' way to make a worker's loop panic. Never set in production.
            fault_lcore: std::env::var("FASTPATH_FAULT_PANIC_LCORE")
                .ok()
                .and_then(|v| v.trim().parse().ok()),
        });
        let mut engine = Self {
            config: config.clone(),
            plan,
            facts,
            info,
            started: Instant::now(),
            program,
            bridges,
            generated,
            heartbeat: Some(Heartbeat::start(
                Arc::clone(&shared),
                summaries_ids,
                main_cpu,
            )),
            shared: Some(shared),
            ports,
            eal: Some(eal),
        };
        engine.launch_workers()?;
        Ok(engine)
    }

    fn launch_workers(&mut self) -> Result<(), EngineError> {
        let eal = self.eal.as_ref().expect("EAL runs until shutdown");
        let shared = self
            .shared
            .as_ref()
            .expect("shared state lives until shutdown");
        for (w, wp) in self.plan.workers.iter().enumerate() {
            let queue_error = |e: dpdk::DpdkError| {
                EngineError::new(
                    ErrorCode::Internal,
                    format!("{e}; this is a bug: please report it"),
                )
            };
            let rx = wp
                .rx
                .iter()
                .map(|&(p, q)| Ok((p as u16, self.ports[p].rx_queue(q).map_err(queue_error)?)))
                .collect::<Result<Vec<_>, EngineError>>()?;
            let tx = self
                .ports
                .iter_mut()
                .zip(&self.facts.tx_queues)
                .map(|(port, &queues)| {
                    (w < usize::from(queues))
                        .then(|| port.tx_queue(w as u16).map_err(queue_error))
                        .transpose()
                })
                .collect::<Result<Vec<_>, EngineError>>()?;
            let worker = Worker::new(w, rx, tx, Arc::clone(shared));
            let lcore_id = wp.lcore;
            if let Err(e) = eal.run(move || lcore::launch(lcore_id, move || worker.run(lcore_id))) {
                // Workers already running must not wait for an ack from one that never ran.
                shared.publisher.ack(w, rcu::OFFLINE);
                return Err(EngineError::new(
                    ErrorCode::Lcore,
                    format!("could not start the poll loop on lcore {lcore_id}: {e}"),
                ));
            }
        }
        self.started = Instant::now();
        Ok(())
    }

    /// Facts fixed at start.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// The config the engine runs (as last applied).
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Swaps in `config`'s pipelines without pausing any worker, losing or duplicating any
    /// packet. Ports, lcores, memory and EAL settings must be unchanged (they need a restart:
    /// `ERR_NEEDS_RESTART`). A refused config leaves the running engine untouched.
    pub fn apply(&mut self, config: &EngineConfig) -> Result<u64, EngineError> {
        let Some(shared) = self.shared.clone() else {
            return Err(EngineError::new(
                ErrorCode::Stopped,
                "the engine is stopped; start a new one",
            ));
        };
        needs_restart(&self.config, config)?;
        // Pipelines are checked against the running ports and layout: every queue they need
        // polled must already have its worker (compile refuses otherwise).
        self.plan.check_pipelines(config)?;
        let mut generated = self.generated.clone();
        let mut bridges = self.bridges.clone();
        let next = Arc::new(program::compile(
            config,
            &self.plan,
            &self.facts,
            &mut bridges,
            &mut generated,
            &shared.segment,
        )?);
        let published = shared.publisher.publish(Arc::clone(&next), SWAP_TIMEOUT);
        // Either way the workers that answer now run `next`; keep the engine's view with them.
        // Counters need no hand-over: they live in the stats segment under slots kept by name.
        self.program = next;
        self.bridges = bridges;
        self.generated = generated;
        self.config = config.clone();
        if published.is_err() {
            return Err(EngineError::new(
                ErrorCode::Internal,
                "a worker did not pick up the new pipelines within 5 s (the new pipelines run on the others); this is a bug: please report it",
            ));
        }
        Ok(shared.publisher.generation())
    }

    fn pipeline_totals(&self) -> Vec<PipelineCounters> {
        let program = &self.program;
        let workers = self.plan.workers.len();
        let sum = |slot: usize, field: usize| -> u64 {
            (0..workers)
                .map(|w| program.segment.pipeline_counters(w, slot)[field].load(Relaxed))
                .sum()
        };
        program
            .pipelines
            .iter()
            .enumerate()
            .map(|(i, p)| PipelineCounters {
                name: p.name.clone(),
                in_packets: sum(p.slot, program::counter::IN),
                out_packets: sum(p.slot, program::counter::OUT),
                dropped: sum(p.slot, program::counter::DROPPED),
                generated: sum(p.slot, program::counter::GENERATED),
                rules: program
                    .rule_names
                    .iter()
                    .filter(|(pi, _, _)| *pi == i)
                    .map(|(_, name, slot)| RuleCounters {
                        name: name.clone(),
                        matched: (0..workers)
                            .map(|w| program.segment.rule_counter(w, *slot).load(Relaxed))
                            .sum(),
                    })
                    .collect(),
            })
            .collect()
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
        let mut lcores: Vec<LcoreCounters> = self
            .plan
            .workers
            .iter()
            .map(|w| LcoreCounters {
                lcore: w.lcore,
                ..LcoreCounters::default()
            })
            .collect();
        let (mut generation, mut available, mut in_use) = (0, 0, 0);
        if let Some(shared) = &self.shared {
            generation = shared.publisher.generation();
            available = shared.pool.available();
            in_use = shared.pool.in_use();
            for (w, lcore) in lcores.iter_mut().enumerate() {
                for (p, port) in ports.iter_mut().enumerate() {
                    let lane = shared.lane(w, p);
                    let (rx, tx, dropped) = (
                        lane.rx_packets.load(Relaxed),
                        lane.tx_packets.load(Relaxed),
                        lane.tx_dropped.load(Relaxed),
                    );
                    port.rx_packets += rx;
                    port.tx_packets += tx;
                    port.tx_dropped += dropped;
                    port.unrouted += lane.unrouted.load(Relaxed);
                    lcore.rx_packets += rx;
                    lcore.tx_packets += tx;
                    lcore.tx_dropped += dropped;
                }
            }
            for (counters, summary) in ports.iter_mut().zip(&self.info.ports) {
                if let Ok(s) = Port::stats_of(summary.id) {
                    if !shared.counting {
                        // No software counters: the driver's are what there is.
                        counters.rx_packets = s.rx_packets;
                        counters.tx_packets = s.tx_packets;
                    }
                    counters.rx_bytes = s.rx_bytes;
                    counters.tx_bytes = s.tx_bytes;
                    counters.rx_missed = s.rx_missed + s.rx_nombuf;
                    counters.rx_errors = s.rx_errors;
                    counters.tx_errors = s.tx_errors;
                }
            }
        }
        EngineStats {
            uptime_ns: u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            generation,
            ports,
            lcores,
            pipelines: self.pipeline_totals(),
            mempool_available: available,
            mempool_in_use: in_use,
            failure: self
                .shared
                .as_ref()
                .and_then(|shared| shared.failure.get().cloned()),
            mempool_dry_samples: self
                .shared
                .as_ref()
                .map_or(0, |shared| shared.pool_dry_samples.load(Relaxed)),
        }
    }

    /// Whether [`Engine::stop`] has run.
    pub fn is_stopped(&self) -> bool {
        self.eal.is_none()
    }

    /// Stops generators, lets the workers drain what is in flight, stops them, closes the
    /// ports, frees the pool and cleans EAL up. Returns the final counters. EAL cannot start
    /// again in this process afterwards.
    pub fn stop(&mut self) -> Result<EngineStats, EngineError> {
        if self.eal.is_none() {
            return Err(EngineError::new(
                ErrorCode::Stopped,
                "the engine is already stopped; start a new one (in a new process: EAL runs once per process)",
            ));
        }
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<EngineStats, EngineError> {
        let Some(eal) = self.eal.take() else {
            return Ok(self.stats());
        };
        if let Some(shared) = &self.shared {
            shared.control.store(worker::DRAIN, Relaxed);
        }
        let lcores: Vec<u32> = self.plan.workers.iter().map(|w| w.lcore).collect();
        let codes = eal.run(move || {
            lcores
                .iter()
                .map(|&l| (l, lcore::wait(l)))
                .collect::<Vec<_>>()
        });
        // Counters are final once every worker has returned; read driver bytes while ports are
        // open. The sampler (which reads driver counters too) stops before the ports close.
        let final_stats = self.stats();
        self.heartbeat = None;
        self.program.segment.retire();
        let ports = std::mem::take(&mut self.ports);
        let closed = eal.run(move || {
            ports
                .into_iter()
                .filter_map(|port| {
                    let name = port.name().to_owned();
                    port.close().err().map(|e| format!("{name}: {e}"))
                })
                .collect::<Vec<_>>()
        });
        // The pool and the stats segment go with the last reference to the shared state (the
        // workers and the sampler dropped theirs).
        self.shared = None;
        let cleaned = eal.cleanup();
        if let Some(failure) = &final_stats.failure {
            return Err(EngineError::new(
                ErrorCode::Lcore,
                format!("{failure} (the engine is stopped and its ports, memory and files are released)"),
            ));
        }
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

/// Samples the counters into the stats segment's ring and beats its heartbeat every 10 ms
/// until dropped.
#[derive(Debug)]
struct Heartbeat {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(shared: Arc<Shared>, port_ids: Vec<u16>, cpu: u32) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fastpath-heartbeat".into())
            .spawn(move || {
                // Keep off the workers' CPUs: run where the (mostly idle) main lcore runs.
                pin_to(cpu);
                while !flag.load(Relaxed) {
                    for (p, &id) in port_ids.iter().enumerate() {
                        if let Ok(d) = Port::stats_of(id) {
                            let values = [
                                d.rx_packets,
                                d.tx_packets,
                                d.rx_bytes,
                                d.tx_bytes,
                                d.rx_missed,
                                d.rx_errors,
                                d.tx_errors,
                                d.rx_nombuf,
                            ];
                            shared.segment.set_driver(p, values);
                            shared.segment.set_queues(p, &d.queues);
                        }
                    }
                    if (shared.pool.available() as usize) < dpdk::BURST_SIZE {
                        shared.pool_dry_samples.fetch_add(1, Relaxed);
                    }
                    shared.segment.sample();
                    shared.segment.beat();
                    std::thread::park_timeout(Duration::from_millis(stats::SAMPLE_PERIOD_MS));
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Pins the calling thread to `cpu` (best effort: on failure it keeps its affinity).
fn pin_to(cpu: u32) {
    // SAFETY: cpu_set_t is plain data; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if (cpu as usize) < libc::CPU_SETSIZE as usize {
        // SAFETY: `set` is initialised and the index is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu as usize, &mut set) };
        // SAFETY: pid 0 is the calling thread; `set` is a valid mask of the size passed.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
}

/// Where stats segments live: every hugetlbfs mount, then /dev/shm.
pub fn stats_dirs() -> Vec<std::path::PathBuf> {
    let hugepages = probe::Hugepages::read(std::path::Path::new("/")).unwrap_or_default();
    hugepages
        .mounts
        .into_iter()
        .map(|m| m.path)
        .chain([std::path::PathBuf::from("/dev/shm")])
        .collect()
}

/// Creates the stats segment: in hugetlbfs when the engine uses hugepages and one is
/// mounted, else in /dev/shm. Refuses a name a live engine uses; replaces a stale one.
/// Also returns notes on what a killed engine of the same name left and this one cleared.
fn create_segment(
    plan: &Plan,
    hugepages: &probe::Hugepages,
    group: Option<&str>,
) -> Result<(stats::Segment, Vec<String>), EngineError> {
    let name = plan.eal.file_prefix.clone();
    let mut notes = Vec::new();
    for dir in stats_dirs() {
        let path = dir.join(stats::file_name(&name));
        if let Ok(existing) = stats::Reader::open(&path) {
            if existing.alive().unwrap_or(false) {
                return Err(EngineError::config(
                    "eal.filePrefix",
                    format!("an engine named {name:?} is running (pid {}); give this one another eal.filePrefix", existing.pid().unwrap_or(0)),
                ));
            }
            // A stale segment (its engine died): clear it, so that readers stop listing it.
            if std::fs::remove_file(&path).is_ok() {
                notes.push(format!(
                    "cleared the stats segment {} left by a stopped or killed engine of this name (pid {})",
                    path.display(),
                    existing.pid().unwrap_or(0)
                ));
            }
        }
    }
    let runtime = eal_runtime_base().join(&name);
    if runtime.exists() {
        notes.push(format!(
            "found {} left by a killed engine of this name; EAL takes it over and it is removed at stop",
            runtime.display()
        ));
    }
    let (dir, page) = match hugepages.mounts.first().filter(|_| plan.hugepages) {
        Some(m) => (
            m.path.clone(),
            m.page_size_kb.unwrap_or(2048) as usize * 1024,
        ),
        None => (std::path::PathBuf::from("/dev/shm"), 4096),
    };
    let spec = stats::SegmentSpec {
        name,
        ports: plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i as u16))
            .collect(),
        lcores: plan.workers.iter().map(|w| (w.lcore, w.cpu)).collect(),
        rx_owners: plan
            .ports
            .iter()
            .enumerate()
            .map(|(p, pp)| (0..pp.rx_queues).map(|q| plan.owner(p, q)).collect())
            .collect(),
    };
    let segment = stats::Segment::create(&dir, page, &spec).map_err(|e| {
        EngineError::new(
            ErrorCode::Internal,
            format!(
                "could not create the stats segment in {}: {e}",
                dir.display()
            ),
        )
    })?;
    if let Some(group) = group {
        set_group(segment.path(), group)?;
    }
    Ok((segment, notes))
}

/// Where EAL keeps its runtime directories (`<base>/<file-prefix>`), as DPDK 22.11 picks it:
/// `/var/run/dpdk` for root, else `$XDG_RUNTIME_DIR/dpdk`, else `/tmp/dpdk`.
fn eal_runtime_base() -> std::path::PathBuf {
    if probe::is_root() {
        return std::path::PathBuf::from("/var/run/dpdk");
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map_or_else(
            || std::path::PathBuf::from("/tmp"),
            std::path::PathBuf::from,
        )
        .join("dpdk")
}

/// Gives the stats segment to `group` (a name or a numeric id), so that its members can
/// read it (it is 0640).
fn set_group(path: &std::path::Path, group: &str) -> Result<(), EngineError> {
    let gid = if let Ok(gid) = group.parse::<u32>() {
        gid
    } else {
        let c_name = std::ffi::CString::new(group)
            .map_err(|_| EngineError::config("stats.group", "a group name has no NUL byte"))?;
        // SAFETY: getgrnam reads the group database; the pointer it returns is read at
        // once, before any other call could reuse its static storage.
        let entry = unsafe { libc::getgrnam(c_name.as_ptr()) };
        if entry.is_null() {
            return Err(EngineError::config(
                "stats.group",
                format!("there is no group named {group:?} on this machine"),
            ));
        }
        // SAFETY: non-null, as checked.
        unsafe { (*entry).gr_gid }
    };
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| EngineError::new(ErrorCode::Stats, "the segment path has a NUL byte"))?;
    // SAFETY: chown(2) on a NUL-terminated path; u32::MAX keeps the owner.
    if unsafe { libc::chown(c_path.as_ptr(), u32::MAX, gid) } != 0 {
        return Err(EngineError::new(
            ErrorCode::Stats,
            format!(
                "could not give {} to group {group}: {}; a user may only choose a group it belongs to",
                path.display(),
                std::io::Error::last_os_error()
            ),
        ));
    }
    Ok(())
}

/// What each worker polls and generates, for [`EngineInfo`].
fn worker_infos(plan: &Plan, program: &program::Program) -> Vec<WorkerInfo> {
    plan.workers
        .iter()
        .enumerate()
        .map(|(w, wp)| WorkerInfo {
            lcore: wp.lcore,
            cpu: wp.cpu,
            rx_queues: wp
                .rx
                .iter()
                .map(|&(p, q)| format!("{}:{q}", plan.ports[p].name))
                .collect(),
            generators: program
                .pipelines
                .iter()
                .filter(|p| p.generator.as_ref().is_some_and(|g| g.worker == w))
                .map(|p| p.name.clone())
                .collect(),
        })
        .collect()
}

/// Refuses a live change to anything but the pipelines, naming the first difference.
fn needs_restart(running: &EngineConfig, next: &EngineConfig) -> Result<(), EngineError> {
    let refuse = |what: String| {
        Err(EngineError::new(
            ErrorCode::NeedsRestart,
            format!("{what}: that needs a port or EAL restart, so apply() refuses it and the engine runs on unchanged; stop and start with the new config"),
        ))
    };
    if running.ports.len() != next.ports.len() {
        return refuse(format!(
            "ports: {} ports now, {} in the new config",
            running.ports.len(),
            next.ports.len()
        ));
    }
    for (a, b) in running.ports.iter().zip(&next.ports) {
        if a.name != b.name {
            return refuse(format!(
                "ports: port {:?} would become {:?}",
                a.name, b.name
            ));
        }
        if a.queues != b.queues {
            return refuse(format!(
                "ports.{}.queues changed from {} to {}",
                a.name, a.queues, b.queues
            ));
        }
        if a != b {
            return refuse(format!("ports.{} changed", a.name));
        }
    }
    if running.lcores != next.lcores {
        return refuse("lcores changed".to_owned());
    }
    if running.memory != next.memory {
        return refuse("memory changed".to_owned());
    }
    if running.eal != next.eal {
        return refuse("eal changed".to_owned());
    }
    if running.stats != next.stats {
        return refuse("stats changed".to_owned());
    }
    Ok(())
}

type SetUp = (Mempool, Vec<Port>, Vec<PortSummary>);

fn set_up(plan: &Plan) -> Result<SetUp, EngineError> {
    let pool = Mempool::pktmbuf("fastpath_pktmbuf", plan.mbufs, plan.mbuf_cache, Mempool::DEFAULT_DATA_ROOM, lcore::socket_id())
        .map_err(|e| {
            EngineError::new(
                ErrorCode::Mempool,
                format!("could not create the packet pool of {} mbufs: {e}; lower memory.mbufs or give EAL more memory", plan.mbufs),
            )
        })?;
    let mut ports = Vec::with_capacity(plan.ports.len());
    let mut summaries = Vec::with_capacity(plan.ports.len());
    let workers = plan.workers.len() as u16;
    for pp in &plan.ports {
        let path = format!("ports.{}", pp.name);
        let mut port = Port::by_name(&pp.device).map_err(|_| {
            let spec = match &pp.spec {
                PortSpec::Vdev(v) => v.as_str(),
                PortSpec::Pci(a) => a.as_str(),
            };
            EngineError::new(
                ErrorCode::Port,
                format!("{path}: DPDK created no port for {:?} (spec {spec:?}); check the driver name and arguments (the EAL log above says why)", pp.device),
            )
        })?;
        let port_error =
            |e: dpdk::DpdkError| EngineError::new(ErrorCode::Port, format!("{path}: {e}"));
        let info = port.info().map_err(port_error)?;
        if pp.rx_queues > info.max_rx_queues {
            return Err(EngineError::config(
                &format!("{path}.queues"),
                format!(
                    "driver {} offers at most {} rx queue(s) here; {} were asked for",
                    info.driver, info.max_rx_queues, pp.rx_queues
                ),
            ));
        }
        let tx_queues = workers.min(info.max_tx_queues).max(1);
        let rss = pp.rx_queues > 1 && info.rss_flow_types != 0;
        let conf = DpdkPortConfig {
            rx_queues: pp.rx_queues,
            tx_queues,
            rx_descriptors: pp.rx_descriptors,
            tx_descriptors: pp.tx_descriptors,
            rss_flow_types: if rss { info.rss_flow_types } else { 0 },
        };
        port.configure(conf, &pool).map_err(port_error)?;
        if let Some(mtu) = pp.mtu {
            port.set_mtu(mtu).map_err(port_error)?;
        }
        if let Some(mac) = pp.mac {
            port.set_mac(mac).map_err(port_error)?;
        }
        port.start().map_err(port_error)?;
        port.set_promiscuous(pp.promiscuous).map_err(port_error)?;
        summaries.push(PortSummary {
            name: pp.name.clone(),
            id: port.id(),
            device: pp.device.clone(),
            driver: info.driver,
            mac: net::format_mac(port.mac().map_err(port_error)?),
            link_up: port.link().is_ok_and(|l| l.up),
            rx_queues: pp.rx_queues,
            tx_queues,
            rss,
        });
        ports.push(port);
    }
    Ok((pool, ports, summaries))
}

fn eal_init_error(e: &dpdk::eal::EalInitError, plan: &Plan) -> EngineError {
    use dpdk::eal::EalInitError;
    match e {
        EalInitError::AlreadyUsed => EngineError::new(
            ErrorCode::EalAlready,
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

/// Checks msgpack config bytes as far as is possible without starting DPDK: decoding, the
/// lcore/port/memory plan on this machine, and the pipelines' references.
pub fn check(bytes: &[u8]) -> Result<(), EngineError> {
    plan_config(bytes).map(drop)
}

/// Plans a msgpack-encoded config on this machine as it is now (CPUs, hugepages), without
/// starting DPDK: what `fastpath mem plan` prints.
pub fn plan_config(bytes: &[u8]) -> Result<Plan, EngineError> {
    let config = EngineConfig::from_msgpack(bytes)?;
    let hugepages = probe::Hugepages::read(std::path::Path::new("/")).unwrap_or_default();
    Plan::new(&config, &allowed_cpus()?, &hugepages)
}
