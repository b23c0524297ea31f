//! Hugepages: how many are reserved and free per size (globally and per NUMA node), and where
//! hugetlbfs is mounted.
//!
//! [`Hugepages`] is what the engine plans memory with; [`HugepageStats`] adds the per-node pools
//! and the reserved/surplus counts the doctor shows.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsutil::{dir_names, invalid, read_opt};
use crate::numa::{read_nodes, NumaNode};

/// One hugepage size's pool, from `/sys/kernel/mm/hugepages/hugepages-<size>kB/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepagePool {
    /// Page size in KiB (2048, 1048576).
    pub size_kb: u64,
    /// Pages reserved (`nr_hugepages`).
    pub total: u64,
    /// Pages not yet used (`free_hugepages`).
    pub free: u64,
}

/// A hugetlbfs mount from `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HugetlbfsMount {
    /// Where it is mounted.
    pub path: PathBuf,
    /// Its `pagesize=` option in KiB, when given.
    pub page_size_kb: Option<u64>,
}

/// The machine's hugepage state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hugepages {
    /// Pools per page size, smallest first.
    pub pools: Vec<HugepagePool>,
    /// hugetlbfs mounts.
    pub mounts: Vec<HugetlbfsMount>,
    /// Mounts this process may not create files in, taken out of `mounts` by
    /// [`Hugepages::writable_only`] (so that [`Hugepages::shortfall`] can say why).
    pub unwritable: Vec<PathBuf>,
    /// NUMA nodes with their CPUs and their share of each pool (none without NUMA support).
    pub nodes: Vec<NumaNode>,
}

/// One pool's counters, global (`numa_node: None`) or on one NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageStats {
    /// Page size in KiB.
    pub size_kb: u64,
    /// The NUMA node, or `None` for the machine-wide pool.
    pub numa_node: Option<u32>,
    /// Pages reserved (`nr_hugepages`).
    pub total: u64,
    /// Pages not yet used (`free_hugepages`).
    pub free: u64,
    /// Pages promised to a mapping but not yet faulted in (`resv_hugepages`, global pools only).
    pub reserved: Option<u64>,
    /// Pages allocated beyond `nr_hugepages` through overcommit (`surplus_hugepages`).
    pub surplus: Option<u64>,
}

impl Hugepages {
    /// Reads the state under `root` (normally `/`).
    pub fn read(root: &Path) -> io::Result<Self> {
        let mut pools: Vec<HugepagePool> = read_pool_dirs(&root.join("sys/kernel/mm/hugepages"))?
            .into_iter()
            .map(|(size_kb, dir)| read_pool(&dir, size_kb))
            .collect::<io::Result<_>>()?;
        pools.sort_by_key(|p| p.size_kb);
        let mounts = read_opt(&root.join("proc/mounts"))?
            .map(|text| parse_mounts(&text))
            .unwrap_or_default();
        Ok(Self {
            pools,
            mounts,
            unwritable: Vec::new(),
            nodes: read_nodes(root)?,
        })
    }

    /// The NUMA node of `cpu`, when the machine says.
    pub fn node_of_cpu(&self, cpu: u32) -> Option<u32> {
        self.nodes
            .iter()
            .find(|n| n.cpus.contains(&cpu))
            .map(|n| n.id)
    }

    /// The pools memory on `node` comes from: that node's share on a machine of several
    /// nodes, else the machine's.
    fn pools_on(&self, node: Option<u32>) -> &[HugepagePool] {
        match node {
            Some(id) if self.nodes.len() > 1 => self
                .nodes
                .iter()
                .find(|n| n.id == id)
                .map_or(&[][..], |n| &n.pools[..]),
            _ => &self.pools,
        }
    }

    /// Free hugepage memory in bytes, over every size that has a hugetlbfs mount DPDK can use.
    pub fn usable_free_bytes(&self) -> u64 {
        self.usable_free_bytes_on(None)
    }

    /// [`Hugepages::usable_free_bytes`] on NUMA node `node` (the machine's, for `None`).
    pub fn usable_free_bytes_on(&self, node: Option<u32>) -> u64 {
        if self.mounts.is_empty() {
            return 0;
        }
        self.pools_on(node)
            .iter()
            .filter(|p| {
                self.mounts
                    .iter()
                    .any(|m| m.page_size_kb.is_none_or(|s| s == p.size_kb))
            })
            .map(|p| p.free * p.size_kb * 1024)
            .sum()
    }

    /// Keeps in `mounts` only the hugetlbfs mounts this process may create files in (checked
    /// at their paths on this machine, with access(2)); the others move to `unwritable`. An
    /// unprivileged user cannot use a root-owned /dev/hugepages: better to know before EAL
    /// (and the stats segment) try.
    #[must_use]
    pub fn writable_only(mut self) -> Self {
        let (writable, unwritable): (Vec<_>, Vec<_>) =
            self.mounts.into_iter().partition(|m| writable(&m.path));
        self.mounts = writable;
        self.unwritable = unwritable.into_iter().map(|m| m.path).collect();
        self
    }

