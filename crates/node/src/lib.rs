//! The native binding `@fastpath/control` loads. Thin glue: decode nothing, decide nothing.
//!
//! Errors reach JavaScript as `Error`s whose message starts with the stable code in
//! brackets (`[ERR_EAL_INIT] ...`); `@fastpath/control` turns that into `error.code`.
//! Nothing here may panic across the boundary: engine calls run under `catch_unwind`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use engine::{Engine, EngineError, ErrorCode};
use napi::bindgen_prelude::{ArrayBuffer, AsyncTask, Buffer};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;
mod config;

fn to_js(e: &EngineError) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

/// Runs `f`, turning a panic into an `ERR_INTERNAL` error instead of unwinding into Node.
fn guarded<T>(what: &str, f: impl FnOnce() -> std::result::Result<T, EngineError>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| to_js(&e)),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let e = EngineError::new(
                ErrorCode::Internal,
                format!("{what} panicked ({why}); this is a bug: please report it"),
            );
            Err(to_js(&e))
        }
    }
}

/// The stable error codes, in the order the engine defines them.
#[napi]
pub fn error_codes() -> Vec<String> {
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect()
}

/// The config schema version this binding reads.
#[napi]
pub fn schema_version() -> u32 {
    engine::SCHEMA_VERSION
}

/// A worker lcore and what it polls.
#[napi(object)]
#[derive(Debug)]
pub struct WorkerInfo {
    pub lcore: u32,
    pub cpu: u32,
    /// `"port:queue"` per owned rx queue.
    pub rx_queues: Vec<String>,
    /// Pipelines whose generator it runs.
    pub generators: Vec<String>,
}

/// The packet pool.
#[napi(object)]
#[derive(Debug)]
pub struct MempoolInfo {
    pub name: String,
    pub capacity: u32,
    pub element_size: u32,
    pub cache: u32,
}

/// One port.
#[napi(object)]
#[derive(Debug)]
pub struct PortSummary {
    pub name: String,
    pub id: u32,
    pub device: String,
    pub driver: String,
    pub mac: String,
    pub link_up: bool,
    pub rx_queues: u32,
    pub tx_queues: u32,
    pub rss: bool,
}

/// Facts fixed at start.
#[napi(object)]
#[derive(Debug)]
pub struct EngineInfo {
    pub iova_mode: String,
    pub main_lcore: u32,
    pub workers: Vec<WorkerInfo>,
    pub hugepages: bool,
    pub hugepages_note: Option<String>,
    pub mempool: MempoolInfo,
    pub ports: Vec<PortSummary>,
    pub eal_args: Vec<String>,
    pub dpdk_version: String,
    /// The shared-memory stats segment any process may read.
    pub stats_path: String,
    /// EAL's memory once the ports and the pool were set up.
    pub memory: MemoryInfo,
    /// What this start found and cleared (left by a killed engine of the same name).
    pub notes: Vec<String>,
}

/// A run of memory contiguous in virtual and IO address space. Addresses are hex strings.
#[napi(object)]
#[derive(Debug)]
pub struct IovaRun {
    pub va: String,
    pub iova: String,
    pub bytes: f64,
    pub page_size: f64,
    pub socket: i32,
    pub segments: u32,
}

/// A NUMA socket's malloc heap.
#[napi(object)]
#[derive(Debug)]
pub struct HeapStats {
    pub socket: i32,
    pub total_bytes: f64,
    pub allocated_bytes: f64,
    pub largest_free_bytes: f64,
}

/// EAL's memory once the engine is up.
#[napi(object)]
#[derive(Debug)]
pub struct MemoryInfo {
    pub bytes: f64,
    pub segments: u32,
    pub page_size: f64,
    pub runs: Vec<IovaRun>,
    pub heaps: Vec<HeapStats>,
    /// What the planner counted on before EAL started.
    pub plan: MemoryPlan,
}

/// The memory a config needs (`fastpath mem plan`; the engine starts EAL with it).
#[napi(object)]
#[derive(Debug)]
pub struct MemoryPlan {
    pub page_size: f64,
    pub mempool_bytes: f64,
    pub port_bytes: f64,
    pub eal_bytes: f64,
    pub heap_bytes: f64,
    pub heap_pages: f64,
    pub stats_pages: f64,
    pub pages: f64,
    /// Whether the engine would run on hugepages with this machine as it is now.
    pub hugepages: bool,
    /// Why not, when it would not.
    pub hugepages_note: Option<String>,
    /// The EAL memory arguments it would start with.
    pub eal_args: Vec<String>,
}

