//! The PCI bus's say in the IOVA mode, for the devices EAL is given with `-a`, as DPDK 22.11's
//! `rte_pci_get_iommu_class()` (`drivers/bus/pci/pci_common.c`) casts it: each device on the bus
//! votes through `pci_device_iova_mode()` (`drivers/bus/pci/linux/pci.c`) by the kernel driver it
//! is bound to, the first device's IOMMU says whether VA is possible at all, and the votes are
//! combined. Each rule is one function, named after the DPDK function it follows.
//!
//! Only what the linked build compiles in applies (see [`DpdkBuild`]): without `RTE_EAL_VFIO` a
//! `vfio-pci` device has no vote, without `RTE_NET_CNXK` no PMD asks for VA.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::dpdk_build::DpdkBuild;
use crate::pci::{parse_pci_address, PciDevice};
use crate::recommend::{bind_step, recommend_driver};
use crate::Probe;

/// What a device asks of the bus, or that it is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// IOVA as physical addresses (`RTE_IOVA_PA`).
    Pa,
    /// IOVA as virtual addresses (`RTE_IOVA_VA`).
    Va,
    /// No preference (`RTE_IOVA_DC`).
    Dc,
    /// Not counted: not on the bus, or on a kernel driver (`RTE_PCI_KDRV_UNKNOWN`).
    Skipped,
}

impl Vote {
    /// `votes PA`, `votes DC`, or `no vote`: for sentences.
    pub fn describe(self) -> String {
        match self {
            Self::Skipped => "no vote".to_owned(),
            other => format!("votes {other}"),
        }
    }
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pa => "PA",
            Self::Va => "VA",
            Self::Dc => "DC",
            Self::Skipped => "skipped",
        })
    }
}

/// One device named to EAL: where it stands and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceVote {
    /// The address as named (long form when it parses).
    pub pci: String,
    /// `vendor:device`, when the device exists.
    pub ids: Option<String>,
    /// The kernel driver it is bound to.
    pub driver: Option<String>,
    /// Its IOMMU group.
    pub iommu_group: Option<u32>,
    /// What it asks of the bus.
    pub vote: Vote,
    /// Why, after DPDK's source.
    pub reason: String,
    /// Whether EAL will initialise it, so that a port opens on it.
    pub usable: bool,
    /// Why not, and what to do.
    pub problem: Option<String>,
    /// Whether `rte_pci_scan()` puts it on the bus (it exists and is bound to a driver).
    #[serde(skip)]
    pub on_bus: bool,
    /// Whether `-a` cannot even be parsed: `rte_eal_init()` then fails.
    #[serde(skip)]
    pub unparsable: bool,
}

/// Whether the IOMMU can do VA, as `pci_device_iommu_support_va()` answers for the first device
/// on the bus (`drivers/bus/pci/linux/pci.c`, x86 branch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaSupport {
    /// No `iommu/intel-iommu/cap` (ENOENT): "We don't have an Intel IOMMU, assume VA supported".
    Assumed,
    /// The VT-d unit's address width (MGAW + 1), which EAL keeps as its DMA mask.
    Width(u8),
    /// The `cap` file exists but cannot be read or parsed: VA is taken as unsupported.
    Refused(String),
}

/// The PCI bus's answer to `rte_bus_get_iommu_class()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciBus {
    /// Every named device, in the order named.
    pub devices: Vec<DeviceVote>,
    /// What the bus asks for: `Pa`, `Va` or `Dc`.
    pub class: Vote,
    /// The DMA mask `pci_device_iommu_support_va()` set, in bits.
    pub dma_mask_bits: Option<u8>,
    /// How the votes combine.
    pub reasons: Vec<String>,
    /// What DPDK warns about while combining them.
    pub warnings: Vec<String>,
}

/// The vote of every device in `names` and the bus's combined class.
pub fn pci_bus(probe: &Probe, build: &DpdkBuild, names: &[String]) -> PciBus {
    let devices: Vec<DeviceVote> = names.iter().map(|n| device_vote(probe, build, n)).collect();
    // FOREACH_DEVICE_ON_PCIBUS walks the bus sorted by address (pci_scan_one() inserts sorted);
    // the IOMMU is checked on the first device, whatever its driver.
    let first = devices
        .iter()
        .filter(|d| d.on_bus)
        .map(|d| d.pci.clone())
        .min();
    let support = first
        .as_deref()
        .map(|pci| iommu_support_va(probe, build, pci));
    rte_pci_get_iommu_class(devices, first, support)
}

