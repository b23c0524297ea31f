//! Who DPDK would run as, read from `proc/self/status` under the root so fixtures can say it.
//!
//! What matters to DPDK is not root as such but whether it can read physical addresses: since
//! Linux 4.0, `/proc/self/pagemap` shows page frame numbers only to a process holding
//! `CAP_SYS_ADMIN`, and without them `rte_mem_virt2phy()` fails, `rte_eal_using_phys_addrs()`
//! says no, and IOVA as PA is impossible.

use std::io;
use std::path::Path;

use crate::fsutil::{exists, invalid, read_opt};

/// The capability bit that unlocks page frame numbers in `/proc/self/pagemap`.
pub const CAP_SYS_ADMIN: u32 = 21;

/// The process's identity and the privileges DPDK cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Privileges {
    /// Effective uid (second number of the `Uid:` line), `None` when the status file is missing.
    pub uid: Option<u32>,
    /// Whether bit [`CAP_SYS_ADMIN`] is set in the `CapEff:` mask.
    pub cap_sys_admin: bool,
    /// Whether `proc/self/pagemap` exists.
    pub pagemap: bool,
}

impl Privileges {
    /// Reads `proc/self/status` and `proc/self/pagemap` under `root`. A missing status file
    /// means unknown, treated as unprivileged; a garbled `Uid:` or `CapEff:` line is an error.
    pub fn read(root: &Path) -> io::Result<Self> {
        let status_path = root.join("proc/self/status");
        let (uid, cap_eff) = match read_opt(&status_path)? {
            Some(text) => parse_status(&status_path, &text)?,
            None => (None, None),
        };
        Ok(Self {
            uid,
            cap_sys_admin: cap_eff.is_some_and(|mask| mask & (1 << CAP_SYS_ADMIN) != 0),
            pagemap: exists(&root.join("proc/self/pagemap")),
        })
    }

    /// Whether the effective uid is 0.
    pub fn is_root(&self) -> bool {
        self.uid == Some(0)
    }

    /// Whether physical addresses can be read: `CAP_SYS_ADMIN` and a pagemap to read them from.
    pub fn phys_addrs(&self) -> bool {
        self.cap_sys_admin && self.pagemap
    }
}

/// The effective uid and the `CapEff:` mask from a `/proc/<pid>/status` text.
fn parse_status(path: &Path, text: &str) -> io::Result<(Option<u32>, Option<u64>)> {
    let mut uid = None;
    let mut cap_eff = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            let effective = rest.split_whitespace().nth(1);
            uid = Some(effective.and_then(|n| n.parse().ok()).ok_or_else(|| {
                invalid(path, format!("Uid: line has no effective uid: {line:?}"))
            })?);
        } else if let Some(rest) = line.strip_prefix("CapEff:") {
            cap_eff = Some(
                u64::from_str_radix(rest.trim(), 16)
                    .map_err(|_| invalid(path, format!("CapEff: is not a hex mask: {line:?}")))?,
            );
        }
    }
    Ok((uid, cap_eff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_number() {
        let p = Path::new("status");
        let text = "Name:\tx\nUid:\t1000\t0\t1000\t1000\nCapEff:\t0000000000200000\n";
        assert_eq!(parse_status(p, text).unwrap(), (Some(0), Some(1 << 21)));
    }

    #[test]
    fn garbled_lines_name_the_file() {
        let p = Path::new("/x/proc/self/status");
        let e = parse_status(p, "Uid:\tme\n").unwrap_err();
        assert!(e.to_string().contains("/x/proc/self/status"), "{e}");
        assert!(parse_status(p, "CapEff:\tzz\n").is_err());
    }
}