fn plan_to_js(
    p: &engine::plan::MemoryPlan,
    hugepages: bool,
    note: Option<String>,
    eal_args: Vec<String>,
) -> MemoryPlan {
    MemoryPlan {
        page_size: p.page_size as f64,
        mempool_bytes: p.mempool_bytes as f64,
        port_bytes: p.port_bytes as f64,
        eal_bytes: p.eal_bytes as f64,
        heap_bytes: p.heap_bytes as f64,
        heap_pages: p.heap_pages as f64,
        stats_pages: p.stats_pages as f64,
        pages: p.pages as f64,
        hugepages,
        hugepages_note: note,
        eal_args,
    }
}

/// Counters of one port. Counts are integers below 2^53.
#[napi(object)]
#[derive(Debug)]
pub struct PortCounters {
    pub name: String,
    pub rx_packets: f64,
    pub tx_packets: f64,
    pub tx_dropped: f64,
    pub unrouted: f64,
    pub rx_bytes: f64,
    pub tx_bytes: f64,
    pub rx_missed: f64,
    pub rx_errors: f64,
    pub tx_errors: f64,
}

/// Counters of one worker lcore.
#[napi(object)]
#[derive(Debug)]
pub struct LcoreCounters {
    pub lcore: u32,
    pub rx_packets: f64,
    pub tx_packets: f64,
    pub tx_dropped: f64,
}

/// Counters of one rule.
#[napi(object)]
#[derive(Debug)]
pub struct RuleCounters {
    pub name: String,
    pub matched: f64,
}

/// Counters of one pipeline, across every program it has run in.
#[napi(object)]
#[derive(Debug)]
pub struct PipelineCounters {
    pub name: String,
    pub in_packets: f64,
    pub out_packets: f64,
    pub dropped: f64,
    pub generated: f64,
    pub rules: Vec<RuleCounters>,
}

/// A snapshot of every counter.
#[napi(object)]
#[derive(Debug)]
pub struct EngineStats {
    pub uptime_ns: f64,
    pub generation: f64,
    pub ports: Vec<PortCounters>,
    pub lcores: Vec<LcoreCounters>,
    pub pipelines: Vec<PipelineCounters>,
    pub mempool_available: u32,
    pub mempool_in_use: u32,
    /// Set once a worker's loop failed (panicked): what happened and what to do.
    pub failure: Option<String>,
    /// 10 ms samples that found fewer free mbufs than a burst (the pool ran dry).
    pub mempool_dry_samples: f64,
}

fn memory_to_js(m: &engine::MemoryInfo) -> MemoryInfo {
    let hex = |v: u64| {
        if v == u64::MAX {
            "unknown".to_owned()
        } else {
            format!("{v:#x}")
        }
    };
    MemoryInfo {
        bytes: m.bytes as f64,
        segments: m.segments,
        page_size: m.page_size as f64,
        runs: m
            .runs
            .iter()
            .map(|r| IovaRun {
                va: hex(r.va),
                iova: hex(r.iova),
                bytes: r.len as f64,
                page_size: r.page_size as f64,
                socket: r.socket,
                segments: r.segments,
            })
            .collect(),
        heaps: m
            .heaps
            .iter()
            .map(|h| HeapStats {
                socket: h.socket,
                total_bytes: h.total as f64,
                allocated_bytes: h.allocated as f64,
                largest_free_bytes: h.largest_free as f64,
            })
            .collect(),
        plan: plan_to_js(&m.plan, m.page_size > 4096, None, Vec::new()),
    }
}

fn info_to_js(i: &engine::EngineInfo) -> EngineInfo {
    EngineInfo {
        memory: memory_to_js(&i.memory),
        notes: i.notes.clone(),
        iova_mode: i.iova_mode.clone(),
        main_lcore: i.main_lcore,
        workers: i
            .workers
            .iter()
            .map(|w| WorkerInfo {
                lcore: w.lcore,
                cpu: w.cpu,
                rx_queues: w.rx_queues.clone(),
                generators: w.generators.clone(),
            })
            .collect(),
        hugepages: i.hugepages,
        hugepages_note: i.hugepages_note.clone(),
        mempool: MempoolInfo {
            name: i.mempool.name.clone(),
            capacity: i.mempool.capacity,
            element_size: i.mempool.element_size,
            cache: i.mempool.cache,
        },
        ports: i
            .ports
            .iter()
            .map(|p| PortSummary {
                name: p.name.clone(),
                id: u32::from(p.id),
                device: p.device.clone(),
                driver: p.driver.clone(),
                mac: p.mac.clone(),
                link_up: p.link_up,
                rx_queues: u32::from(p.rx_queues),
                tx_queues: u32::from(p.tx_queues),
                rss: p.rss,
            })
            .collect(),
        eal_args: i.eal_args.clone(),
        dpdk_version: i.dpdk_version.clone(),
        stats_path: i.stats_path.clone(),
    }
}