/// `rte_pci_get_iommu_class()`: no VA from the IOMMU means PA; otherwise VA or PA when only one
/// of them is asked for, and DC when both are ("Some devices want 'VA' but forcing 'DC' because
/// other devices want 'PA'") or neither.
fn rte_pci_get_iommu_class(
    devices: Vec<DeviceVote>,
    first: Option<String>,
    support: Option<VaSupport>,
) -> PciBus {
    let want = |v: Vote| devices.iter().any(|d| d.vote == v);
    let (want_pa, want_va) = (want(Vote::Pa), want(Vote::Va));
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut dma_mask_bits = None;
    let first = first.unwrap_or_default();
    let no_va = match support {
        Some(VaSupport::Width(bits)) => {
            dma_mask_bits = Some(bits);
            reasons.push(format!("pci_device_iommu_support_va() reads the VT-d cap register of {first}, the first device on the bus: a {bits}-bit address width, which EAL keeps as its DMA mask."));
            false
        }
        Some(VaSupport::Refused(why)) => {
            reasons.push(format!("pci_device_iommu_support_va() cannot read the VT-d cap register of {first}, the first device on the bus ({why}), so the PCI bus takes it that the IOMMU cannot do VA."));
            true
        }
        Some(VaSupport::Assumed) | None => false,
    };
    let class = if no_va {
        if want_va {
            warnings.push("Some devices want VA but the IOMMU does not support it: rte_pci_get_iommu_class() asks for PA and the devices that want VA will not initialise.".to_owned());
        }
        Vote::Pa
    } else if want_va && !want_pa {
        Vote::Va
    } else if want_pa && !want_va {
        Vote::Pa
    } else {
        if want_va {
            warnings.push("Some devices want VA and others PA: rte_pci_get_iommu_class() forces DC (\"Some devices want 'VA' but forcing 'DC' because other devices want 'PA'\"), EAL picks the mode, and the devices that wanted the other one will not initialise.".to_owned());
        }
        Vote::Dc
    };
    let why = match (no_va, want_pa, want_va) {
        (true, ..) => "the IOMMU cannot do VA",
        (false, true, true) => "devices ask for both",
        (false, true, false) => "a device asks for PA and none for VA",
        (false, false, true) => "a device asks for VA and none for PA",
        (false, false, false) => "no device has a preference",
    };
    reasons.push(format!(
        "rte_pci_get_iommu_class(): {why}, so the PCI bus asks for {class}."
    ));
    PciBus {
        devices,
        class,
        dma_mask_bits,
        reasons,
        warnings,
    }
}

/// `pci_device_iommu_support_va()` on x86: the VT-d `cap` register under the device's `iommu`
/// link; other architectures built here assume VA works (its `#else` branch; POWER is not
/// modelled).
pub fn iommu_support_va(probe: &Probe, build: &DpdkBuild, pci: &str) -> VaSupport {
    if !build.arch_x86 {
        return VaSupport::Assumed;
    }
    let path: PathBuf = probe
        .root
        .join("sys/bus/pci/devices")
        .join(pci)
        .join("iommu/intel-iommu/cap");
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => VaSupport::Assumed,
        Err(e) => VaSupport::Refused(format!("{}: {e}", path.display())),
        Ok(text) => match crate::iommu::vtd_address_width(&text) {
            Some(bits) => VaSupport::Width(bits),
            None => VaSupport::Refused(format!("{}: not a hex register", path.display())),
        },
    }
}