    /// Whether every mount there was is unwritable by this process (hugepages reserved and
    /// mounted, but not for this user).
    pub fn only_unwritable(&self) -> bool {
        self.mounts.is_empty() && !self.unwritable.is_empty()
    }

    /// Why DPDK cannot use hugepages here, or `None` when at least `needed_bytes` are usable.
    pub fn shortfall(&self, needed_bytes: u64) -> Option<String> {
        self.shortfall_on(needed_bytes, None)
    }

    /// [`Hugepages::shortfall`] for memory on NUMA node `node` (the machine's, for `None`).
    pub fn shortfall_on(&self, needed_bytes: u64, node: Option<u32>) -> Option<String> {
        let reserved: u64 = self.pools.iter().map(|p| p.total).sum();
        if reserved == 0 {
            return Some("no hugepages are reserved (echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages as root)".into());
        }
        if let (true, Some(path)) = (self.mounts.is_empty(), self.unwritable.first()) {
            return Some(format!("{} {}", path.display(), UNWRITABLE));
        }
        if self.mounts.is_empty() {
            return Some("hugepages are reserved but no hugetlbfs is mounted (mount -t hugetlbfs nodev /dev/hugepages as root)".into());
        }
        let usable = self.usable_free_bytes_on(node);
        if usable < needed_bytes {
            let on = match node {
                Some(id) if self.nodes.len() > 1 => format!(" on NUMA node {id}"),
                _ => String::new(),
            };
            return Some(format!(
                "{} MiB of hugepages are free{on} but {} MiB are needed (reserve more, or stop what holds them)",
                usable >> 20,
                needed_bytes.div_ceil(1 << 20)
            ));
        }
        None
    }
}

/// What raising a pool to `wanted` free pages did ([`reserve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The pool's page size.
    pub size_kb: u64,
    /// Free pages asked for.
    pub wanted: u64,
    /// Free pages before.
    pub free_before: u64,
    /// Reserved pages (`nr_hugepages`) before.
    pub total_before: u64,
    /// Free pages after: fewer than wanted when the kernel found too little contiguous memory.
    pub free_after: u64,
    /// Reserved pages after.
    pub total_after: u64,
}

/// Raises the `size_kb` pool under `root` (normally `/`, which needs root) until `wanted`
/// pages are free, never lowering it: pages other programs hold stay theirs. With `node`,
/// that NUMA node's share of the pool (where EAL takes the main lcore's memory).
pub fn reserve(
    root: &Path,
    node: Option<u32>,
    size_kb: u64,
    wanted: u64,
) -> io::Result<Reservation> {
    let pool = format!("hugepages-{size_kb}kB");
    let dir = match node {
        Some(id) => root.join(format!("sys/devices/system/node/node{id}/hugepages/{pool}")),
        None => root.join("sys/kernel/mm/hugepages").join(pool),
    };
    let free_before = read_number(&dir.join("free_hugepages"))?;
    let total_before = read_number(&dir.join("nr_hugepages"))?;
    if free_before < wanted {
        std::fs::write(
            dir.join("nr_hugepages"),
            (total_before + wanted - free_before).to_string(),
        )?;
    }
    Ok(Reservation {
        size_kb,
        wanted,
        free_before,
        total_before,
        free_after: read_number(&dir.join("free_hugepages"))?,
        total_after: read_number(&dir.join("nr_hugepages"))?,
    })
}

