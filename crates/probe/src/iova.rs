//! The IOVA mode DPDK 22.11's `rte_eal_init()` (`lib/eal/linux/eal.c`) will pick for a set of
//! options, and whether it will start at all, following the DPDK build Fastpath links:
//!
//! 1. `phys_addrs = rte_eal_using_phys_addrs()`: hugepages in use (not `--no-huge`) and
//!    `rte_mem_virt2phy()` gets a page frame number from `/proc/self/pagemap`, which needs
//!    `CAP_SYS_ADMIN`.
//! 2. `rte_bus_get_iommu_class()` (`lib/eal/common/eal_common_bus.c`): only the PCI bus votes
//!    for Fastpath's ports (see [`crate::pci_vote`]); with `--no-pci` (vdevs only) nobody does.
//! 3. `--iova-mode` wins; else the buses' choice; else (DC) no `phys_addrs` → VA, `rte_kni`
//!    loaded → PA (only with `RTE_LIB_KNI`), `is_iommu_enabled()` → VA, else PA.
//! 4. Refusals: PA without `phys_addrs`; PA in a build without `RTE_IOVA_AS_PA`; a `-a` no bus
//!    can parse; no hugepage information.
//! 5. Then `rte_pci_probe_one_driver()` leaves out every device that asked for the other mode.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::dpdk_build::DpdkBuild;
use crate::iommu::FULL_ADDRESS_WIDTH;
use crate::pci_vote::{pci_bus, DeviceVote, Vote};
use crate::Probe;

/// An IOVA mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IovaMode {
    /// IOVA as virtual addresses (through an IOMMU, or no device DMA at all).
    Va,
    /// IOVA as physical addresses.
    Pa,
}

impl fmt::Display for IovaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Va => "va",
            Self::Pa => "pa",
        })
    }
}

impl FromStr for IovaMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "va" => Ok(Self::Va),
            "pa" => Ok(Self::Pa),
            other => Err(format!("IOVA mode must be \"va\" or \"pa\", not {other:?}")),
        }
    }
}

impl IovaMode {
    fn vote(self) -> Vote {
        match self {
            Self::Va => Vote::Va,
            Self::Pa => Vote::Pa,
        }
    }
}

/// How DPDK would be started: what the prediction and the doctor assume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorOptions {
    /// `--no-huge`.
    pub no_huge: bool,
    /// The config leaves hugepages to the engine (`memory.hugepages` absent): it runs with
    /// `--no-huge` when no hugepage is free.
    pub huge_fallback: bool,
    /// PCI devices passed with `-a`; empty means `--no-pci` (vdevs only).
    pub devices: Vec<String>,
    /// `--iova-mode`, when given.
    pub iova_mode_forced: Option<IovaMode>,
}

/// The IOVA mode EAL will select, and what follows from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IovaPrediction {
    /// The mode `rte_eal_init` selects.
    pub predicted: IovaMode,
    /// Whether `rte_eal_init` will fail with these options (the warnings say why).
    pub eal_fails: bool,
    /// What the buses ask for (`rte_bus_get_iommu_class()`): `pa`, `va` or `dc`.
    pub bus: Vote,
    /// Each device named with `-a`: its vote, and whether a port will open on it.
    pub votes: Vec<DeviceVote>,
    /// The DMA mask EAL keeps (the first device's IOMMU address width), in bits.
    pub dma_mask_bits: Option<u8>,
    /// How EAL gets there, step by step.
    pub reasons: Vec<String>,
    /// What will fail or be limited, and what to do.
    pub warnings: Vec<String>,
}

impl IovaPrediction {
    /// Whether every named device will be initialised (so that each port opens).
    pub fn devices_usable(&self) -> bool {
        self.votes.iter().all(|v| v.usable)
    }
}

/// The IOVA mode `rte_eal_init` will select for these options, with the DPDK Fastpath links.
pub fn predict_iova(probe: &Probe, opts: &DoctorOptions) -> IovaPrediction {
    predict_iova_with(probe, opts, &DpdkBuild::LINKED)
}