/// One named device's vote: `pci_scan_one()` decides whether it is on the bus and with which
/// `kdrv`, then `pci_device_iova_mode()` what it asks for.
pub fn device_vote(probe: &Probe, build: &DpdkBuild, name: &str) -> DeviceVote {
    let Some(pci) = parse_pci_address(name) else {
        return DeviceVote {
            pci: name.to_owned(),
            ids: None,
            driver: None,
            iommu_group: None,
            vote: Vote::Skipped,
            reason: format!("{name:?} is not a PCI address: eal_option_device_parse() finds no bus that takes -a {name}, and rte_eal_init() fails."),
            usable: false,
            problem: Some("Give the address as sysfs spells it, dddd:bb:dd.f in lowercase hex (0000:03:00.0); fastpath devbind --status lists them.".to_owned()),
            on_bus: false,
            unparsable: true,
        };
    };
    let Some(dev) = probe.device(&pci) else {
        let mut v = skipped(
            &pci,
            None,
            format!(
                "There is no PCI device {pci} on this machine: rte_pci_scan() finds nothing there."
            ),
        );
        v.problem = Some(format!("No port opens on {pci}. Check the address: fastpath devbind --status lists the network devices."));
        return v;
    };
    let mut v = match dev.driver.as_deref() {
        None => {
            let mut v = skipped(&pci, Some(dev), format!("{pci} is bound to no driver: pci_scan_one() leaves it off the bus."));
            v.problem = Some(format!("EAL never sees it, so no port opens on it. {}", bind_step(dev, recommend_driver(probe, dev).driver)));
            v
        }
        Some("vfio-pci") => vfio_vote(probe, build, dev),
        Some(d @ ("igb_uio" | "uio_pci_generic")) => DeviceVote {
            vote: Vote::Pa,
            reason: format!("{pci} is bound to {d}, which cannot use an IOMMU (pass-through at best): pci_device_iova_mode() asks for PA."),
            ..skipped(&pci, Some(dev), String::new())
        },
        Some(kernel) => kernel_driver_vote(probe, build, dev, kernel),
    };
    v.on_bus = dev.driver.is_some();
    v
}

/// A vote of `Skipped`, usable, for `dev` at `pci`: what the other votes start from.
fn skipped(pci: &str, dev: Option<&PciDevice>, reason: String) -> DeviceVote {
    DeviceVote {
        pci: pci.to_owned(),
        ids: dev.map(PciDevice::ids),
        driver: dev.and_then(|d| d.driver.clone()),
        iommu_group: dev.and_then(|d| d.iommu_group),
        vote: Vote::Skipped,
        reason,
        usable: dev.is_some_and(|d| d.driver.is_some()),
        problem: None,
        on_bus: false,
        unparsable: false,
    }
}

/// `pci_device_iova_mode()`, `RTE_PCI_KDRV_VFIO` case: no-IOMMU mode asks for PA (the
/// `enable_unsafe_noiommu_mode` switch, read once by `rte_vfio_noiommu_is_enabled()`), a PMD
/// flagged `RTE_PCI_DRV_NEED_IOVA_AS_VA` for VA, anything else has no preference. All of it is
/// under `#ifdef VFIO_PRESENT`.
fn vfio_vote(probe: &Probe, build: &DpdkBuild, dev: &PciDevice) -> DeviceVote {
    let pci = dev.address.as_str();
    let base = skipped(pci, Some(dev), String::new());
    if !build.vfio {
        return DeviceVote {
            vote: Vote::Dc,
            reason: format!("{pci} is bound to vfio-pci, but this DPDK is built without VFIO (RTE_EAL_VFIO): pci_device_iova_mode() has no preference and EAL cannot map the device."),
            usable: false,
            problem: Some("Bind it to igb_uio or uio_pci_generic, or link Fastpath against a DPDK built with VFIO.".to_owned()),
            ..base
        };
    }
    if probe.modules.vfio_noiommu {
        return DeviceVote {
            vote: Vote::Pa,
            reason: format!("{pci} is bound to vfio-pci while VFIO's no-IOMMU mode is on (enable_unsafe_noiommu_mode = Y): nothing translates its DMA, so pci_device_iova_mode() asks for PA."),
            ..base
        };
    }
    let mut v = match needs_iova_as_va(build, dev) {
        Some(pmd) => DeviceVote {
            vote: Vote::Va,
            reason: format!("{pci} is bound to vfio-pci with an IOMMU and its PMD ({pmd}, {}) is flagged RTE_PCI_DRV_NEED_IOVA_AS_VA: pci_device_iova_mode() asks for VA.", dev.ids()),
            ..base
        },
        None => DeviceVote {
            vote: Vote::Dc,
            reason: format!("{pci} is bound to vfio-pci with an IOMMU: pci_device_iova_mode() has no preference (DC), since the IOMMU can map either mode."),
            ..base
        },
    };
    v.problem = group_problem(probe, dev);
    v.usable = v.problem.is_none();
    v
}

