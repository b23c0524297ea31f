//! The doctor: everything the probe found and what to do about it, as a [`Report`] that
//! serialises to camelCase JSON (for the control plane) and renders as text (for people).

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::hugepages::{HugepageStats, HugetlbfsMount};
use crate::iommu::{IommuKind, FULL_ADDRESS_WIDTH};
use crate::recommend::{
    human_bytes, predict_iova, recommend_driver, DoctorOptions, Driver, IovaPrediction,
};
use crate::Probe;

/// The doctor's findings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The options the IOVA prediction assumed.
    pub options: DoctorOptions,
    /// The IOMMU.
    pub iommu: IommuReport,
    /// VFIO.
    pub vfio: VfioReport,
    /// UIO.
    pub uio: UioReport,
    /// Uid and capabilities.
    pub privileges: PrivilegesReport,
    /// Hugepage pools: global ones (`numaNode: null`) first, then per NUMA node.
    pub hugepages: Vec<HugepageStats>,
    /// hugetlbfs mounts.
    pub hugetlbfs: Vec<HugetlbfsMount>,
    /// PCI network devices, by address.
    pub devices: Vec<DeviceReport>,
    /// The IOVA mode EAL will select.
    pub iova: IovaPrediction,
    /// ✓/✗ lines for people, each ✗ with what to do.
    pub checks: Vec<Check>,
}

/// The IOMMU part of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IommuReport {
    /// Whether a real IOMMU is on (VFIO no-IOMMU groups do not count).
    pub present: bool,
    /// Number of real IOMMU groups.
    pub groups: usize,
    /// Number of VFIO no-IOMMU groups.
    pub noiommu_groups: usize,
    /// `intel`, `amd`, `other`, or `null` when no unit is listed.
    pub kind: Option<&'static str>,
    /// Address width in bits (Intel only), `null` when unknown.
    pub address_width: Option<u8>,
    /// IOMMU switches on the kernel command line.
    pub cmdline: CmdlineReport,
}

/// IOMMU switches on the kernel command line, as written.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CmdlineReport {
    /// `iommu=`.
    pub iommu: Option<String>,
    /// `intel_iommu=`.
    pub intel_iommu: Option<String>,
    /// `amd_iommu=`.
    pub amd_iommu: Option<String>,
}

/// The VFIO part of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // one flag per module, as sysfs lists them
pub struct VfioReport {
    /// `vfio` is loaded.
    pub loaded: bool,
    /// `vfio_pci` is loaded.
    pub pci_loaded: bool,
    /// `vfio_iommu_type1` is loaded.
    pub type1_loaded: bool,
    /// `enable_unsafe_noiommu_mode` is on.
    pub noiommu: bool,
    /// Entries of `/dev/vfio`.
    pub dev_nodes: Vec<String>,
}

/// The UIO part of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UioReport {
    /// `uio` is loaded.
    pub loaded: bool,
    /// `igb_uio` is loaded.
    pub igb_uio: bool,
    /// `uio_pci_generic` is loaded.
    pub uio_pci_generic: bool,
}

/// The privileges part of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivilegesReport {
    /// Effective uid, `null` when unknown.
    pub uid: Option<u32>,
    /// Whether the uid is 0.
    pub root: bool,
    /// Whether `CAP_SYS_ADMIN` is effective.
    pub cap_sys_admin: bool,
    /// Whether physical addresses can be read (`CAP_SYS_ADMIN` and `/proc/self/pagemap`).
    pub phys_addrs: bool,
}

/// One PCI network device and the driver to use.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceReport {
    /// PCI address.
    pub pci: String,
    /// Vendor id (`8086`).
    pub vendor: Option<String>,
    /// Device id (`10fb`).
    pub device: Option<String>,
    /// Bound driver, `null` if none.
    pub driver: Option<String>,
    /// IOMMU group, `null` if none.
    pub iommu_group: Option<u32>,
    /// Whether the group is viable once this device is bound to `vfio-pci` (every other member
    /// bound to `vfio-pci`, to nothing, or a bridge); `null` without a group.
    pub group_viable: Option<bool>,
    /// NUMA node, `null` for none.
    pub numa_node: Option<u32>,
    /// Its kernel interface (the first one), `null` if none.
    pub interface: Option<String>,
    /// The interface's operstate.
    pub operstate: Option<String>,
    /// Whether a kernel interface of it is active (up with a route or a global IPv6 address).
    pub active: bool,
    /// `sriov_totalvfs` on a PF that can create VFs.
    pub sriov_total_vfs: Option<u32>,
    /// `sriov_numvfs`.
    pub sriov_num_vfs: Option<u32>,
    /// The PF's address, on a VF.
    pub physfn: Option<String>,
    /// The driver to use.
    pub recommended_driver: Driver,
    /// Why, and what to do.
    pub reasons: Vec<String>,
}