/// [`predict_iova`] for the DPDK build `build`.
pub fn predict_iova_with(probe: &Probe, opts: &DoctorOptions, build: &DpdkBuild) -> IovaPrediction {
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut eal_fails = false;
    let fallback = opts.huge_fallback && !opts.no_huge && probe.hugepages.usable_free_bytes() == 0;
    if fallback {
        reasons.push("The config leaves hugepages to the engine and no hugepage of a mounted size is free: it starts EAL with --no-huge.".to_owned());
    }
    let no_huge = opts.no_huge || fallback;
    let privileged = probe.privileges.phys_addrs();
    let phys_addrs = !no_huge && privileged;
    reasons.push(phys_addrs_reason(probe, no_huge));

    let (bus, mut votes, dma_mask_bits) = if opts.devices.is_empty() {
        reasons.push("No PCI device is named (--no-pci, vdevs only): no bus asks for a mode (DC); DPDK's software vdevs (net_null, net_ring, net_pcap, net_af_packet, net_af_xdp) have no preference.".to_owned());
        (Vote::Dc, Vec::new(), None)
    } else {
        let pci = pci_bus(probe, build, &opts.devices);
        reasons.extend(pci.reasons);
        warnings.extend(pci.warnings);
        reasons.push(format!("rte_bus_get_iommu_class(): the PCI bus is the only one with a say (Fastpath's vdevs have no preference), so the buses ask for {}.", pci.class));
        for v in pci.devices.iter().filter(|v| v.unparsable) {
            eal_fails = true;
            warnings.push(format!(
                "{} {}",
                v.reason,
                v.problem.as_deref().unwrap_or_default()
            ));
        }
        (pci.class, pci.devices, pci.dma_mask_bits)
    };

    let predicted = if let Some(forced) = opts.iova_mode_forced {
        reasons.push(format!(
            "--iova-mode={forced} forces the mode: rte_eal_init() does not take the buses' choice."
        ));
        forced
    } else if bus == Vote::Pa {
        reasons.push("rte_eal_init() takes the buses' choice: PA.".to_owned());
        IovaMode::Pa
    } else if bus == Vote::Va {
        reasons.push("rte_eal_init() takes the buses' choice: VA.".to_owned());
        IovaMode::Va
    } else {
        let (mode, why) = undecided(probe, build, phys_addrs, &mut reasons);
        reasons.push(why);
        mode
    };

    if predicted == IovaMode::Pa && !phys_addrs {
        eal_fails = true;
        warnings.insert(0, "PA needs CAP_SYS_ADMIN (root) and hugepages to read physical addresses: rte_eal_init() fails with \"Cannot use IOVA as 'PA' since physical addresses are not available\". Run as root without --no-huge, or use vfio-pci with an IOMMU (IOVA as VA).".to_owned());
    }
    if predicted == IovaMode::Pa && !build.iova_as_pa {
        eal_fails = true;
        warnings.push(format!("This DPDK ({}) is built without IOVA as PA (RTE_IOVA_AS_PA = 0): rte_eal_init() fails with \"Cannot use IOVA as 'PA' as it is disabled during build\". Use vfio-pci with an IOMMU, or a DPDK built with enable_iova_as_pa.", build.version));
    }
    if !no_huge && probe.hugepages.usable_free_bytes() == 0 {
        // eal_hugepage_info_init() runs right after the IOVA choice and needs one mounted size
        // with free pages.
        eal_fails = true;
        warnings.push("No free hugepages of a mounted size: rte_eal_init() then fails with \"Cannot get hugepage information\". Reserve and mount hugepages, or run with --no-huge (IOVA as VA; memory from -m).".to_owned());
    }
    for v in &mut votes {
        probe_one_driver(v, predicted);
    }
    if predicted == IovaMode::Va {
        va_warnings(
            probe,
            opts,
            privileged,
            no_huge,
            dma_mask_bits,
            &mut warnings,
        );
    }
    IovaPrediction {
        predicted,
        eal_fails,
        bus,
        votes,
        dma_mask_bits,
        reasons,
        warnings,
    }
}

/// Why `rte_eal_using_phys_addrs()` says what it says.
fn phys_addrs_reason(probe: &Probe, no_huge: bool) -> String {
    if no_huge {
        "With --no-huge there are no hugepages, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else if !probe.privileges.cap_sys_admin {
        "This user lacks CAP_SYS_ADMIN: since Linux 4.0 /proc/self/pagemap hides page frame numbers from it, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else if !probe.privileges.pagemap {
        "/proc/self/pagemap does not exist, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else {
        "This user has CAP_SYS_ADMIN and EAL runs with hugepages (no --no-huge), so rte_eal_using_phys_addrs() reports physical addresses available.".to_owned()
    }
}