/// VFIO opens a group only when it is viable (`rte_vfio_setup_device()`: "VFIO group is not
/// viable!"): every other member on `vfio-pci`, on no driver, or a bridge.
fn group_problem(probe: &Probe, dev: &PciDevice) -> Option<String> {
    let group = dev
        .iommu_group
        .filter(|g| probe.iommu.group(*g).is_some_and(|g| !g.noiommu))?;
    let viability = probe.group_viability(group, &[dev.address.as_str()]);
    if viability.viable() {
        return None;
    }
    let all: Vec<&str> = std::iter::once(dev.address.as_str())
        .chain(viability.blockers.iter().map(|b| b.pci.as_str()))
        .collect();
    Some(format!(
        "IOMMU group {group} is not viable: {} in it {} bound to another driver, so VFIO will not open the group and no port opens on {}. Bind them together: dpdk-devbind.py -b vfio-pci {}.",
        viability.describe_blockers(),
        if viability.blockers.len() == 1 { "is" } else { "are" },
        dev.address,
        all.join(" ")
    ))
}

/// The ethdev PMD of this build that matches the device and is flagged
/// `RTE_PCI_DRV_NEED_IOVA_AS_VA`: in DPDK 22.11 only Marvell's cnxk (`drivers/net/cnxk`,
/// `cn9k_pci_nix_map`/`cn10k_pci_nix_map` and the inline-IPsec device of `cnxk_ethdev_sec.c`),
/// matched here by vendor and device id (the tables also list subsystem ids).
fn needs_iova_as_va(build: &DpdkBuild, dev: &PciDevice) -> Option<&'static str> {
    // PCI_VENDOR_ID_CAVIUM; RVU PF, VF, AF VF, SDP VF; NIX inline PF, VF (roc_constants.h).
    const CNXK: [&str; 6] = ["a063", "a064", "a0f8", "a0f7", "a0f0", "a0f1"];
    let cnxk = dev.vendor.as_deref() == Some("177d")
        && dev.device.as_deref().is_some_and(|d| CNXK.contains(&d));
    (build.net_cnxk && cnxk).then_some("cnxk")
}

/// A device on a kernel driver: `pci_scan_one()` gives it `RTE_PCI_KDRV_UNKNOWN` and
/// `rte_pci_get_iommu_class()` skips it. EAL can map no such device; only the bifurcated PMDs
/// (mlx4, mlx5) drive one through its kernel driver.
fn kernel_driver_vote(
    probe: &Probe,
    build: &DpdkBuild,
    dev: &PciDevice,
    kernel: &str,
) -> DeviceVote {
    let pci = dev.address.as_str();
    let reason = format!("{pci} is bound to the kernel driver {kernel}: rte_pci_get_iommu_class() skips it (RTE_PCI_KDRV_UNKNOWN).");
    let mut v = skipped(pci, Some(dev), reason);
    match bifurcated_pmd(build, kernel) {
        Some((pmd, switch, true)) => {
            v.reason = format!("{} DPDK's {pmd} PMD (compiled in: {switch}) drives it through {kernel} all the same (bifurcated), with no preference.", v.reason);
        }
        Some((pmd, switch, false)) => {
            v.usable = false;
            v.problem = Some(format!("This DPDK is built without the {pmd} PMD ({switch}), which would drive it through {kernel}: no port opens on it. Link a DPDK with {pmd}, or use it through a vdev (afPacket)."));
        }
        None => {
            v.usable = false;
            let advice = recommend_driver(probe, dev);
            let what = if advice.driver.is_software() {
                advice.reasons.join(" ")
            } else {
                bind_step(dev, advice.driver)
            };
            v.problem = Some(format!("EAL can only map devices on vfio-pci, igb_uio or uio_pci_generic, so no port opens on it. {what}"));
        }
    }
    v
}

/// The bifurcated PMD that drives devices of kernel driver `kernel`, the build switch it needs,
/// and whether this build has it.
fn bifurcated_pmd(build: &DpdkBuild, kernel: &str) -> Option<(&'static str, &'static str, bool)> {
    match kernel {
        "mlx5_core" => Some(("mlx5", "RTE_NET_MLX5", build.net_mlx5)),
        "mlx4_core" => Some(("mlx4", "RTE_NET_MLX4", build.net_mlx4)),
        _ => None,
    }
}
