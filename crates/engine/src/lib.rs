//! Fastpath's data plane.
//!
//! [`Engine::start`] plans a config ([`plan::Plan`]), starts EAL on its own thread, creates
//! the packet pool and ports on the main lcore (`bring_up`), compiles the pipelines
//! ([`compile::compile`], one file per stage under [`stages`]) and launches one poll loop per
//! worker lcore ([`worker`]). [`Engine::apply`] swaps in new pipelines without pausing a
//! worker ([`rcu`]); [`Engine::stats`] decodes the stats segment (`sampler` keeps its
//! driver and pool numbers fresh) like any other reader; [`Engine::stop`] drains the workers, closes the ports and cleans EAL up.
//!
//! Every job has its own room: this file only declares the modules and re-exports what the
//! binding (`crates/node`) and the tests use.

mod bring_up;
pub mod capture;
pub mod compile;
pub mod config;
pub mod control;
mod engine;
mod error;
mod links;
mod neighbours;
pub mod net;
pub mod plan;
pub mod rcu;
mod reclaim;
mod report;
mod reserve;
mod sampler;
pub mod stages;
pub mod validate;
pub mod worker;

pub use bring_up::{check, eal_runtime_dir, plan_config, stats_dirs};
pub use config::{EngineConfig, SCHEMA_VERSION};
pub use engine::Engine;
pub use error::{EngineError, ErrorCode};
pub use reclaim::{reclaim, DeadEngine, Freed, Reclaimed};
pub use report::{EngineInfo, MemoryInfo, MempoolInfo, PortSummary, WorkerInfo};
pub use reserve::{reserve_hugepages, HugepageReservation};
