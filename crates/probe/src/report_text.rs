//! The doctor's report for people: what was found, the network devices with their drivers,
//! the devices named to EAL with their votes, the IOVA mode, and ✓/✗ checks with what to do.

use std::fmt::Write as _;

use crate::hugepages::HugepageStats;
use crate::iova::human_bytes;
use crate::report::Report;

impl Report {
    /// The report for people: what was found, the devices with their drivers, the devices
    /// named to EAL with their votes, the IOVA mode, and ✓/✗ checks with what to do.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_machine(&mut out);
        self.write_devices(&mut out);
        self.write_votes(&mut out);
        self.write_iova_and_checks(&mut out);
        out
    }

    fn write_machine(&self, out: &mut String) {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(out, "Fastpath doctor");
        let _ = writeln!(
            out,
            "  DPDK        {} as linked ({})",
            self.dpdk.version,
            self.dpdk.describe()
        );
        let width = self
            .iommu
            .address_width
            .map(|w| format!(", {w}-bit address width"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  IOMMU       {}",
            if self.iommu.present {
                format!("present, {} groups{width}", self.iommu.groups)
            } else {
                "none".to_owned()
            }
        );
        let _ = writeln!(
            out,
            "  VFIO        vfio {}, vfio-pci {}, no-IOMMU mode {}",
            yes(self.vfio.loaded),
            yes(self.vfio.pci_loaded),
            if self.vfio.noiommu { "on" } else { "off" }
        );
        let _ = writeln!(
            out,
            "  UIO         igb_uio {}, uio_pci_generic {}",
            yes(self.uio.igb_uio),
            yes(self.uio.uio_pci_generic)
        );
        let uid = self
            .privileges
            .uid
            .map_or_else(|| "unknown".to_owned(), |u| u.to_string());
        let _ = writeln!(
            out,
            "  Privileges  uid {uid}, CAP_SYS_ADMIN {}, physical addresses {}",
            yes(self.privileges.cap_sys_admin),
            yes(self.privileges.phys_addrs)
        );
        let reserved: Vec<&HugepageStats> = self.hugepages.iter().filter(|p| p.total > 0).collect();
        if reserved.is_empty() {
            let _ = writeln!(out, "  Hugepages   none reserved");
        }
        for pool in reserved {
            let node = pool
                .numa_node
                .map_or_else(|| "in total".to_owned(), |n| format!("on node {n}"));
            let _ = writeln!(
                out,
                "  Hugepages   {} pages {node}: {} reserved, {} free",
                human_bytes(u128::from(pool.size_kb) << 10),
                pool.total,
                pool.free
            );
        }
        for mount in &self.hugetlbfs {
            let size = mount
                .page_size_kb
                .map(|s| format!(" ({} pages)", human_bytes(u128::from(s) << 10)))
                .unwrap_or_default();
            let _ = writeln!(out, "  hugetlbfs   {}{size}", mount.path.display());
        }
    }

    fn write_devices(&self, out: &mut String) {
        let _ = writeln!(out, "\nNetwork devices");
        if self.devices.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for d in &self.devices {
            let iface = d
                .interface
                .as_deref()
                .map(|i| format!(" {i}{}", if d.active { " (active)" } else { "" }))
                .unwrap_or_default();
            let group = d
                .iommu_group
                .map(|g| format!(", group {g}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}:{}{iface}, driver {}{group} → {}",
                d.pci,
                d.vendor.as_deref().unwrap_or("?"),
                d.device.as_deref().unwrap_or("?"),
                d.driver.as_deref().unwrap_or("none"),
                d.recommended_driver
            );
            for reason in &d.reasons {
                let _ = writeln!(out, "      {reason}");
            }
        }
    }

    /// The devices named to EAL (`-a`), each with its vote, and the PCI bus's.
    fn write_votes(&self, out: &mut String) {
        let iova = &self.iova;
        if iova.votes.is_empty() {
            return;
        }
        let _ = writeln!(out, "\nPCI devices named to EAL (-a)");
        for v in &iova.votes {
            let ids = v
                .ids
                .as_deref()
                .map(|i| format!(" {i}"))
                .unwrap_or_default();
            let group = v
                .iommu_group
                .map(|g| format!(", IOMMU group {g}"))
                .unwrap_or_default();
            let driver = v.driver.as_deref().unwrap_or("none");
            let usable = if v.usable {
                "initialised"
            } else {
                "not initialised"
            };
            let _ = writeln!(
                out,
                "  {}{ids}, driver {driver}{group} → {}, {usable}",
                v.pci,
                v.vote.describe()
            );
            let _ = writeln!(out, "      {}", v.reason);
            if let Some(problem) = &v.problem {
                let _ = writeln!(out, "    ! {problem}");
            }
        }
        let mask = iova
            .dma_mask_bits
            .map(|b| format!(", DMA mask {b} bits"))
            .unwrap_or_default();
        let _ = writeln!(out, "  PCI bus votes {}{mask}", iova.bus);
    }

    fn write_iova_and_checks(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nIOVA mode: {}{}",
            self.iova.predicted.to_string().to_uppercase(),
            if self.iova.eal_fails {
                " (EAL will fail)"
            } else {
                ""
            }
        );
        for reason in &self.iova.reasons {
            let _ = writeln!(out, "      {reason}");
        }
        for warning in &self.iova.warnings {
            let _ = writeln!(out, "    ! {warning}");
        }
        let _ = writeln!(out, "\nChecks");
        for check in &self.checks {
            let _ = writeln!(out, "  {} {}", if check.ok { "✓" } else { "✗" }, check.what);
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "      fix: {fix}");
            }
        }
    }
}
