//! What this machine offers DPDK, read from a filesystem root (default `/`).
//!
//! Everything takes the root as a parameter so tests run on fixture trees and never on the
//! real `/sys`. [`Probe::read`] gathers it all: the IOMMU and its groups, the VFIO/UIO modules,
//! the PCI network devices and their kernel interfaces, hugepages, and the process's
//! privileges. [`recommend`] turns that into a driver per device, [`iova`] (with
//! [`pci_vote`], following the [`DpdkBuild`] Fastpath links) into the IOVA mode EAL will pick
//! for the devices it is given, [`doctor`] into a [`Report`] (JSON or text), and [`devbind`]
//! into the sysfs writes that bind a device to a driver — planned first, applied only on
//! request, never outside the root.
//!
//! Missing files and directories mean "absent", never an error; a garbled file that decides
//! an answer (a hugepage counter, a PCI class, the uid, the no-IOMMU switch) is an error naming
//! its path.

pub mod devbind;
pub mod dpdk_build;
mod fsutil;
pub mod hugepages;
pub mod iommu;
pub mod iova;
pub mod modules;
pub mod numa;
pub mod pci;
pub mod pci_vote;
pub mod privileges;
pub mod recommend;
pub mod report;
mod report_checks;
mod report_text;

use std::io;
use std::path::{Path, PathBuf};

pub use devbind::{apply, plan_bind, plan_unbind, status, DeviceStatus, Refusal, Write};
pub use dpdk_build::DpdkBuild;
pub use hugepages::{
    mount_hugetlbfs, read_hugepage_stats, reserve, HugepagePool, HugepageStats, Hugepages,
    HugetlbfsMount, Reservation,
};
pub use iommu::{Iommu, IommuGroup, IommuKind, IommuUnit, KernelCmdline};
pub use iova::{predict_iova, predict_iova_with, DoctorOptions, IovaMode, IovaPrediction};
pub use modules::Modules;
pub use numa::NumaNode;
pub use pci::{parse_pci_address, NetInterface, PciDevice};
pub use pci_vote::{DeviceVote, Vote};
pub use privileges::Privileges;
pub use recommend::{recommend_driver, Driver, DriverAdvice};
pub use report::{doctor, Check, Report};

/// Everything read from one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The root everything was read from.
    pub root: PathBuf,
    /// IOMMU groups, units and command line.
    pub iommu: Iommu,
    /// VFIO/UIO modules and the no-IOMMU switch.
    pub modules: Modules,
    /// Drivers registered on the PCI bus (`sys/bus/pci/drivers/*`).
    pub pci_drivers: Vec<String>,
    /// Every PCI device, by address (network or not: IOMMU groups mix them).
    pub devices: Vec<PciDevice>,
    /// Hugepage pools and mounts, as the engine plans with them.
    pub hugepages: Hugepages,
    /// Hugepage counters per size and per NUMA node.
    pub hugepage_stats: Vec<HugepageStats>,
    /// Uid and capabilities.
    pub privileges: Privileges,
}

/// Whether binding a device to `vfio-pci` leaves its IOMMU group usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupViability {
    /// The group number.
    pub group: u32,
    /// Members that keep the group from being viable: bound to a driver other than `vfio-pci`
    /// and not a PCI bridge.
    pub blockers: Vec<GroupMember>,
}

/// A member of an IOMMU group that is bound to a non-VFIO driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Its PCI address.
    pub pci: String,
    /// The driver it is bound to.
    pub driver: String,
    /// Its active kernel interface, if any: then the group cannot be taken at all.
    pub active_interface: Option<String>,
}

impl GroupViability {
    /// Whether every other member is bound to `vfio-pci`, to nothing, or is a bridge.
    pub fn viable(&self) -> bool {
        self.blockers.is_empty()
    }

    /// The blockers as `0000:02:00.1 (igb)`, joined for a sentence.
    pub fn describe_blockers(&self) -> String {
        self.blockers
            .iter()
            .map(|b| format!("{} ({})", b.pci, b.driver))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Probe {
    /// Reads everything under `root` (normally `/`).
    pub fn read(root: &Path) -> io::Result<Self> {
        Ok(Self {
            root: root.to_path_buf(),
            iommu: Iommu::read(root)?,
            modules: Modules::read(root)?,
            pci_drivers: fsutil::dir_names(&root.join("sys/bus/pci/drivers"))?,
            devices: pci::read_devices(root)?,
            hugepages: Hugepages::read(root)?,
            hugepage_stats: read_hugepage_stats(root)?,
            privileges: Privileges::read(root)?,
        })
    }

    /// The device at a (long-form) PCI address.
    pub fn device(&self, pci: &str) -> Option<&PciDevice> {
        self.devices.iter().find(|d| d.address == pci)
    }

    /// The network devices, by address.
    pub fn network_devices(&self) -> impl Iterator<Item = &PciDevice> {
        self.devices.iter().filter(|d| d.is_network())
    }

    /// Whether `driver` is registered on the PCI bus (its module is loaded).
    pub fn has_pci_driver(&self, driver: &str) -> bool {
        self.pci_drivers.iter().any(|d| d == driver)
    }

    /// Whether `group` would be viable for VFIO once the devices in `binding` are bound to
    /// `vfio-pci`: every other member must be bound to `vfio-pci`, to nothing, or be a PCI
    /// bridge (class `0x0604`), as the kernel's own viability check allows.
    pub fn group_viability(&self, group: u32, binding: &[&str]) -> GroupViability {
        let members = self
            .iommu
            .group(group)
            .map(|g| g.members.as_slice())
            .unwrap_or_default();
        let blockers = members
            .iter()
            .filter(|m| !binding.contains(&m.as_str()))
            .filter_map(|m| {
                let dev = self.device(m)?;
                let driver = dev.driver.as_deref()?;
                (driver != "vfio-pci" && !dev.is_bridge()).then(|| GroupMember {
                    pci: m.clone(),
                    driver: driver.to_owned(),
                    active_interface: dev.active_interface().map(|i| i.name.clone()),
                })
            })
            .collect();
        GroupViability { group, blockers }
    }
}

/// Whether this process runs as root (what reserving hugepages and binding devices need).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