/// One line of the human view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Whether it is fine.
    pub ok: bool,
    /// What was checked, as found.
    pub what: String,
    /// What to do, when not fine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn pass(what: impl Into<String>) -> Self {
        Self {
            ok: true,
            what: what.into(),
            fix: None,
        }
    }

    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            ok: false,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Probes `root` and reports what DPDK can use there, assuming it starts with `opts`.
pub fn doctor(root: &Path, opts: &DoctorOptions) -> io::Result<Report> {
    Ok(Report::new(&Probe::read(root)?, opts))
}

impl Report {
    /// Builds the report from a probe.
    pub fn new(probe: &Probe, opts: &DoctorOptions) -> Self {
        let iommu = &probe.iommu;
        let m = &probe.modules;
        let p = &probe.privileges;
        let devices: Vec<DeviceReport> = probe
            .network_devices()
            .map(|d| device_report(probe, d))
            .collect();
        let iova = predict_iova(probe, opts);
        let mut report = Self {
            options: opts.clone(),
            iommu: IommuReport {
                present: iommu.present(),
                groups: iommu.real_groups(),
                noiommu_groups: iommu.groups.len() - iommu.real_groups(),
                kind: iommu.kind().map(|k| match k {
                    IommuKind::Intel => "intel",
                    IommuKind::Amd => "amd",
                    IommuKind::Other => "other",
                }),
                address_width: iommu.address_width(),
                cmdline: CmdlineReport {
                    iommu: iommu.cmdline.iommu.clone(),
                    intel_iommu: iommu.cmdline.intel_iommu.clone(),
                    amd_iommu: iommu.cmdline.amd_iommu.clone(),
                },
            },
            vfio: VfioReport {
                loaded: m.vfio,
                pci_loaded: m.vfio_pci,
                type1_loaded: m.vfio_iommu_type1,
                noiommu: m.vfio_noiommu,
                dev_nodes: m.vfio_nodes.clone(),
            },
            uio: UioReport {
                loaded: m.uio,
                igb_uio: m.igb_uio,
                uio_pci_generic: m.uio_pci_generic,
            },
            privileges: PrivilegesReport {
                uid: p.uid,
                root: p.is_root(),
                cap_sys_admin: p.cap_sys_admin,
                phys_addrs: p.phys_addrs(),
            },
            hugepages: probe.hugepage_stats.clone(),
            hugetlbfs: probe.hugepages.mounts.clone(),
            devices,
            iova,
            checks: Vec::new(),
        };
        report.checks = checks(probe, &report);
        report
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report for people: what was found, the devices with their drivers, the IOVA mode,
    /// and ✓/✗ checks with what to do.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_machine(&mut out);
        self.write_devices(&mut out);
        self.write_iova_and_checks(&mut out);
        out
    }

