//! Making a config's hugepages free (`fastpath mem plan --reserve`, as root): as many free
//! pages as its plan on hugepages needs, however many are free now, and a hugetlbfs mount
//! where none is.

use std::io;
use std::path::{Path, PathBuf};

use crate::bring_up::allowed_cpus;
use crate::config::EngineConfig;
use crate::error::{EngineError, ErrorCode};
use crate::plan::{MemoryPlan, Plan};

/// Where hugetlbfs is mounted when no mount is there (where DPDK and systemd look first).
const MOUNT_POINT: &str = "/dev/hugepages";

/// What [`reserve_hugepages`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageReservation {
    /// The config's memory on hugepages: the pages it needs free.
    pub plan: MemoryPlan,
    /// The pool before and after.
    pub pool: probe::Reservation,
    /// The NUMA node whose share of the pool was raised (on a machine of several nodes).
    pub node: Option<u32>,
    /// Where hugetlbfs was mounted, when no mount was there.
    pub mounted: Option<PathBuf>,
}

/// Raises this machine's hugepage pool until the pages msgpack config `bytes` needs are free
/// (never lowering it), and mounts hugetlbfs when none is mounted. Needs root.
pub fn reserve_hugepages(bytes: &[u8]) -> Result<HugepageReservation, EngineError> {
    let config = EngineConfig::from_msgpack(bytes)?;
    if config.memory.hugepages == Some(false) {
        return Err(EngineError::config(
            "memory.hugepages",
            "is false: this config runs without hugepages, so there is nothing to reserve (remove the field to let the engine choose, or set it to true)",
        ));
    }
    let root = Path::new("/");
    let hugepages = probe::Hugepages::read(root).map_err(|e| {
        EngineError::new(
            ErrorCode::Probe,
            format!("cannot read this machine's hugepages: {e}"),
        )
    })?;
    if hugepages.pools.is_empty() {
        return Err(EngineError::new(
            ErrorCode::NoHugepages,
            "this kernel has no hugepage pools (/sys/kernel/mm/hugepages is empty): run without hugepages (memory.hugepages: false)",
        ));
    }
    let (plan, node) = Plan::hugepage_memory(&config, &allowed_cpus()?, &hugepages)?;
    let size_kb = plan.page_size / 1024;
    // The main lcore's node's share, where EAL takes the memory, on a machine of several.
    let node = node.filter(|_| hugepages.nodes.len() > 1);
    let pool = probe::reserve(root, node, size_kb, plan.pages).map_err(|e| {
        needs_root(
            &e,
            &format!(
                "cannot raise nr_hugepages of hugepages-{size_kb}kB to free {} page(s): {e}",
                plan.pages
            ),
        )
    })?;
    if pool.free_after < pool.wanted {
        return Err(EngineError::new(
            ErrorCode::NoHugepages,
            format!(
                "the kernel made only {} of the {} page(s) of {size_kb} KiB this config needs free (memory too fragmented): \
                 free some memory and retry, or reserve them at boot (hugepages={} on the kernel command line)",
                pool.free_after, pool.wanted, pool.total_after + pool.wanted - pool.free_after
            ),
        ));
    }
    let has_mount = hugepages
        .mounts
        .iter()
        .any(|m| m.page_size_kb.is_none_or(|s| s == size_kb));
    let mounted = if has_mount {
        None
    } else {
        let path = PathBuf::from(MOUNT_POINT);
        probe::mount_hugetlbfs(&path, size_kb).map_err(|e| {
            needs_root(&e, &format!("cannot mount hugetlbfs on {MOUNT_POINT}: {e}"))
        })?;
        Some(path)
    };
    Ok(HugepageReservation {
        plan,
        pool,
        node,
        mounted,
    })
}

/// A refusal by the kernel: a permission problem says to run as root, anything else is said
/// as it is.
fn needs_root(error: &io::Error, what: &str) -> EngineError {
    if matches!(
        error.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    ) || error.raw_os_error() == Some(libc::EPERM)
    {
        EngineError::new(
            ErrorCode::Permission,
            format!("{what}: reserving hugepages needs root (run it with sudo, or as root)"),
        )
    } else {
        EngineError::new(ErrorCode::NoHugepages, what.to_string())
    }
}
