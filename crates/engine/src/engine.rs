//! The [`Engine`] lifecycle: start (plan, stats segment, EAL, pool and ports, compile,
//! workers), apply (an RCU swap of the pipelines), stats, and stop (drain, close, clean up).
//!
//! The steps themselves live beside it ([`crate::bring_up`], [`crate::compile`],
//! [`crate::worker`]); this file keeps their order and owns what must be torn down, so the
//! shutdown sequence can be read in one place.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stats::Scalar;

use dpdk::{lcore, Eal, Port};

use crate::bring_up::{
    allowed_cpus, create_segment, set_up, start_eal, test_counter, usable_hugepages,
};
use crate::compile::{self, BridgeTables, Generated, PortFacts, Program, RouteTables};
use crate::config::EngineConfig;
use crate::control::{capture::Captures, socket::Socket, Control};
use crate::error::{EngineError, ErrorCode};
use crate::neighbours;
use crate::plan::Plan;
use crate::rcu::{self, Publisher};
use crate::reclaim;
use crate::report::{worker_infos, EngineInfo, MemoryInfo, MempoolInfo};
use crate::sampler::Sampler;
use crate::validate;
use crate::worker::{self, Shared, Worker};

/// How long `apply` waits for every worker to pick up new pipelines.
const SWAP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running engine. Dropping it stops it.
pub struct Engine {
    config: EngineConfig,
    plan: Plan,
    facts: PortFacts,
    info: EngineInfo,
    program: Arc<Program>,
    bridges: BridgeTables,
    generated: Generated,
    /// The control API (route tables); closed first at shutdown.
    control: Arc<Control>,
    /// The control socket other processes reach it through.
    socket: Option<Socket>,
    // Torn down in this order by `shutdown`: workers, ports, shared (pool), EAL.
    shared: Option<Arc<Shared>>,
    sampler: Option<Sampler>,
    ports: Vec<Port>,
    eal: Option<Eal>,
    /// The locked marker in EAL's runtime directory: says the directory is this live
    /// engine's until EAL has removed it ([`crate::reclaim`]).
    runtime_claim: Option<std::fs::File>,
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

