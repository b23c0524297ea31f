//! What the engine reports about itself: the facts fixed at start ([`EngineInfo`]).
//!
//! Plain data, kept apart from the lifecycle in [`crate::engine`] so that `crates/node` (which
//! mirrors each type as a napi object) and readers of the code find every reported field in
//! one place. Counters are not here: they live in the stats segment, the one source every
//! reader decodes ([`crate::Engine::stats`] included).

use crate::compile::Program;
use crate::plan::{self, Plan};

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
    pub(crate) fn read(plan: &plan::MemoryPlan, iova_mode: &str, segment: &stats::Segment) -> Self {
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

/// What each worker polls and generates, for [`EngineInfo`].
pub(crate) fn worker_infos(plan: &Plan, program: &Program) -> Vec<WorkerInfo> {
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
