//! What to use: a driver per network device, following the seed article's flowchart, and the
//! IOVA mode DPDK 22.11's EAL will pick, following its source.
//!
//! # Driver per device
//!
//! 1. A device whose kernel interface is active (see [`crate::pci`]) stays with the kernel:
//!    use it through a software PMD (`af_packet`; `af_xdp` or `pcap` also work). So does a device
//!    whose IOMMU group holds another device's active interface, since VFIO takes groups whole.
//! 2. With an IOMMU: `vfio-pci` — isolation, IOVA as VA, no root needed at run time.
//! 3. Without one: a PF that must create virtual functions needs `igb_uio` (`uio_pci_generic`
//!    cannot create VFs); a device already bound to a DPDK driver keeps it; otherwise `vfio-pci`
//!    in no-IOMMU mode once enabled, else `uio_pci_generic` if loaded (not for VFs: they have no
//!    legacy interrupt), else `igb_uio` if loaded, else `vfio-pci` in no-IOMMU mode with the
//!    steps to enable it.
//!
//! # IOVA mode (DPDK 22.11, `lib/eal/linux/eal.c`, `rte_eal_init`)
//!
//! - `phys_addrs = rte_eal_using_phys_addrs()`: hugepages in use (not `--no-huge`) and
//!   `rte_mem_virt2phy()` gets a page frame number from `/proc/self/pagemap`, which needs
//!   `CAP_SYS_ADMIN`.
//! - The bus preference, `rte_bus_get_iommu_class()`: the PCI bus (`rte_pci_get_iommu_class()`
//!   in `drivers/bus/pci/pci_common.c`) asks each scanned device's `pci_device_iova_mode()`
//!   (`drivers/bus/pci/linux/pci.c`): bound to `igb_uio`/`uio_pci_generic` → PA; `vfio-pci` in
//!   no-IOMMU mode → PA; `vfio-pci` with an IOMMU → no preference unless the PMD is flagged
//!   `RTE_PCI_DRV_NEED_IOVA_AS_VA`; a kernel driver or none → skipped. With `--no-pci` (vdevs
//!   only) nothing is scanned and the preference is "don't care" (DC).
//! - `--iova-mode` wins over the bus. Otherwise, with DC: no `phys_addrs` → VA; `rte_kni`
//!   loaded → PA; `is_iommu_enabled()` (`/sys/kernel/iommu_groups` not empty) → VA; else PA.
//! - Then PA without `phys_addrs` fails: "Cannot use IOVA as 'PA' since physical addresses are
//!   not available".
//! - On x86, `pci_device_iommu_support_va()` reads the VT-d `cap` register and sets a DMA mask of
//!   MGAW+1 bits; memory above it cannot be used in VA mode (`rte_mem_check_dma_mask()`).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::iommu::FULL_ADDRESS_WIDTH;
use crate::pci::{parse_pci_address, PciDevice};
use crate::Probe;

/// A driver DPDK can use a NIC through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// `vfio-pci`, with an IOMMU or in no-IOMMU mode.
    VfioPci,
    /// `uio_pci_generic` (in tree, legacy interrupts only, cannot create VFs).
    UioPciGeneric,
    /// `igb_uio` (out of tree, all interrupt types, can create VFs).
    IgbUio,
    /// The `net_af_packet` software PMD on the kernel interface.
    AfPacket,
    /// The `net_af_xdp` software PMD on the kernel interface.
    AfXdp,
    /// The `net_pcap` software PMD on the kernel interface.
    Pcap,
}

