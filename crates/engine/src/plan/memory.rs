//! Memory: the packet pool sized against the rings and caches it must fill, hugepages or
//! not, and the heap EAL is given up front (`--socket-mem` / `-m`), counted page by page.

use dpdk::EalMemory;
use probe::Hugepages;

use super::{PortPlan, PortSpec};
use crate::config::EngineConfig;
use crate::error::{EngineError, ErrorCode};
use crate::stages::StageConfig;

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
pub(super) const PCI_DESCRIPTOR_BYTES: u64 = 64;
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
    /// Route stages' tables (`dpdk::Fib4::footprint`, `dpdk::Fib6::footprint`) and ACL
    /// stages' classifiers (`dpdk::Acl::footprint`), twice: a live apply builds new ones
    /// before the old are freed.
    pub table_bytes: u64,
    /// Heap bytes in all (the four above).
    pub heap_bytes: u64,
    /// Heap pages: `heap_bytes` rounded up to whole pages (what `--socket-mem` asks for).
    pub heap_pages: u64,
    /// Pages the stats segment takes (its own hugetlbfs file when hugepages are used).
    pub stats_pages: u64,
    /// Pages to reserve in all: heap pages plus the stats segment's.
    pub pages: u64,
}

/// The plan on hugepages of a config that left the choice to the engine, when too few are
/// usable for it: what `fastpath mem plan` shows, and `--reserve` makes free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageShortfall {
    /// The memory on hugepages.
    pub plan: MemoryPlan,
    /// Hugepages of its size free and usable now.
    pub free_pages: u64,
}

/// How the engine's memory comes up.
pub(super) struct MemoryChoice {
    /// Whether hugepages back packet memory.
    pub hugepages: bool,
    /// Why not, when the config left the choice to the engine.
    pub note: Option<String>,
    /// EAL's memory arguments.
    pub eal: EalMemory,
    /// The memory it needs, in the pages it gets.
    pub plan: MemoryPlan,
    /// Its plan on hugepages, when it was left the choice and they fall short.
    pub shortfall: Option<HugepageShortfall>,
}

/// Picks hugepages or not for the packet pool and the heap, which EAL puts on the NUMA node
/// of the main lcore's CPU `main_cpu` (where the pool is created).
pub(super) fn plan_memory(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: usize,
    main_cpu: u32,
    hugepages: &Hugepages,
) -> Result<MemoryChoice, EngineError> {
    let node = hugepages.node_of_cpu(main_cpu);
    // The pool's size and cache were checked against the rings by validate.
    let memory = &config.memory;
    let workers = workers as u64;
    let huge_plan = memory_plan(config, ports, workers, hugepage_size(hugepages));
    let needed_bytes = huge_plan.pages * huge_plan.page_size;
    // Validate refused `memory.hugepages: true` with such a port.
    if let (None, Some(port)) = (memory.hugepages, shares_memory(config)) {
        let why =
            format!("port {port:?} (virtioUser): {SHARED_MEMORY}; without them it is one memfd");
        return Ok(no_huge(config, ports, workers, Some(why), None));
    }
    let (use_huge, note) = match memory.hugepages {
        Some(false) => (false, None),
        Some(true) => match hugepages.shortfall_on(needed_bytes, node) {
            None => (true, None),
            Some(why) if hugepages.only_unwritable() => {
                return Err(EngineError::new(
                    ErrorCode::Permission,
                    format!("hugepages were required (memory.hugepages: true) but {why}"),
                ))
            }
            Some(why) => {
                return Err(EngineError::new(
                    ErrorCode::NoHugepages,
                    format!("hugepages were required (memory.hugepages: true) but {why}; or set memory.hugepages to false to run without them"),
                ))
            }
        },
        None => match hugepages.shortfall_on(needed_bytes, node) {
            None => (true, None),
            Some(why) => (false, Some(why)),
        },
    };
    Ok(if use_huge {
        let mb = (huge_plan.heap_pages * huge_plan.page_size).div_ceil(1 << 20);
        MemoryChoice {
            hugepages: true,
            note,
            eal: EalMemory::Hugepages {
                // Nothing on the nodes before the main lcore's (`--socket-mem 0,…,MB`).
                socket_mb: (0..node.unwrap_or(0))
                    .map(|_| 0)
                    .chain([u32::try_from(mb).unwrap_or(u32::MAX)])
                    .collect(),
            },
            plan: huge_plan,
            shortfall: None,
        }
    } else {
        let shortfall = note.is_some().then(|| HugepageShortfall {
            free_pages: hugepages.usable_free_bytes_on(node) / huge_plan.page_size,
            plan: huge_plan,
        });
        no_huge(config, ports, workers, note, shortfall)
    })
}

/// Why a `virtioUser` port cannot use the engine's hugepages.
pub(crate) const SHARED_MEMORY: &str = "its vhost-user backend maps the engine's memory from at most 8 files, and on hugepages the engine has one file per page (each unlinked at once, so that none outlives it)";

/// The first port that shares the engine's memory with another process (`virtioUser`).
pub(crate) fn shares_memory(config: &EngineConfig) -> Option<&str> {
    config
        .ports
        .iter()
        .find(|p| p.virtio_user.is_some())
        .map(|p| p.name.as_str())
}

/// The plan without hugepages (`--no-huge`), and why.
fn no_huge(
    config: &EngineConfig,
    ports: &[PortPlan],
    workers: u64,
    note: Option<String>,
    shortfall: Option<HugepageShortfall>,
) -> MemoryChoice {
    let plan = memory_plan(config, ports, workers, 4096);
    let mb = (plan.heap_bytes.div_ceil(1 << 20) + 1).max(MIN_NO_HUGE_MB);
    MemoryChoice {
        hugepages: false,
        note,
        eal: EalMemory::NoHuge {
            megabytes: u32::try_from(mb).unwrap_or(u32::MAX),
        },
        plan,
        shortfall,
    }
}

/// The size in bytes of the hugepages EAL would use: the first hugetlbfs mount's, else the
/// smallest pool's. A page size of 0 (an odd mount option) reads as unknown: DPDK's default
/// 2 MiB.
pub(super) fn hugepage_size(hugepages: &Hugepages) -> u64 {
    hugepages
        .mounts
        .first()
        .and_then(|m| m.page_size_kb)
        .or_else(|| hugepages.pools.first().map(|p| p.size_kb))
        .filter(|&kb| kb > 0)
        .unwrap_or(2048)
        * 1024
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
    // Twice: a live apply builds the new program's tables while the running one still
    // routes with its own (the RCU frees them after every worker has moved on).
    let table_bytes = 2 * config
        .pipelines
        .iter()
        .flat_map(|p| &p.stages)
        .map(StageConfig::table_bytes)
        .sum::<u64>();
    let heap_bytes = mempool_bytes + port_bytes + EAL_HEAP_BASELINE + table_bytes;
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
        table_bytes,
        heap_bytes,
        heap_pages,
        stats_pages,
        pages: heap_pages + stats_pages,
    }
}
