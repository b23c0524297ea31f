//! The kernel modules DPDK's PCI drivers lean on, from `sys/module/<name>` (present when the
//! module is loaded or built in), VFIO's no-IOMMU switch, and the VFIO group nodes in `dev/vfio`.

use std::io;
use std::path::Path;

use crate::fsutil::{dir_names, exists, invalid, read_opt};

/// Where VFIO's no-IOMMU switch lives, relative to the root.
pub const NOIOMMU_PARAMETER: &str = "sys/module/vfio/parameters/enable_unsafe_noiommu_mode";

/// Which modules are loaded, and how VFIO is set up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per module, as sysfs lists them
pub struct Modules {
    /// `vfio` (the core).
    pub vfio: bool,
    /// `vfio_pci` (the `vfio-pci` driver).
    pub vfio_pci: bool,
    /// `vfio_iommu_type1` (the IOMMU backend VFIO uses on x86).
    pub vfio_iommu_type1: bool,
    /// `uio` (the core `igb_uio` and `uio_pci_generic` sit on).
    pub uio: bool,
    /// `igb_uio` (out of tree, from dpdk-kmods).
    pub igb_uio: bool,
    /// `uio_pci_generic` (in tree).
    pub uio_pci_generic: bool,
    /// `rte_kni`: when loaded, EAL prefers IOVA as PA (see `rte_eal_init`).
    pub rte_kni: bool,
    /// `enable_unsafe_noiommu_mode` is `Y` (or `1`): VFIO works without an IOMMU.
    pub vfio_noiommu: bool,
    /// Entries of `dev/vfio`: `vfio` (the container), one per group (`12`, or `noiommu-0`).
    pub vfio_nodes: Vec<String>,
}

impl Modules {
    /// Reads the module state under `root`. A garbled no-IOMMU parameter is an error, since it
    /// decides the IOVA mode.
    pub fn read(root: &Path) -> io::Result<Self> {
        let loaded = |name: &str| exists(&root.join("sys/module").join(name));
        let noiommu_path = root.join(NOIOMMU_PARAMETER);
        let vfio_noiommu = match read_opt(&noiommu_path)? {
            None => false,
            Some(text) => match text.trim() {
                "Y" | "y" | "1" => true,
                "N" | "n" | "0" => false,
                other => {
                    return Err(invalid(
                        &noiommu_path,
                        format!("expected Y or N, got {other:?}"),
                    ))
                }
            },
        };
        Ok(Self {
            vfio: loaded("vfio"),
            vfio_pci: loaded("vfio_pci"),
            vfio_iommu_type1: loaded("vfio_iommu_type1"),
            uio: loaded("uio"),
            igb_uio: loaded("igb_uio"),
            uio_pci_generic: loaded("uio_pci_generic"),
            rte_kni: loaded("rte_kni"),
            vfio_noiommu,
            vfio_nodes: dir_names(&root.join("dev/vfio"))?,
        })
    }
}