/// Mounts hugetlbfs for pages of `size_kb` at `path` (created if missing), as
/// `mount -t hugetlbfs -o pagesize=<size>k nodev <path>` does; needs root.
pub fn mount_hugetlbfs(path: &Path, size_kb: u64) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    let c = |s: &[u8]| {
        std::ffi::CString::new(s).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let target = c(path.as_os_str().as_encoded_bytes())?;
    let options = c(format!("pagesize={size_kb}k").as_bytes())?;
    // SAFETY: mount(2) with NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"hugetlbfs".as_ptr(),
            0,
            options.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The pool of `size_kb` pages in `dir` (a `hugepages-<size>kB` directory).
pub(crate) fn read_pool(dir: &Path, size_kb: u64) -> io::Result<HugepagePool> {
    Ok(HugepagePool {
        size_kb,
        total: read_number(&dir.join("nr_hugepages"))?,
        free: read_number(&dir.join("free_hugepages"))?,
    })
}

/// Why a hugetlbfs mount cannot be used, after its path.
const UNWRITABLE: &str = "is not writable by this user: run as root, give this user the mount (mount -t hugetlbfs -o uid=UID,gid=GID nodev DIR), or run without hugepages (memory.hugepages: false, --no-huge)";

/// Whether this process may create files in directory `path`.
fn writable(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: access(2) on a NUL-terminated path; it only reads the path.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Every pool's counters under `root`: the global pools first (smallest size first), then each
/// NUMA node's from `sys/devices/system/node/node<N>/hugepages/`.
pub fn read_hugepage_stats(root: &Path) -> io::Result<Vec<HugepageStats>> {
    let mut stats = Vec::new();
    for (size_kb, dir) in read_pool_dirs(&root.join("sys/kernel/mm/hugepages"))? {
        stats.push(read_stats(&dir, size_kb, None)?);
    }
    let nodes_dir = root.join("sys/devices/system/node");
    let mut nodes: Vec<u32> = dir_names(&nodes_dir)?
        .iter()
        .filter_map(|n| n.strip_prefix("node")?.parse().ok())
        .collect();
    nodes.sort_unstable();
    for node in nodes {
        let dir = nodes_dir.join(format!("node{node}/hugepages"));
        for (size_kb, pool) in read_pool_dirs(&dir)? {
            stats.push(read_stats(&pool, size_kb, Some(node))?);
        }
    }
    Ok(stats)
}

/// `hugepages-<size>kB` directories under `dir`, smallest size first; none when `dir` is missing
/// (a kernel without hugetlb support).
fn read_pool_dirs(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut pools: Vec<(u64, PathBuf)> = dir_names(dir)?
        .iter()
        .filter_map(|name| {
            let size_kb = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some((size_kb, dir.join(name)))
        })
        .collect();
    pools.sort_by_key(|(size, _)| *size);
    Ok(pools)
}

fn read_stats(dir: &Path, size_kb: u64, numa_node: Option<u32>) -> io::Result<HugepageStats> {
    let optional = |name: &str| -> io::Result<Option<u64>> {
        let path = dir.join(name);
        read_opt(&path)?
            .map(|text| parse_number(&path, &text))
            .transpose()
    };
    Ok(HugepageStats {
        size_kb,
        numa_node,
        total: read_number(&dir.join("nr_hugepages"))?,
        free: read_number(&dir.join("free_hugepages"))?,
        // The kernel keeps reservations per hstate, not per node: node directories have no file.
        reserved: if numa_node.is_none() {
            optional("resv_hugepages")?
        } else {
            None
        },
        surplus: optional("surplus_hugepages")?,
    })
}

/// A counter that must be there once its pool directory is: missing or garbled is an error.
fn read_number(path: &Path) -> io::Result<u64> {
    let text = read_opt(path)?.ok_or_else(|| invalid(path, "missing"))?;
    parse_number(path, &text)
}

fn parse_number(path: &Path, text: &str) -> io::Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| invalid(path, format!("not a number: {text:?}")))
}

fn parse_mounts(text: &str) -> Vec<HugetlbfsMount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_src, path, fstype, options) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            (fstype == "hugetlbfs").then(|| HugetlbfsMount {
                path: PathBuf::from(path.replace("\\040", " ")),
                page_size_kb: options
                    .split(',')
                    .find_map(|o| o.strip_prefix("pagesize="))
                    .and_then(parse_size_kb),
            })
        })
        .collect()
}

/// `2M`, `1G`, `2048k` → KiB.
fn parse_size_kb(text: &str) -> Option<u64> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits.parse().ok()?;
    match unit {
        "" => Some(n / 1024),
        "k" | "K" => Some(n),
        "M" => Some(n * 1024),
        "G" => Some(n * 1024 * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_raises_the_pool_by_the_shortfall_only() {
        let root = std::env::temp_dir().join(format!("fastpath-reserve-{}", std::process::id()));
        let dir = root.join("sys/kernel/mm/hugepages/hugepages-2048kB");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nr_hugepages"), "10\n").unwrap();
        std::fs::write(dir.join("free_hugepages"), "4\n").unwrap();
        // 4 free, 9 wanted: 5 more reserved (a plain file keeps what is written; the kernel
        // would also raise free_hugepages).
        let r = reserve(&root, None, 2048, 9).unwrap();
        assert_eq!((r.free_before, r.total_before, r.total_after), (4, 10, 15));
        // Enough free: nothing written, nothing lowered.
        let r = reserve(&root, None, 2048, 3).unwrap();
        assert_eq!((r.total_before, r.total_after), (15, 15));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn sizes_parse_in_kib() {
        assert_eq!(parse_size_kb("2M"), Some(2048));
        assert_eq!(parse_size_kb("1G"), Some(1_048_576));
        assert_eq!(parse_size_kb("2048k"), Some(2048));
        assert_eq!(parse_size_kb("huge"), None);
    }

    #[test]
    fn mounts_keep_only_hugetlbfs() {
        let m = parse_mounts(
            "proc /proc proc rw 0 0\nnodev /mnt/my\\040huge hugetlbfs rw,pagesize=1G 0 0\nshort line\n",
        );
        assert_eq!(
            m,
            vec![HugetlbfsMount {
                path: "/mnt/my huge".into(),
                page_size_kb: Some(1_048_576)
            }]
        );
    }
}
