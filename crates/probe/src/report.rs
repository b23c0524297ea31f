//! The doctor: everything the probe found and what to do about it, as a [`Report`] that
//! serialises to camelCase JSON (for the control plane) and renders as text (for people; see
//! `report_text.rs`), with ✓/✗ checks (`report_checks.rs`).

use std::io;
use std::path::Path;

use serde::Serialize;

use crate::dpdk_build::DpdkBuild;
use crate::hugepages::{HugepageStats, HugetlbfsMount};
use crate::iommu::IommuKind;
use crate::iova::{predict_iova, DoctorOptions, IovaPrediction};
use crate::recommend::{recommend_driver, Driver};
use crate::report_checks::checks;
use crate::Probe;

/// The doctor's findings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The options the IOVA prediction assumed.
    pub options: DoctorOptions,
    /// The DPDK build Fastpath links, whose rules the prediction follows.
    pub dpdk: DpdkBuild,
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
    pub(crate) fn pass(what: impl Into<String>) -> Self {
        Self {
            ok: true,
            what: what.into(),
            fix: None,
        }
    }

    pub(crate) fn fail(what: impl Into<String>, fix: impl Into<String>) -> Self {
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
            dpdk: DpdkBuild::LINKED,
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