fn stats_to_js(s: &engine::EngineStats) -> EngineStats {
    EngineStats {
        uptime_ns: s.uptime_ns as f64,
        generation: s.generation as f64,
        ports: s
            .ports
            .iter()
            .map(|p| PortCounters {
                name: p.name.clone(),
                rx_packets: p.rx_packets as f64,
                tx_packets: p.tx_packets as f64,
                tx_dropped: p.tx_dropped as f64,
                unrouted: p.unrouted as f64,
                rx_bytes: p.rx_bytes as f64,
                tx_bytes: p.tx_bytes as f64,
                rx_missed: p.rx_missed as f64,
                rx_errors: p.rx_errors as f64,
                tx_errors: p.tx_errors as f64,
            })
            .collect(),
        lcores: s
            .lcores
            .iter()
            .map(|l| LcoreCounters {
                lcore: l.lcore,
                rx_packets: l.rx_packets as f64,
                tx_packets: l.tx_packets as f64,
                tx_dropped: l.tx_dropped as f64,
            })
            .collect(),
        pipelines: s
            .pipelines
            .iter()
            .map(|p| PipelineCounters {
                name: p.name.clone(),
                in_packets: p.in_packets as f64,
                out_packets: p.out_packets as f64,
                dropped: p.dropped as f64,
                generated: p.generated as f64,
                rules: p
                    .rules
                    .iter()
                    .map(|r| RuleCounters {
                        name: r.name.clone(),
                        matched: r.matched as f64,
                    })
                    .collect(),
            })
            .collect(),
        mempool_available: s.mempool_available,
        mempool_in_use: s.mempool_in_use,
        failure: s.failure.clone(),
        mempool_dry_samples: s.mempool_dry_samples as f64,
    }
}

fn stopped() -> EngineError {
    EngineError::new(
        ErrorCode::Stopped,
        "the engine is stopped; start a new one (in a new process: EAL runs once per process)",
    )
}

/// A running engine, as JavaScript holds it.
#[napi]
#[derive(Debug)]
pub struct NativeEngine {
    engine: Arc<Mutex<Option<Engine>>>,
    info: engine::EngineInfo,
}

#[napi]
impl NativeEngine {
    /// Facts fixed at start.
    #[napi]
    pub fn info(&self) -> EngineInfo {
        info_to_js(&self.info)
    }

    /// A snapshot of every counter.
    #[napi]
    pub fn stats(&self) -> Result<EngineStats> {
        guarded("stats", || {
            let guard = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
            guard
                .as_ref()
                .map(|e| stats_to_js(&e.stats()))
                .ok_or_else(stopped)
        })
    }

    /// Swaps in new pipelines (msgpack config) off the JS thread; resolves to the new
    /// generation. A refused config leaves the engine running unchanged.
    #[napi(ts_return_type = "Promise<number>")]
    #[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
    pub fn apply(&self, config: Buffer) -> AsyncTask<ApplyTask> {
        AsyncTask::new(ApplyTask {
            engine: Arc::clone(&self.engine),
            config: config.to_vec(),
        })
    }

    /// Stops the engine off the JS thread; resolves to the final counters.
    #[napi(ts_return_type = "Promise<EngineStats>")]
    pub fn stop(&self) -> Result<AsyncTask<StopTask>> {
        let engine = self
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match engine {
            Some(engine) => Ok(AsyncTask::new(StopTask {
                engine: Some(engine),
            })),
            None => Err(to_js(&stopped())),
        }
    }
}

/// Brings an engine up on the libuv thread pool: EAL init, ports, lcores.
#[derive(Debug)]
pub struct StartTask {
    config: Vec<u8>,
}

impl Task for StartTask {
    type Output = Engine;
    type JsValue = NativeEngine;

    fn compute(&mut self) -> Result<Engine> {
        let config = std::mem::take(&mut self.config);
        guarded("Engine.start", move || Engine::start_msgpack(&config))
    }

