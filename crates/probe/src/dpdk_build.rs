//! The DPDK build Fastpath links, as its `rte_build_config.h` says (read by `build.rs` through
//! `pkg-config libdpdk`, as `dpdk-sys` links it): which of EAL's IOVA rules are compiled in.
//! A prediction that used a rule compiled out of this build (KNI's preference for PA without
//! `RTE_LIB_KNI`, say) would be wrong on the very machine it runs on.

use serde::Serialize;

/// What one DPDK build compiles in, as far as the IOVA choice is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // one flag per switch of rte_build_config.h
pub struct DpdkBuild {
    /// `RTE_VER_YEAR.RTE_VER_MONTH.RTE_VER_MINOR`, e.g. `22.11.11`.
    pub version: &'static str,
    /// Where the header was read (not in the JSON: it differs between machines).
    #[serde(skip)]
    pub header: &'static str,
    /// `RTE_IOVA_AS_PA` (meson `enable_iova_as_pa`): when 0, `rte_eal_init()` refuses PA with
    /// "Cannot use IOVA as 'PA' as it is disabled during build".
    pub iova_as_pa: bool,
    /// `RTE_EAL_VFIO` (`VFIO_PRESENT` in `lib/eal/linux/eal_vfio.h`): without it a device on
    /// `vfio-pci` neither votes (`pci_device_iova_mode()`) nor can be mapped.
    pub vfio: bool,
    /// `RTE_LIB_KNI`: with it, and the `rte_kni` module loaded, EAL prefers PA when no bus asks.
    pub kni: bool,
    /// `RTE_NET_CNXK`: Marvell's cnxk ethdev PMDs, flagged `RTE_PCI_DRV_NEED_IOVA_AS_VA`.
    pub net_cnxk: bool,
    /// `RTE_NET_MLX4`: the mlx4 PMD, which drives a device its kernel driver keeps (bifurcated).
    pub net_mlx4: bool,
    /// `RTE_NET_MLX5`: the mlx5 PMD, bifurcated like mlx4.
    pub net_mlx5: bool,
    /// `RTE_ARCH_X86`: `pci_device_iommu_support_va()` reads the VT-d `cap` register.
    pub arch_x86: bool,
}

impl DpdkBuild {
    /// The build `pkg-config libdpdk` named when this crate was compiled.
    pub const LINKED: Self = include!(concat!(env!("OUT_DIR"), "/dpdk_build.rs"));

    /// What is compiled in or out, in a line: `IOVA as PA allowed, VFIO, no KNI`.
    pub fn describe(&self) -> String {
        let with = |on: bool, what: &str| {
            if on {
                what.to_owned()
            } else {
                format!("no {what}")
            }
        };
        [
            if self.iova_as_pa {
                "IOVA as PA allowed".to_owned()
            } else {
                "IOVA as PA compiled out".to_owned()
            },
            with(self.vfio, "VFIO"),
            with(self.kni, "KNI"),
            with(self.net_cnxk, "cnxk PMDs"),
            with(self.net_mlx5, "mlx5 PMD"),
        ]
        .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linked_build_is_22_11_as_dpdk_sys_requires() {
        let b = DpdkBuild::LINKED;
        assert!(b.version.starts_with("22.11."), "{b:?}");
        assert!(b.header.ends_with("rte_build_config.h"), "{b:?}");
    }
}