/// `rte_eal_init`'s choice when no bus asked for a mode. The KNI branch is under
/// `#if defined(RTE_LIB_KNI)`: a build without KNI ignores a loaded `rte_kni`.
fn undecided(
    probe: &Probe,
    build: &DpdkBuild,
    phys_addrs: bool,
    reasons: &mut Vec<String>,
) -> (IovaMode, String) {
    if phys_addrs && probe.modules.rte_kni && !build.kni {
        reasons.push(format!("The rte_kni module is loaded, but this DPDK ({}) is built without KNI (RTE_LIB_KNI), so it does not prefer PA for it.", build.version));
    }
    if !phys_addrs {
        (IovaMode::Va, "No bus asked for a mode and physical addresses are unavailable, so rte_eal_init() selects IOVA as VA.".to_owned())
    } else if probe.modules.rte_kni && build.kni {
        (
            IovaMode::Pa,
            "The rte_kni module is loaded, so rte_eal_init() selects IOVA as PA for KNI."
                .to_owned(),
        )
    } else if probe.iommu.present() {
        (IovaMode::Va, "An IOMMU is enabled (/sys/kernel/iommu_groups is not empty), so rte_eal_init() selects IOVA as VA.".to_owned())
    } else if probe.iommu.dpdk_sees_groups() {
        (IovaMode::Va, "There is no IOMMU, but /sys/kernel/iommu_groups holds VFIO no-IOMMU groups and rte_eal_init()'s is_iommu_enabled() only checks that the directory is not empty, so it selects IOVA as VA.".to_owned())
    } else {
        (IovaMode::Pa, "No IOMMU is enabled and physical addresses are available, so rte_eal_init() selects IOVA as PA.".to_owned())
    }
}

/// `rte_pci_probe_one_driver()` (`drivers/bus/pci/pci_common.c`): a device that asked for the
/// other mode is not initialised ("Expecting 'PA' IOVA mode but current mode is 'VA', not
/// initializing"), and no port opens on it.
fn probe_one_driver(v: &mut DeviceVote, mode: IovaMode) {
    if !v.usable || matches!(v.vote, Vote::Dc | Vote::Skipped) || v.vote == mode.vote() {
        return;
    }
    v.usable = false;
    let fix = if v.vote == Vote::Pa {
        "It can only reach physical addresses: bind it to vfio-pci with an IOMMU (which maps either mode), or drive it from an engine of its own, without the devices that want VA and without eal.iovaMode \"VA\"."
    } else {
        "Its PMD needs IOVA as VA: bind the devices that want PA to vfio-pci with an IOMMU as well, or drive it from an engine of its own, without eal.iovaMode \"PA\"."
    };
    v.problem = Some(format!(
        "It asks for {} but EAL runs in {}: rte_pci_probe_one_driver() refuses it (\"Expecting '{}' IOVA mode but current mode is '{}', not initializing\"), so no port opens on {}. {fix}",
        v.vote,
        mode.to_string().to_uppercase(),
        v.vote,
        mode.to_string().to_uppercase(),
        v.pci
    ));
}

fn va_warnings(
    probe: &Probe,
    opts: &DoctorOptions,
    privileged: bool,
    no_huge: bool,
    dma_mask_bits: Option<u8>,
    warnings: &mut Vec<String>,
) {
    if !privileged {
        warnings.push("PA would fail: it needs CAP_SYS_ADMIN (root) to read physical addresses, so --iova-mode=pa and devices bound to igb_uio, uio_pci_generic or vfio-pci in no-IOMMU mode cannot be used by this user.".to_owned());
    } else if no_huge {
        warnings.push("With --no-huge there are no physical addresses: IOVA as PA is impossible, so devices bound to igb_uio, uio_pci_generic or vfio-pci in no-IOMMU mode cannot be used.".to_owned());
    }
    // Named devices: the mask pci_device_iommu_support_va() set; vdevs only: the IOMMU's width,
    // which matters once PCI devices are named.
    let width = if opts.devices.is_empty() {
        probe.iommu.address_width()
    } else {
        dma_mask_bits
    };
    if let Some(width) = width.filter(|w| *w < FULL_ADDRESS_WIDTH) {
        let limit = human_bytes(1u128 << width);
        let mut warning = format!("The IOMMU's address width is {width} bits (under {FULL_ADDRESS_WIDTH}): in IOVA as VA mode DPDK sets a {width}-bit DMA mask (pci_device_iommu_support_va()), so memory mapped above {limit} cannot be used for DMA and rte_mem_check_dma_mask() fails. EAL maps from 4 GiB up, so keep the hugepage memory well under {limit}, or run as root with --iova-mode=pa; in a QEMU guest raise the vIOMMU's width (-device intel-iommu,aw-bits=48).");
        if opts.devices.is_empty() {
            warning.push_str(" With vdevs only no device does DMA through the IOMMU; this matters once PCI devices are named.");
        }
        warnings.push(warning);
    }
}

pub(crate) fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes >> 10;
    let mut unit = 0;
    while value >= 1024 && unit + 1 < UNITS.len() {
        value >>= 10;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_limits_read_naturally() {
        assert_eq!(human_bytes(1 << 39), "512 GiB");
        assert_eq!(human_bytes(1 << 48), "256 TiB");
    }

    #[test]
    fn iova_modes_parse_and_print_as_eal_spells_them() {
        assert_eq!("va".parse::<IovaMode>(), Ok(IovaMode::Va));
        assert_eq!(IovaMode::Pa.to_string(), "pa");
        assert!("PA".parse::<IovaMode>().is_err());
    }
}