    fn resolve(&mut self, _env: Env, engine: Engine) -> Result<NativeEngine> {
        let info = engine.info().clone();
        Ok(NativeEngine {
            engine: Arc::new(Mutex::new(Some(engine))),
            info,
        })
    }
}

/// Applies a config to a running engine on the libuv thread pool.
#[derive(Debug)]
pub struct ApplyTask {
    engine: Arc<Mutex<Option<Engine>>>,
    config: Vec<u8>,
}

impl Task for ApplyTask {
    type Output = u64;
    type JsValue = f64;

    fn compute(&mut self) -> Result<u64> {
        let config = std::mem::take(&mut self.config);
        let engine = Arc::clone(&self.engine);
        guarded("Engine.apply", move || {
            let config = engine::EngineConfig::from_msgpack(&config)?;
            let mut guard = engine.lock().unwrap_or_else(PoisonError::into_inner);
            guard.as_mut().ok_or_else(stopped)?.apply(&config)
        })
    }

    fn resolve(&mut self, _env: Env, generation: u64) -> Result<f64> {
        Ok(generation as f64)
    }
}

/// Stops an engine on the libuv thread pool.
#[derive(Debug)]
pub struct StopTask {
    engine: Option<Engine>,
}

impl Task for StopTask {
    type Output = engine::EngineStats;
    type JsValue = EngineStats;

    fn compute(&mut self) -> Result<engine::EngineStats> {
        let mut engine = self.engine.take();
        guarded("Engine.stop", move || {
            engine.as_mut().ok_or_else(stopped)?.stop()
        })
    }

    fn resolve(&mut self, _env: Env, stats: engine::EngineStats) -> Result<EngineStats> {
        Ok(stats_to_js(&stats))
    }
}

/// Checks a msgpack-encoded config as far as is possible without starting DPDK: the schema
/// version, every field, and the lcore, port and memory plan on this machine.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn check_config(config: Buffer) -> Result<()> {
    guarded("checkConfig", || engine::check(&config))
}

/// An engine's stats segment found on this machine.
#[napi(object)]
#[derive(Debug)]
pub struct EngineListing {
    pub name: String,
    pub pid: u32,
    /// The pid lives, the heartbeat is recent and the engine has not stopped.
    pub alive: bool,
    pub path: String,
}

/// Every engine stats segment on this machine (hugetlbfs mounts and /dev/shm).
#[napi]
pub fn list_engines() -> Vec<EngineListing> {
    let dirs = engine::stats_dirs();
    let dirs: Vec<&std::path::Path> = dirs.iter().map(std::path::PathBuf::as_path).collect();
    stats::Reader::list(&dirs)
        .into_iter()
        .map(|e| EngineListing {
            name: e.name,
            pid: e.pid,
            alive: e.alive,
            path: e.path.display().to_string(),
        })
        .collect()
}

/// Where stats segments live, in search order.
#[napi]
pub fn stats_dirs() -> Vec<String> {
    engine::stats_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect()
}

/// Maps a stats segment read-only and hands it to JavaScript as one `ArrayBuffer` whose
/// bytes change as the engine counts. Read it only: the memory is read-only, so a write
/// through it would fault (`@fastpath/control`'s `StatsReader` keeps it private).
#[napi(ts_return_type = "ArrayBuffer")]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn map_stats(env: &Env, path: String) -> Result<ArrayBuffer<'_>> {
    let mapping = stats::Mapping::open(std::path::Path::new(&path)).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "the segment is 0640: read it as the engine's user or as a member of the group it was given (stats.group)"
        } else {
            "is the engine running?"
        };
        to_js(&EngineError::new(
            ErrorCode::Stats,
            format!("cannot map the stats segment {path}: {e}; {hint}"),
        ))
    })?;
    let (ptr, len) = (mapping.as_ptr(), mapping.len());
    // SAFETY: `ptr` points at `len` mapped bytes that stay mapped until the finalizer drops
    // `mapping`, which happens only when JavaScript has let go of the ArrayBuffer.
    unsafe { ArrayBuffer::from_external(env, ptr, len, mapping, |_, mapping| drop(mapping)) }
}

/// Starts an engine from a msgpack-encoded config (see `@fastpath/types`).
#[napi(ts_return_type = "Promise<NativeEngine>")]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn start_engine(config: Buffer) -> AsyncTask<StartTask> {
    AsyncTask::new(StartTask {
        config: config.to_vec(),
    })
}

