//! A running engine as JavaScript holds it: start, apply and stop off the JS thread (on the
//! libuv pool), plus the config checks that start nothing.

use std::sync::{Arc, Mutex, PoisonError};

use engine::Engine;
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Result, Task};
use napi_derive::napi;

use crate::error::{guarded, stopped, to_js};
use crate::info::{EngineInfo, HugepageReservation, MemoryPlan};

/// A running engine, as JavaScript holds it.
#[napi]
#[derive(Debug)]
pub struct NativeEngine {
    engine: Arc<Mutex<Option<Engine>>>,
    control: Arc<engine::control::Control>,
    info: engine::EngineInfo,
}

#[napi]
impl NativeEngine {
    /// Facts fixed at start.
    #[napi]
    pub fn info(&self) -> EngineInfo {
        EngineInfo::from(&self.info)
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

    /// Answers a control request (JSON, as the control socket takes it: `{ op, ... }`) off the
    /// JS thread; resolves to the answer line (`{ ok }` or `{ error: { code, message,
    /// problems } }`). Route changes wait for the workers' grace period, never for a packet.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn control(&self, request: String) -> AsyncTask<ControlTask> {
        AsyncTask::new(ControlTask {
            control: Arc::clone(&self.control),
            request,
        })
    }

    /// Stops the engine off the JS thread. Its final counters stay in the stats segment,
    /// which readers that mapped it (the engine's own `StatsReader`) keep.
    #[napi(ts_return_type = "Promise<void>")]
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
            control: engine.control(),
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

/// Answers a control request on the libuv thread pool.
#[derive(Debug)]
pub struct ControlTask {
    control: Arc<engine::control::Control>,
    request: String,
}

impl Task for ControlTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        let request = std::mem::take(&mut self.request);
        let control = Arc::clone(&self.control);
        guarded("Engine.control", move || {
            Ok(control.handle_json(&request, &mut |_, _| {}))
        })
    }

    fn resolve(&mut self, _env: Env, answer: String) -> Result<String> {
        Ok(answer)
    }
}

/// Stops an engine on the libuv thread pool.
#[derive(Debug)]
pub struct StopTask {
    engine: Option<Engine>,
}

impl Task for StopTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        let mut engine = self.engine.take();
        guarded("Engine.stop", move || {
            engine.as_mut().ok_or_else(stopped)?.stop().map(drop)
        })
    }

    fn resolve(&mut self, _env: Env, (): ()) -> Result<()> {
        Ok(())
    }
}

/// Starts an engine from a msgpack-encoded config (see `@fastpath/types`).
#[napi(ts_return_type = "Promise<NativeEngine>")]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn start_engine(config: Buffer) -> AsyncTask<StartTask> {
    AsyncTask::new(StartTask {
        config: config.to_vec(),
    })
}

/// Checks a msgpack-encoded config as far as is possible without starting DPDK: the schema
/// version, every field, and the lcore, port and memory plan on this machine.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn check_config(config: Buffer) -> Result<()> {
    guarded("checkConfig", || engine::check(&config))
}

/// The memory a config needs on this machine as it is now, without starting DPDK.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn plan_memory(config: Buffer) -> Result<MemoryPlan> {
    guarded("planMemory", || {
        let plan = engine::plan_config(&config)?;
        Ok(MemoryPlan {
            on_hugepages: plan.hugepage_shortfall.as_ref().map(Into::into),
            ..MemoryPlan::new(
                &plan.memory,
                plan.hugepages,
                plan.hugepages_note.clone(),
                plan.eal.memory_argv(),
            )
        })
    })
}

/// Raises this machine's hugepage pool until the pages a config needs on hugepages are free,
/// and mounts hugetlbfs where none is (`fastpath mem plan --reserve`; needs root).
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn reserve_hugepages(config: Buffer) -> Result<HugepageReservation> {
    guarded("reserveHugepages", || {
        engine::reserve_hugepages(&config).map(|r| HugepageReservation::from(&r))
    })
}
