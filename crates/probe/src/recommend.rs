//! The driver to use for each network device, following the seed article's flowchart. The
//! IOVA mode EAL then picks is [`crate::iova`]'s.
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

use std::fmt;

use serde::{Serialize, Serializer};

use crate::pci::PciDevice;
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

/// The step that binds `device` to `driver`, saying what it is bound to now.
pub(crate) fn bind_step(device: &PciDevice, driver: Driver) -> String {
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