    fn write_machine(&self, out: &mut String) {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(out, "Fastpath doctor");
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

fn device_report(probe: &Probe, d: &crate::PciDevice) -> DeviceReport {
    let advice = recommend_driver(probe, d);
    let iface = d.active_interface().or_else(|| d.interfaces.first());
    DeviceReport {
        pci: d.address.clone(),
        vendor: d.vendor.clone(),
        device: d.device.clone(),
        driver: d.driver.clone(),
        iommu_group: d.iommu_group,
        group_viable: d
            .iommu_group
            .map(|g| probe.group_viability(g, &[d.address.as_str()]).viable()),
        numa_node: d.numa_node,
        interface: iface.map(|i| i.name.clone()),
        operstate: iface.and_then(|i| i.operstate.clone()),
        active: d.active_interface().is_some(),
        sriov_total_vfs: d.sriov_total_vfs,
        sriov_num_vfs: d.sriov_num_vfs,
        physfn: d.physfn.clone(),
        recommended_driver: advice.driver,
        reasons: advice.reasons,
    }
}

fn checks(probe: &Probe, report: &Report) -> Vec<Check> {
    let mut checks = Vec::new();
    iommu_checks(probe, report, &mut checks);
    driver_checks(probe, report, &mut checks);
    let p = &report.privileges;
    let who = match p.uid {
        Some(0) => "root".to_owned(),
        Some(uid) => format!("uid {uid}"),
        None => "an unknown user".to_owned(),
    };
    checks.push(if p.phys_addrs {
        Check::pass(format!("Physical addresses are readable (running as {who} with CAP_SYS_ADMIN)"))
    } else {
        Check::fail(
            format!("Physical addresses are not readable (running as {who} without CAP_SYS_ADMIN)"),
            "Run DPDK as root (or with CAP_SYS_ADMIN) for IOVA as PA; unprivileged DPDK needs IOVA as VA: vfio-pci with an IOMMU, or vdevs.",
        )
    });
    hugepage_checks(probe, &mut checks);
    for d in &report.devices {
        checks.push(device_check(probe, d));
    }
    if report.devices.is_empty() {
        checks.push(Check::pass("No PCI network devices: use software vdevs (net_null, net_ring, net_pcap, net_af_packet)"));
    }
    let iova = &report.iova;
    let with = if report.options.devices.is_empty() {
        "vdevs only".to_owned()
    } else {
        format!("with {}", report.options.devices.join(", "))
    };
    let what = format!(
        "IOVA as {} predicted ({with})",
        iova.predicted.to_string().to_uppercase()
    );
    checks.push(if iova.eal_fails {
        Check::fail(
            format!("{what}, and rte_eal_init() will fail"),
            iova.warnings.first().cloned().unwrap_or_default(),
        )
    } else {
        Check::pass(what)
    });
    checks
}

fn iommu_checks(probe: &Probe, report: &Report, checks: &mut Vec<Check>) {
    let iommu = &report.iommu;
    if iommu.present {
        checks.push(Check::pass(format!(
            "IOMMU enabled ({} groups)",
            iommu.groups
        )));
        if let Some(w) = iommu.address_width {
            checks.push(if w >= FULL_ADDRESS_WIDTH {
                Check::pass(format!("IOMMU address width is {w} bits"))
            } else {
                Check::fail(
                    format!("IOMMU address width is only {w} bits: IOVA as VA can only use memory below {}", human_bytes(1u128 << w)),
                    "Keep DPDK's memory small, or use --iova-mode=pa as root; in a QEMU guest give the vIOMMU 48 bits (-device intel-iommu,aw-bits=48).",
                )
            });
        }
    } else {
        let cmdline = &probe.iommu.cmdline;
        let asked = cmdline.intel_iommu.as_deref() == Some("on") || cmdline.amd_iommu.is_some();
        checks.push(Check::fail(
            "No IOMMU: devices cannot be isolated and need IOVA as PA (root)",
            if asked {
                "The kernel command line asks for one: enable VT-d / AMD-Vi in the firmware (in a VM, give the guest a vIOMMU: QEMU -device intel-iommu)."
            } else {
                "Enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on iommu=pt (AMD: amd_iommu=on iommu=pt); in a VM, give the guest a vIOMMU (QEMU -device intel-iommu). Until then use vfio-pci in no-IOMMU mode or UIO."
            },
        ));
    }
}

fn driver_checks(probe: &Probe, report: &Report, checks: &mut Vec<Check>) {
    let wants = |driver: Driver| {
        report
            .devices
            .iter()
            .any(|d| d.recommended_driver == driver)
    };
    let m = &probe.modules;
    if wants(Driver::VfioPci) {
        checks.push(if m.vfio_pci {
            Check::pass("vfio-pci is loaded")
        } else {
            Check::fail("vfio-pci is not loaded", "modprobe vfio-pci")
        });
    }
    if wants(Driver::VfioPci) && !report.iommu.present {
        checks.push(if m.vfio_noiommu {
            Check::pass("VFIO no-IOMMU mode is on (no isolation: the kernel is tainted)")
        } else {
            Check::fail(
                "VFIO no-IOMMU mode is off: vfio-pci cannot work without an IOMMU",
                if m.vfio {
                    "echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode; this taints the kernel and gives no isolation."
                } else {
                    "modprobe vfio enable_unsafe_noiommu_mode=1 && modprobe vfio-pci; this taints the kernel and gives no isolation."
                },
            )
        });
    }
    if wants(Driver::UioPciGeneric) {
        checks.push(if m.uio_pci_generic {
            Check::pass("uio_pci_generic is loaded")
        } else {
            Check::fail("uio_pci_generic is not loaded", "modprobe uio_pci_generic")
        });
    }
    if wants(Driver::IgbUio) {
        checks.push(if m.igb_uio {
            Check::pass("igb_uio is loaded")
        } else {
            Check::fail(
                "igb_uio is not loaded",
                "Build it from dpdk-kmods (linux/igb_uio), then modprobe uio && insmod igb_uio.ko.",
            )
        });
    }
}

fn hugepage_checks(probe: &Probe, checks: &mut Vec<Check>) {
    let h = &probe.hugepages;
    let reserved: Vec<String> = h
        .pools
        .iter()
        .filter(|p| p.total > 0)
        .map(|p| format!("{} × {} kB ({} free)", p.total, p.size_kb, p.free))
        .collect();
    checks.push(if reserved.is_empty() {
        Check::fail(
            "No hugepages are reserved",
            "echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages as root (or hugepages=512 on the kernel command line); or run DPDK with --no-huge (IOVA as VA; size memory with -m).",
        )
    } else {
        Check::pass(format!("Hugepages reserved: {}", reserved.join(", ")))
    });
    checks.push(if h.mounts.is_empty() {
        Check::fail("hugetlbfs is not mounted", "mount -t hugetlbfs nodev /dev/hugepages (as root)")
    } else if !reserved.is_empty() && h.usable_free_bytes() == 0 {
        let paths: Vec<String> = h.mounts.iter().map(|m| m.path.display().to_string()).collect();
        Check::fail(
            format!("hugetlbfs is mounted at {} but no free hugepage of a mounted size is left", paths.join(", ")),
            "Mount hugetlbfs for the reserved page size (mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages), or reserve more pages.",
        )
    } else {
        let paths: Vec<String> = h.mounts.iter().map(|m| m.path.display().to_string()).collect();
        Check::pass(format!("hugetlbfs is mounted at {}", paths.join(", ")))
    });
}

fn device_check(probe: &Probe, d: &DeviceReport) -> Check {
    let name = format!(
        "{} ({}:{})",
        d.pci,
        d.vendor.as_deref().unwrap_or("?"),
        d.device.as_deref().unwrap_or("?")
    );
    let driver = d.recommended_driver;
    if driver.is_software() {
        let iface = d.interface.as_deref().unwrap_or("its interface");
        return Check::pass(format!(
            "{name} stays with the kernel ({iface}): use it through {driver}"
        ));
    }
    // vfio-pci needs the whole group: name the other members in the same command.
    let mut to_bind = vec![d.pci.clone()];
    if driver == Driver::VfioPci {
        if let Some(group) = d.iommu_group.filter(|_| probe.iommu.present()) {
            let viability = probe.group_viability(group, &[d.pci.as_str()]);
            to_bind.extend(viability.blockers.into_iter().map(|b| b.pci));
        }
    }
    let fix = format!("dpdk-devbind.py -b {driver} {}", to_bind.join(" "));
    if d.driver.as_deref() == Some(driver.name()) {
        if to_bind.len() > 1 {
            return Check::fail(
                format!("{name} is bound to {driver} but its IOMMU group is not viable"),
                fix,
            );
        }
        return Check::pass(format!("{name} is bound to {driver}: ready for DPDK"));
    }
    let now = d.driver.as_deref().unwrap_or("no driver");
    Check::fail(format!("{name} is bound to {now}, not {driver}"), fix)
}