    /// Plans `config` (refusing it with every problem [`validate::problems`] finds before
    /// anything starts), starts EAL, the ports and the workers.
    pub fn start(config: &EngineConfig) -> Result<Self, EngineError> {
        // First, so that the plan sees the hugepages dead engines held as free.
        let mut notes = reclaim::reclaim(false).notes();
        let cpus = allowed_cpus()?;
        let hugepages = usable_hugepages();
        let plan = Plan::new(config, &cpus, &hugepages)?;
        neighbours::refuse_shared_cpus(&plan, config.lcores.share_cpus)?;

        // The stats segment comes first: a name clash is reported before EAL is spent.
        let (segment, found) = create_segment(&plan, &hugepages, &config.stats)?;
        notes.extend(found);
        // Before EAL: the drivers refuse to bind a server socket over a dead one.
        notes.extend(crate::plan::clear_stale(config));
        let segment = Arc::new(segment);
        let stats_path = segment.path().display().to_string();
        let (eal, runtime_claim) = start_eal(&plan)?;
        let iova_mode = eal.iova_mode().to_string();
        segment.set_tsc_hz(dpdk::tsc_hz());
        let eal_args = eal.argv().to_vec();

        let setup_plan = plan.clone();
        // Ports and the pool are made on the main lcore so they land on its NUMA socket.
        let (pool, ports, summaries) = eal.run(move || set_up(&setup_plan))?;
        for (p, s) in summaries.iter().enumerate() {
            segment.set_queue_counts(p, s.rx_queues, s.tx_queues);
        }
        let facts = PortFacts::of(&summaries);
        let mut bridges = BridgeTables::new();
        let mut routes = RouteTables::new();
        let mut generated = Generated::new();
        let program = Arc::new(compile::compile(
            config,
            &plan,
            &facts,
            &mut bridges,
            &mut routes,
            &mut generated,
            &segment,
        )?);

        let workers = worker_infos(&plan, &program);
        let summaries_ids: Vec<u16> = summaries.iter().map(|s| s.id).collect();
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
            fault_lcore: fault_lcore(),
            taps: crate::capture::Taps::default(),
        });
        let sampler = Sampler::start(
            Arc::clone(&shared),
            summaries_ids,
            &plan,
            test_counter().is_some(),
        );
        let control = Arc::new(Control::new(Arc::clone(&shared), routes));
        let mut engine = Self {
            control,
            socket: None,
            config: config.clone(),
            plan,
            facts,
            info,
            program,
            bridges,
            generated,
            sampler: Some(sampler),
            shared: Some(shared),
            ports,
            eal: Some(eal),
            runtime_claim: Some(runtime_claim),
        };
        engine.launch_workers()?;
        engine.open_socket();
        engine.control.prepare_route_tables();
        Ok(engine)
    }

    /// Opens the control socket; without it (a note says why) the engine runs on, steered
    /// from its own process only. Captures are set up first: they work either way.
    fn open_socket(&mut self) {
        let captures = Captures::of(&self.plan, &self.info.ports, &self.program);
        self.control.set_captures(captures);
        let path = crate::control::socket::path(&self.plan.eal.file_prefix);
        match Socket::open(path, Arc::clone(&self.control)) {
            Ok(socket) => self.socket = Some(socket),
            Err(e) => self.info.notes.push(format!(
                "{}; other processes cannot change this engine's routes (engine.routes() works)",
                e.message
            )),
        }
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
            let view = stats::WorkerView::new(&shared.segment, w).ok_or_else(|| {
                EngineError::new(
                    ErrorCode::Internal,
                    format!("the stats segment has no counters for worker {w}; this is a bug: please report it"),
                )
            })?;
            let worker = Worker::new(w, rx, tx, view, Arc::clone(shared));
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
        // What readers see from the start: the pool's size, generation 1, and uptime from here.
        let segment = &shared.segment;
        segment.set(
            Scalar::MempoolCapacity,
            u64::from(self.info.mempool.capacity),
        );
        segment.set(Scalar::Generation, shared.publisher.generation());
        segment.set_started();
        Ok(())
    }

    /// Facts fixed at start.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// The control API: route tables, in this process (the control socket serves the same).
    pub fn control(&self) -> Arc<Control> {
        Arc::clone(&self.control)
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
        // Every rule first (all problems at once), then what only a restart can change; what
        // the running layout cannot do (a new input nobody polls) compile refuses.
        validate::check(config)?;
        needs_restart(&self.config, config)?;
        // Route changes wait while the pipelines change; the tables a changed stage replaces
        // let their standby copies go first, so that the new tables fit where the memory plan
        // counted two copies.
        let mut guard = self.control.lock();
        let Some(live) = guard.as_mut() else {
            return Err(EngineError::new(
                ErrorCode::Stopped,
                "the engine is stopping",
            ));
        };
        let kept = crate::stages::route::kept_tables(config, &live.routes);
        for (key, table) in &live.routes {
            if !kept.contains(key) {
                table.drop_standby();
            }
        }
        let mut generated = self.generated.clone();
        let mut bridges = self.bridges.clone();
        let next = Arc::new(compile::compile(
            config,
            &self.plan,
            &self.facts,
            &mut bridges,
            &mut live.routes,
            &mut generated,
            &shared.segment,
        )?);
        let published = shared.publisher.publish(Arc::clone(&next), SWAP_TIMEOUT);
        shared
            .segment
            .set(Scalar::Generation, shared.publisher.generation());
        // Either way the workers that answer now run `next`; keep the engine's view with them.
        // Counters need no hand-over: they live in the stats segment under slots kept by name.
        self.program = next;
        live.captures.pipelines = self
            .program
            .pipelines
            .iter()
            .map(|p| p.name.clone())
            .collect();
        self.bridges = bridges;
        self.generated = generated;
        self.config = config.clone();
        if published.is_err() {
            return Err(EngineError::new(
                ErrorCode::Internal,
                "a worker did not pick up the new pipelines within 5 s (the new pipelines run on the others); this is a bug: please report it",
            ));
        }
        drop(guard);
        // New tables (and those whose copies went for the compile) get them back, off the workers.
        self.control.prepare_route_tables();
        Ok(shared.publisher.generation())
    }

    /// Every counter, read from the stats segment as any other process reads it (the same
    /// JSON as `fastpath stats --json`; docs/stats-layout.md). A copy of the segment is
    /// decoded: fine for tools and tests; JavaScript maps the segment instead.
    pub fn stats(&self) -> Result<serde_json::Value, EngineError> {
        stats::Reader::from_bytes(self.program.segment.copy())
            .and_then(|r| r.snapshot())
            .map_err(|e| {
                EngineError::new(
                    ErrorCode::Internal,
                    format!("{e}; this is a bug: please report it"),
                )
            })
    }

    /// Whether [`Engine::stop`] has run.
    pub fn is_stopped(&self) -> bool {
        self.eal.is_none()
    }

    /// Stops generators, lets the workers drain what is in flight, stops them, closes the
    /// ports, frees the pool and cleans EAL up. Returns the final counters (the segment's
    /// last state). EAL cannot start again in this process afterwards.
    pub fn stop(&mut self) -> Result<serde_json::Value, EngineError> {
        if self.eal.is_none() {
            return Err(EngineError::new(
                ErrorCode::Stopped,
                "the engine is already stopped; start a new one (in a new process: EAL runs once per process)",
            ));
        }
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<serde_json::Value, EngineError> {
        let Some(eal) = self.eal.take() else {
            return self.stats();
        };
        // No route change from here on (one in progress ends first: it needs the workers).
        if let Some(mut socket) = self.socket.take() {
            socket.close();
        }
        self.control.close();
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
        // Counters are final once every worker has returned: the sampler takes its last
        // sample (driver counters included) while the ports are still open, then stops.
        if let Some(sampler) = self.sampler.take() {
            sampler.finish();
        }
        // Readers see the engine stopped from here on; the last snapshot says so too.
        self.program.segment.mark_stopped();
        let final_stats = self.stats();
        let failure = self
            .shared
            .as_ref()
            .and_then(|shared| shared.failure.get().cloned());
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
        // EAL removed its runtime directory, marker and all; hugepage files it kept linked
        // for secondary processes it leaves.
        if self.plan.eal.secondary_processes {
            crate::reclaim::remove_own_page_files(&self.plan.eal.file_prefix);
        }
        self.runtime_claim = None;
        if let Some(failure) = &failure {
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
        final_stats
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
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

/// `FASTPATH_FAULT_PANIC_LCORE`, read on the control thread before any worker runs: the
/// reliability tests' way to make a worker's loop panic. Never set in production.
fn fault_lcore() -> Option<u32> {
    std::env::var("FASTPATH_FAULT_PANIC_LCORE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}