/// The memory a config needs on this machine as it is now, without starting DPDK.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn plan_memory(config: Buffer) -> Result<MemoryPlan> {
    guarded("planMemory", || {
        let plan = engine::plan_config(&config)?;
        Ok(plan_to_js(
            &plan.memory,
            plan.hugepages,
            plan.hugepages_note.clone(),
            plan.eal.memory_argv(),
        ))
    })
}

/// The filesystem root to probe: `/` by default; a given one must hold a `sys/` directory
/// (a mistyped fixture path would otherwise read as a machine with nothing at all).
fn probe_root(root: Option<&str>) -> std::result::Result<std::path::PathBuf, EngineError> {
    let root = std::path::PathBuf::from(root.unwrap_or("/"));
    if root.join("sys").is_dir() {
        Ok(root)
    } else {
        Err(EngineError::new(
            ErrorCode::Probe,
            format!("{} has no sys/ directory: give the root of a machine or of a fixture tree (sys/, proc/, dev/)", root.display()),
        ))
    }
}

/// The doctor's report for the machine under `root` (default `/`): `{ json, text }`.
#[napi(object)]
#[derive(Debug)]
pub struct DoctorReport {
    /// The report as JSON (see `fastpath doctor --json`).
    pub json: String,
    /// The same as readable lines, each ✓ or ✗ with what to do.
    pub text: String,
}

/// Probes the machine (or the fixture tree at `root`) and reports what DPDK can use.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn doctor(root: Option<String>, no_huge: bool, devices: Vec<String>) -> Result<DoctorReport> {
    guarded("doctor", || {
        let root = probe_root(root.as_deref())?;
        let opts = probe::DoctorOptions {
            no_huge,
            devices,
            iova_mode_forced: None,
        };
        let report = probe::doctor(&root, &opts).map_err(|e| {
            EngineError::new(
                ErrorCode::Probe,
                format!("cannot probe {}: {e}", root.display()),
            )
        })?;
        Ok(DoctorReport {
            json: report.to_json(),
            text: report.to_text(),
        })
    })
}

/// One file devbind writes (or would write).
#[napi(object)]
#[derive(Debug)]
pub struct DevbindWrite {
    pub path: String,
    pub value: String,
}

/// `devbind`: `op` is `"status"`, `"bind"` (to `driver`) or `"unbind"`, on `devices` under
/// `root` (default `/`). Returns the writes it planned, performed only when `apply` is set;
/// the status as JSON for `"status"`. A refusal rejects with `ERR_DEVBIND` saying why.
#[napi(object)]
#[derive(Debug)]
pub struct DevbindResult {
    pub writes: Vec<DevbindWrite>,
    /// Every network device with its driver (JSON), for `"status"`.
    pub status: Option<String>,
}

/// Plans (and with `apply`, performs) a devbind operation; see [`DevbindResult`].
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn devbind(
    root: Option<String>,
    op: String,
    driver: Option<String>,
    devices: Vec<String>,
    apply: bool,
) -> Result<DevbindResult> {
    guarded("devbind", || {
        let root = probe_root(root.as_deref())?;
        let refuse = |message: String| EngineError::new(ErrorCode::Devbind, message);
        let machine = probe::Probe::read(&root).map_err(|e| {
            EngineError::new(
                ErrorCode::Probe,
                format!("cannot probe {}: {e}", root.display()),
            )
        })?;
        let writes = match op.as_str() {
            "status" => {
                let status = serde_json::to_string(&probe::status(&machine))
                    .map_err(|e| refuse(e.to_string()))?;
                return Ok(DevbindResult {
                    writes: Vec::new(),
                    status: Some(status),
                });
            }
            "bind" => {
                let driver = driver
                    .as_deref()
                    .ok_or_else(|| refuse("bind needs a driver, e.g. vfio-pci".into()))?;
                probe::plan_bind(&root, driver, &devices, &machine)
            }
            "unbind" => probe::plan_unbind(&root, &devices, &machine),
            other => {
                return Err(refuse(format!(
                    "unknown devbind operation {other:?}: use status, bind or unbind"
                )))
            }
        }
        .map_err(|r| refuse(r.to_string()))?;
        if apply {
            probe::apply(&root, &writes).map_err(|e| {
                refuse(format!(
                    "could not write the binding: {e}; nothing after the failed write was done"
                ))
            })?;
        }
        Ok(DevbindResult {
            writes: writes
                .into_iter()
                .map(|w| DevbindWrite {
                    path: w.path.display().to_string(),
                    value: w.value,
                })
                .collect(),
            status: None,
        })
    })
}
