//! What a started engine reports about itself, as JavaScript sees it: each napi type with its
//! `From` impl beside it. (Counters are not here: they are read from the stats segment.)

use napi_derive::napi;

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

impl From<&engine::WorkerInfo> for WorkerInfo {
    fn from(w: &engine::WorkerInfo) -> Self {
        Self {
            lcore: w.lcore,
            cpu: w.cpu,
            rx_queues: w.rx_queues.clone(),
            generators: w.generators.clone(),
        }
    }
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

impl From<&engine::MempoolInfo> for MempoolInfo {
    fn from(m: &engine::MempoolInfo) -> Self {
        Self {
            name: m.name.clone(),
            capacity: m.capacity,
            element_size: m.element_size,
            cache: m.cache,
        }
    }
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

impl From<&engine::PortSummary> for PortSummary {
    fn from(p: &engine::PortSummary) -> Self {
        Self {
            name: p.name.clone(),
            id: u32::from(p.id),
            device: p.device.clone(),
            driver: p.driver.clone(),
            mac: p.mac.clone(),
            link_up: p.link_up,
            rx_queues: u32::from(p.rx_queues),
            tx_queues: u32::from(p.tx_queues),
            rss: p.rss,
        }
    }
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

impl From<&engine::EngineInfo> for EngineInfo {
    fn from(i: &engine::EngineInfo) -> Self {
        Self {
            iova_mode: i.iova_mode.clone(),
            main_lcore: i.main_lcore,
            workers: i.workers.iter().map(WorkerInfo::from).collect(),
            hugepages: i.hugepages,
            hugepages_note: i.hugepages_note.clone(),
            mempool: MempoolInfo::from(&i.mempool),
            ports: i.ports.iter().map(PortSummary::from).collect(),
            eal_args: i.eal_args.clone(),
            dpdk_version: i.dpdk_version.clone(),
            stats_path: i.stats_path.clone(),
            memory: MemoryInfo::from(&i.memory),
            notes: i.notes.clone(),
        }
    }
}

/// An address as hex, or `unknown` (DPDK's `RTE_BAD_IOVA`).
fn hex(v: u64) -> String {
    if v == u64::MAX {
        "unknown".to_owned()
    } else {
        format!("{v:#x}")
    }
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

impl From<&dpdk::memory::IovaRun> for IovaRun {
    fn from(r: &dpdk::memory::IovaRun) -> Self {
        Self {
            va: hex(r.va),
            iova: hex(r.iova),
            bytes: r.len as f64,
            page_size: r.page_size as f64,
            socket: r.socket,
            segments: r.segments,
        }
    }
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

impl From<&dpdk::memory::HeapStats> for HeapStats {
    fn from(h: &dpdk::memory::HeapStats) -> Self {
        Self {
            socket: h.socket,
            total_bytes: h.total as f64,
            allocated_bytes: h.allocated as f64,
            largest_free_bytes: h.largest_free as f64,
        }
    }
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

impl From<&engine::MemoryInfo> for MemoryInfo {
    fn from(m: &engine::MemoryInfo) -> Self {
        Self {
            bytes: m.bytes as f64,
            segments: m.segments,
            page_size: m.page_size as f64,
            runs: m.runs.iter().map(IovaRun::from).collect(),
            heaps: m.heaps.iter().map(HeapStats::from).collect(),
            plan: MemoryPlan::new(&m.plan, m.page_size > 4096, None, Vec::new()),
        }
    }
}

/// The memory a config needs (`fastpath mem plan`; the engine starts EAL with it).
#[napi(object)]
#[derive(Debug)]
pub struct MemoryPlan {
    pub page_size: f64,
    pub mempool_bytes: f64,
    pub port_bytes: f64,
    pub eal_bytes: f64,
    pub table_bytes: f64,
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
    /// The plan on hugepages, when the config left them to the engine and too few are
    /// usable (`--reserve` makes them free).
    pub on_hugepages: Option<HugepageShortfall>,
}

/// A plan on hugepages that too few free pages cannot take.
#[napi(object)]
#[derive(Debug)]
pub struct HugepageShortfall {
    /// Pages it needs.
    pub pages: f64,
    /// Their size in bytes.
    pub page_size: f64,
    /// Pages of that size free and usable now.
    pub free_pages: f64,
}

impl From<&engine::plan::HugepageShortfall> for HugepageShortfall {
    fn from(s: &engine::plan::HugepageShortfall) -> Self {
        Self {
            pages: s.plan.pages as f64,
            page_size: s.plan.page_size as f64,
            free_pages: s.free_pages as f64,
        }
    }
}

impl MemoryPlan {
    /// The planner's numbers, with whether (and why not) hugepages and the EAL arguments.
    pub fn new(
        p: &engine::plan::MemoryPlan,
        hugepages: bool,
        note: Option<String>,
        eal_args: Vec<String>,
    ) -> Self {
        Self {
            page_size: p.page_size as f64,
            mempool_bytes: p.mempool_bytes as f64,
            port_bytes: p.port_bytes as f64,
            eal_bytes: p.eal_bytes as f64,
            table_bytes: p.table_bytes as f64,
            heap_bytes: p.heap_bytes as f64,
            heap_pages: p.heap_pages as f64,
            stats_pages: p.stats_pages as f64,
            pages: p.pages as f64,
            hugepages,
            hugepages_note: note,
            eal_args,
            on_hugepages: None,
        }
    }
}

/// What `fastpath mem plan --reserve` did to the hugepage pool the config's plan uses.
#[napi(object)]
#[derive(Debug)]
pub struct HugepageReservation {
    /// The pool's page size in KiB.
    pub size_kb: f64,
    /// Free pages the config needs.
    pub wanted: f64,
    /// Free pages before.
    pub free_before: f64,
    /// `nr_hugepages` before.
    pub total_before: f64,
    /// Free pages after.
    pub free_after: f64,
    /// `nr_hugepages` after.
    pub total_after: f64,
    /// Where hugetlbfs was mounted, when no mount was there.
    pub mounted: Option<String>,
    /// The NUMA node whose share of the pool was raised (the main lcore's), on a machine of
    /// several nodes.
    pub node: Option<u32>,
}

impl From<&engine::HugepageReservation> for HugepageReservation {
    fn from(r: &engine::HugepageReservation) -> Self {
        Self {
            size_kb: r.pool.size_kb as f64,
            wanted: r.pool.wanted as f64,
            free_before: r.pool.free_before as f64,
            total_before: r.pool.total_before as f64,
            free_after: r.pool.free_after as f64,
            total_after: r.pool.total_after as f64,
            mounted: r.mounted.as_ref().map(|p| p.display().to_string()),
            node: r.node,
        }
    }
}