impl Driver {
    /// The name: a kernel driver (`vfio-pci`) or a software PMD (`af_packet`).
    pub fn name(self) -> &'static str {
        match self {
            Self::VfioPci => "vfio-pci",
            Self::UioPciGeneric => "uio_pci_generic",
            Self::IgbUio => "igb_uio",
            Self::AfPacket => "af_packet",
            Self::AfXdp => "af_xdp",
            Self::Pcap => "pcap",
        }
    }

    /// Whether it is a software PMD that leaves the device with its kernel driver.
    pub fn is_software(self) -> bool {
        matches!(self, Self::AfPacket | Self::AfXdp | Self::Pcap)
    }

    /// The kernel driver by name, if it is one DPDK binds devices to.
    pub fn from_kernel_name(name: &str) -> Option<Self> {
        match name {
            "vfio-pci" => Some(Self::VfioPci),
            "uio_pci_generic" => Some(Self::UioPciGeneric),
            "igb_uio" => Some(Self::IgbUio),
            _ => None,
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Driver {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The driver to use for one device, and why, in sentences that say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverAdvice {
    /// The driver.
    pub driver: Driver,
    /// Why, and the steps to get there.
    pub reasons: Vec<String>,
}

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

/// How DPDK would be started: what the prediction and the doctor assume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorOptions {
    /// `--no-huge`.
    pub no_huge: bool,
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
    /// How EAL gets there, step by step.
    pub reasons: Vec<String>,
    /// What will fail or be limited, and what to do.
    pub warnings: Vec<String>,
}

/// The driver to use for a network device on this machine.
pub fn recommend_driver(probe: &Probe, device: &PciDevice) -> DriverAdvice {
    if let Some(advice) = kernel_keeps(probe, device) {
        return advice;
    }
    let group = device.iommu_group.filter(|_| probe.iommu.present());
    match group {
        Some(group) => with_iommu(probe, device, group),
        None => without_iommu(probe, device),
    }
}

/// The software-PMD advice when the kernel must keep the device (or its IOMMU group).
fn kernel_keeps(probe: &Probe, device: &PciDevice) -> Option<DriverAdvice> {
    let pci = &device.address;
    if let Some(iface) = device.active_interface() {
        let name = &iface.name;
        return Some(DriverAdvice {
            driver: Driver::AfPacket,
            reasons: vec![
                format!("{name} is up with a route or a global IPv6 address: it is the kernel's active interface (likely how this machine is reached), so leave {pci} with its kernel driver."),
                format!("Use it through a software PMD: --vdev=net_af_packet0,iface={name} (net_af_xdp0,iface={name} is faster; net_pcap0,iface={name} also works)."),
            ],
        });
    }
    let group = device.iommu_group.filter(|_| probe.iommu.present())?;
    let viability = probe.group_viability(group, &[pci.as_str()]);
    let holder = viability
        .blockers
        .iter()
        .find(|b| b.active_interface.is_some())?;
    let other_if = holder.active_interface.as_deref().unwrap_or_default();
    let mut reasons = vec![format!(
        "{pci} shares IOMMU group {group} with {} ({other_if}), the kernel's active interface: vfio-pci takes a group whole, so {pci} cannot be given to it.",
        holder.pci
    )];
    reasons.push(match device.interfaces.first() {
        Some(i) => format!("Use it through a software PMD on its own interface: ip link set {0} up, then --vdev=net_af_packet0,iface={0}.", i.name),
        None => format!("Bind {pci} back to its kernel driver to get an interface, then use --vdev=net_af_packet0,iface=<that interface>; or move the card to a slot in another IOMMU group."),
    });
    Some(DriverAdvice {
        driver: Driver::AfPacket,
        reasons,
    })
}

fn bind_step(device: &PciDevice, driver: Driver) -> String {
    let pci = &device.address;
    match device.driver.as_deref() {
        Some(d) if d == driver.name() => format!("{pci} is bound to {driver} already: nothing to do."),
        Some(d) => match device.interfaces.iter().find(|i| i.is_up()) {
            Some(i) => format!("Bind it: ip link set {} down, then dpdk-devbind.py -b {driver} {pci} (it is bound to {d} now).", i.name),
            None => format!("Bind it: dpdk-devbind.py -b {driver} {pci} (it is bound to {d} now)."),
        },
        None => format!("Bind it: dpdk-devbind.py -b {driver} {pci} (it is bound to no driver now)."),
    }
}

fn with_iommu(probe: &Probe, device: &PciDevice, group: u32) -> DriverAdvice {
    let pci = device.address.as_str();
    let viability = probe.group_viability(group, &[pci]);
    let mut reasons = vec![if viability.viable() {
        format!("An IOMMU is present and IOMMU group {group} is viable: vfio-pci isolates the device and allows IOVA as VA, so DPDK can run without root (given access to /dev/vfio/{group}).")
    } else {
        format!("An IOMMU is present: vfio-pci isolates the device and allows IOVA as VA, so DPDK can run without root (given access to /dev/vfio/{group}); IOMMU group {group} becomes viable once its other members are off their kernel drivers.")
    }];
    if !probe.modules.vfio_pci {
        reasons.push("Load the driver first: modprobe vfio-pci.".to_owned());
    }
    if viability.viable() {
        reasons.push(bind_step(device, Driver::VfioPci));
    } else {
        let all: Vec<&str> = std::iter::once(pci)
            .chain(viability.blockers.iter().map(|b| b.pci.as_str()))
            .collect();
        reasons.push(format!(
            "IOMMU group {group} also holds {}: bind them together (dpdk-devbind.py -b vfio-pci {}), or unbind those, or vfio-pci cannot open the group.",
            viability.describe_blockers(),
            all.join(" ")
        ));
    }
    if device.can_create_vfs() {
        reasons.push("To create virtual functions while DPDK drives this PF, load vfio-pci with enable_sriov=1 (Linux 5.7+), write sriov_numvfs, and give DPDK a shared VF token (--vfio-vf-token).".to_owned());
    }
    DriverAdvice {
        driver: Driver::VfioPci,
        reasons,
    }
}

fn without_iommu(probe: &Probe, device: &PciDevice) -> DriverAdvice {
    let m = &probe.modules;
    let bound = device.driver.as_deref().and_then(Driver::from_kernel_name);
    let mut reasons = Vec::new();
    // An IOMMU that does not cover this device (no group) is, for it, no IOMMU.
    let none = if probe.iommu.present() {
        "No IOMMU group covers this device"
    } else {
        "There is no IOMMU"
    };
    let driver = if device.can_create_vfs() {
        reasons.push(format!(
            "{none} and this PF can create virtual functions (sriov_totalvfs = {}): only igb_uio can create VFs while DPDK drives the PF; uio_pci_generic cannot.",
            device.sriov_total_vfs.unwrap_or_default()
        ));
        if !m.igb_uio {
            reasons.push("igb_uio is not in the kernel: build it from dpdk-kmods (linux/igb_uio), then modprobe uio && insmod igb_uio.ko.".to_owned());
        }
        let pci = &device.address;
        match (device.driver.as_deref(), device.sriov_num_vfs.unwrap_or_default()) {
            (Some(d), n) if n > 0 && d != "igb_uio" => reasons.push(format!("Its {n} VF(s) go away when {d} releases it: create them again under igb_uio with echo {n} > /sys/bus/pci/devices/{pci}/max_vfs.")),
            _ => reasons.push(format!("igb_uio creates VFs through its max_vfs attribute: echo <n> > /sys/bus/pci/devices/{pci}/max_vfs.")),
        }
        Driver::IgbUio
    } else if let Some(driver @ (Driver::UioPciGeneric | Driver::IgbUio)) = bound {
        reasons.push(format!(
            "{none} and {driver} already drives it: keep it (no isolation; IOVA as PA)."
        ));
        driver
    } else if bound == Some(Driver::VfioPci) && m.vfio_noiommu {
        reasons.push(format!("{none} and it is bound to vfio-pci in no-IOMMU mode already: keep it (no isolation, like UIO; IOVA as PA)."));
        Driver::VfioPci
    } else if m.vfio_noiommu {
        reasons.push(format!("{none}, but VFIO's no-IOMMU mode is on: use vfio-pci (no isolation, like UIO; IOVA as PA)."));
        if !m.vfio_pci {
            reasons.push("Load the driver first: modprobe vfio-pci.".to_owned());
        }
        Driver::VfioPci
    } else if m.uio_pci_generic && !device.is_virtual_function() {
        reasons.push(format!("{none} and uio_pci_generic is loaded: use it (in tree; legacy interrupts only; no isolation; IOVA as PA)."));
        Driver::UioPciGeneric
    } else if m.igb_uio {
        reasons.push(format!(
            "{none} and igb_uio is loaded: use it (all interrupt types; no isolation; IOVA as PA)."
        ));
        if device.is_virtual_function() {
            reasons.push("This is a virtual function: it has no legacy interrupt, so uio_pci_generic would not work on it.".to_owned());
        }
        Driver::IgbUio
    } else {
        reasons.push(format!("{none}: vfio-pci still works in no-IOMMU mode, with no isolation (like UIO) and IOVA as PA."));
        reasons.push(noiommu_steps(m.vfio));
        if !device.is_virtual_function() {
            reasons.push(
                "The in-kernel alternative is uio_pci_generic: modprobe uio_pci_generic."
                    .to_owned(),
            );
        }
        Driver::VfioPci
    };
    if bound != Some(driver) {
        reasons.push(bind_step(device, driver));
    }
    if !probe.privileges.phys_addrs() {
        reasons.push("Without an IOMMU DPDK needs IOVA as PA, which needs CAP_SYS_ADMIN to read physical addresses: run it as root.".to_owned());
    }
    DriverAdvice { driver, reasons }
}

/// How to turn VFIO's no-IOMMU mode on.
fn noiommu_steps(vfio_loaded: bool) -> String {
    if vfio_loaded {
        "Enable it: echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode (this taints the kernel), then modprobe vfio-pci.".to_owned()
    } else {
        "Enable it: modprobe vfio enable_unsafe_noiommu_mode=1 && modprobe vfio-pci (this taints the kernel).".to_owned()
    }
}

/// What a named device asks of the PCI bus (`pci_device_iova_mode()`), with the sentence why.
enum BusWish {
    Pa(String),
    NoPreference(String),
    Skipped(String),
}

fn bus_wish(probe: &Probe, pci: &str) -> BusWish {
    let Some(addr) = parse_pci_address(pci) else {
        return BusWish::Skipped(format!("{pci:?} is not a PCI address (dddd:bb:dd.f): EAL rejects the -a argument and rte_eal_init() fails."));
    };
    let Some(dev) = probe.device(&addr) else {
        return BusWish::Skipped(format!(
            "{addr} does not exist on this machine: EAL has nothing to probe there."
        ));
    };
    match dev.driver.as_deref() {
        Some("vfio-pci") if probe.modules.vfio_noiommu => BusWish::Pa(format!("{addr} is bound to vfio-pci in no-IOMMU mode: pci_device_iova_mode() asks for PA.")),
        Some("vfio-pci") => BusWish::NoPreference(format!("{addr} is bound to vfio-pci with an IOMMU: pci_device_iova_mode() has no preference (only PMDs flagged RTE_PCI_DRV_NEED_IOVA_AS_VA ask for VA).")),
        Some(d @ ("igb_uio" | "uio_pci_generic")) => BusWish::Pa(format!("{addr} is bound to {d}, which cannot use an IOMMU: pci_device_iova_mode() asks for PA.")),
        other => {
            let advice = recommend_driver(probe, dev);
            let now = other.map_or_else(|| "no driver".to_owned(), |d| format!("the kernel driver {d}"));
            BusWish::Skipped(format!("{addr} is bound to {now}: rte_pci_get_iommu_class() skips it and DPDK cannot drive it (bifurcated PMDs such as mlx5 aside); recommended: {}.", advice.driver))
        }
    }
}

/// The IOVA mode `rte_eal_init` will select for these options, and what follows from it.
pub fn predict_iova(probe: &Probe, opts: &DoctorOptions) -> IovaPrediction {
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    let mut eal_fails = false;
    let privileged = probe.privileges.phys_addrs();
    let phys_addrs = !opts.no_huge && privileged;
    reasons.push(if opts.no_huge {
        "With --no-huge there are no hugepages, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else if !probe.privileges.cap_sys_admin {
        "This user lacks CAP_SYS_ADMIN: since Linux 4.0 /proc/self/pagemap hides page frame numbers from it, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else if !probe.privileges.pagemap {
        "/proc/self/pagemap does not exist, so rte_eal_using_phys_addrs() reports no physical addresses.".to_owned()
    } else {
        "This user has CAP_SYS_ADMIN and EAL runs with hugepages (no --no-huge), so rte_eal_using_phys_addrs() reports physical addresses available.".to_owned()
    });

    let mut pa_devices = Vec::new();
    if opts.devices.is_empty() {
        reasons.push("No PCI device is named (--no-pci, vdevs only): no bus asks for a mode (DC); DPDK's software vdevs (net_null, net_ring, net_pcap, net_af_packet, net_af_xdp) have no preference.".to_owned());
    }
    for pci in &opts.devices {
        match bus_wish(probe, pci) {
            BusWish::Pa(why) => {
                pa_devices.push(pci.clone());
                reasons.push(why);
            }
            BusWish::NoPreference(why) => reasons.push(why),
            BusWish::Skipped(why) => {
                eal_fails |= parse_pci_address(pci).is_none();
                warnings.push(why);
            }
        }
    }
    let bus_pa = !pa_devices.is_empty();
    if !opts.devices.is_empty() {
        reasons.push(if bus_pa {
            "rte_bus_get_iommu_class(): the PCI bus asks for PA.".to_owned()
        } else {
            "rte_bus_get_iommu_class(): no bus asks for a mode (DC).".to_owned()
        });
    }

    let predicted = if let Some(forced) = opts.iova_mode_forced {
        reasons.push(format!(
            "--iova-mode={forced} forces the mode: rte_eal_init() does not ask the buses."
        ));
        forced
    } else if bus_pa {
        IovaMode::Pa
    } else {
        let (mode, why) = undecided(probe, phys_addrs);
        reasons.push(why);
        mode
    };

    if predicted == IovaMode::Pa && !phys_addrs {
        eal_fails = true;
        warnings.insert(0, "PA needs CAP_SYS_ADMIN (root) and hugepages to read physical addresses: rte_eal_init() fails with \"Cannot use IOVA as 'PA' since physical addresses are not available\". Run as root without --no-huge, or use vfio-pci with an IOMMU (IOVA as VA).".to_owned());
    }
    if !opts.no_huge && probe.hugepages.usable_free_bytes() == 0 {
        // eal_hugepage_info_init() runs right after the IOVA choice and needs one mounted size
        // with free pages.
        eal_fails = true;
        warnings.push("No free hugepages of a mounted size: rte_eal_init() then fails with \"Cannot get hugepage information\". Reserve and mount hugepages, or run with --no-huge (IOVA as VA; memory from -m).".to_owned());
    }
    if predicted == IovaMode::Va {
        va_warnings(probe, opts, privileged, &pa_devices, &mut warnings);
    }
    IovaPrediction {
        predicted,
        eal_fails,
        reasons,
        warnings,
    }
}

/// `rte_eal_init`'s choice when no bus asked for a mode.
fn undecided(probe: &Probe, phys_addrs: bool) -> (IovaMode, String) {
    if !phys_addrs {
        (IovaMode::Va, "No bus asked for a mode and physical addresses are unavailable, so rte_eal_init() selects IOVA as VA.".to_owned())
    } else if probe.modules.rte_kni {
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

fn va_warnings(
    probe: &Probe,
    opts: &DoctorOptions,
    privileged: bool,
    pa_devices: &[String],
    warnings: &mut Vec<String>,
) {
    for pci in pa_devices {
        warnings.push(format!("{pci} can only do DMA to physical addresses (no IOMMU translates for it): with --iova-mode=va it will not work. Drop --iova-mode=va, or bind it to vfio-pci with an IOMMU."));
    }
    if !privileged {
        warnings.push("PA would fail: it needs CAP_SYS_ADMIN (root) to read physical addresses, so --iova-mode=pa and devices bound to igb_uio, uio_pci_generic or vfio-pci in no-IOMMU mode cannot be used by this user.".to_owned());
    } else if opts.no_huge {
        warnings.push("With --no-huge there are no physical addresses: IOVA as PA is impossible, so devices bound to igb_uio, uio_pci_generic or vfio-pci in no-IOMMU mode cannot be used.".to_owned());
    }
    if let Some(width) = probe
        .iommu
        .address_width()
        .filter(|w| *w < FULL_ADDRESS_WIDTH)
    {
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
