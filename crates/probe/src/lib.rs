//! What this machine offers DPDK, read from a filesystem root (default `/`).
//!
//! Everything takes the root as a parameter so tests run on fixture trees and never on the
//! real `/sys`. This first part covers hugepages: how many are reserved and free per size,
//! and where hugetlbfs is mounted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Hugepages {
    /// Reads the state under `root` (normally `/`).
    pub fn read(root: &Path) -> io::Result<Self> {
        let mut pools = Vec::new();
        let dir = root.join("sys/kernel/mm/hugepages");
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    let name = entry.file_name();
                    let Some(size_kb) = name
                        .to_str()
                        .and_then(|n| n.strip_prefix("hugepages-"))
                        .and_then(|n| n.strip_suffix("kB"))
                        .and_then(|n| n.parse().ok())
                    else {
                        continue;
                    };
                    let total = read_number(&entry.path().join("nr_hugepages"))?;
                    let free = read_number(&entry.path().join("free_hugepages"))?;
                    pools.push(HugepagePool {
                        size_kb,
                        total,
                        free,
                    });
                }
            }
            // A kernel without hugetlb support has no such directory: no pools.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        pools.sort_by_key(|p| p.size_kb);
        let mounts = match fs::read_to_string(root.join("proc/mounts")) {
            Ok(text) => parse_mounts(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Self { pools, mounts })
    }

    /// Free hugepage memory in bytes, over every size that has a hugetlbfs mount DPDK can use.
    pub fn usable_free_bytes(&self) -> u64 {
        if self.mounts.is_empty() {
            return 0;
        }
        self.pools
            .iter()
            .filter(|p| {
                self.mounts
                    .iter()
                    .any(|m| m.page_size_kb.is_none_or(|s| s == p.size_kb))
            })
            .map(|p| p.free * p.size_kb * 1024)
            .sum()
    }

    /// Why DPDK cannot use hugepages here, or `None` when at least `needed_bytes` are usable.
    pub fn shortfall(&self, needed_bytes: u64) -> Option<String> {
        let reserved: u64 = self.pools.iter().map(|p| p.total).sum();
        if reserved == 0 {
            return Some("no hugepages are reserved (echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages as root)".into());
        }
        if self.mounts.is_empty() {
            return Some("hugepages are reserved but no hugetlbfs is mounted (mount -t hugetlbfs nodev /dev/hugepages as root)".into());
        }
        let usable = self.usable_free_bytes();
        if usable < needed_bytes {
            return Some(format!(
                "{} MiB of hugepages are free but {} MiB are needed (reserve more, or stop what holds them)",
                usable >> 20,
                needed_bytes.div_ceil(1 << 20)
            ));
        }
        None
    }
}

fn read_number(path: &Path) -> io::Result<u64> {
    let text = fs::read_to_string(path)?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number: {text:?}", path.display()),
        )
    })
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

/// Whether this process runs as root (what reserving hugepages and binding devices need).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_kib() {
        assert_eq!(parse_size_kb("2M"), Some(2048));
        assert_eq!(parse_size_kb("1G"), Some(1_048_576));
        assert_eq!(parse_size_kb("2048k"), Some(2048));
        assert_eq!(parse_size_kb("huge"), None);
    }
}
