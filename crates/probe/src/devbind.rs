//! Binding PCI devices to drivers through sysfs, as `dpdk-devbind.py` does, but planned first:
//! [`plan_bind`] and [`plan_unbind`] return the exact [`Write`]s, or a [`Refusal`] saying why
//! not and what to do; [`apply`] performs a plan and never writes outside the root.
//!
//! Binding goes through `driver_override`, which makes the kernel pick exactly that driver:
//! write the driver's name to `<dev>/driver_override`, write the address to
//! `<dev>/driver/unbind` if it is bound, then to `sys/bus/pci/drivers_probe`. Unbinding writes
//! the address to `<dev>/driver/unbind` and clears `driver_override` (a lone newline).

use std::error::Error;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsutil::{at, exists};
use crate::pci::parse_pci_address;
use crate::{GroupMember, PciDevice, Probe};

/// The drivers DPDK binds devices to; kernel drivers registered on the PCI bus are allowed too.
pub const DPDK_DRIVERS: [&str; 3] = ["vfio-pci", "uio_pci_generic", "igb_uio"];

/// One sysfs write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Write {
    /// The file, under the root.
    pub path: PathBuf,
    /// What to write.
    pub value: String,
}

/// Why a plan was refused; its `Display` says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not `dddd:bb:dd.f` (or `bb:dd.f`).
    BadAddress {
        /// What was given.
        input: String,
    },
    /// No such PCI device.
    NoSuchDevice {
        /// The address.
        pci: String,
    },
    /// The device's kernel interface is active.
    ActiveInterface {
        /// The address.
        pci: String,
        /// The interface.
        interface: String,
    },
    /// Binding to `vfio-pci` would leave the IOMMU group unusable.
    GroupNotViable {
        /// The address.
        pci: String,
        /// The group.
        group: u32,
        /// Members bound to other drivers.
        members: Vec<GroupMember>,
    },
    /// `vfio-pci` without an IOMMU group and with no-IOMMU mode off.
    NoIommu {
        /// The address.
        pci: String,
    },
    /// A driver name that is neither DPDK's nor a registered kernel driver.
    UnknownDriver {
        /// The name.
        driver: String,
    },
    /// A DPDK driver whose module is not loaded.
    DriverNotLoaded {
        /// The name.
        driver: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadAddress { input } => write!(f, "{input:?} is not a PCI address: write it as dddd:bb:dd.f (e.g. 0000:03:00.0) or bb:dd.f, in lowercase hex"),
            Self::NoSuchDevice { pci } => write!(f, "there is no PCI device {pci}: see the doctor's device list for the addresses on this machine"),
            Self::ActiveInterface { pci, interface } => write!(f, "{pci} is the active interface {interface} (up, with a route or a global IPv6 address): taking it from the kernel may cut this machine off. If it really is unused, bring it down first (ip link set {interface} down), or use it through --vdev=net_af_packet0,iface={interface}"),
            Self::GroupNotViable { pci, group, members } => {
                let list: Vec<String> = members
                    .iter()
                    .map(|m| match &m.active_interface {
                        Some(i) => format!("{} ({}, active interface {i})", m.pci, m.driver),
                        None => format!("{} ({})", m.pci, m.driver),
                    })
                    .collect();
                write!(f, "{pci} shares IOMMU group {group} with {}: vfio-pci needs the whole group. Bind those to vfio-pci in the same command, or unbind them first", list.join(", "))
            }
            Self::NoIommu { pci } => write!(f, "{pci} is in no IOMMU group and VFIO's no-IOMMU mode is off, so vfio-pci cannot drive it: enable the IOMMU (intel_iommu=on / amd_iommu=on), or echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode, or bind uio_pci_generic"),
            Self::UnknownDriver { driver } => write!(f, "unknown driver {driver:?}: use vfio-pci, uio_pci_generic, igb_uio, or a kernel driver listed in /sys/bus/pci/drivers"),
            Self::DriverNotLoaded { driver } if driver == "igb_uio" => write!(f, "igb_uio is not loaded: build it from dpdk-kmods (linux/igb_uio), then modprobe uio && insmod igb_uio.ko"),
            Self::DriverNotLoaded { driver } => write!(f, "{driver} is not loaded (no /sys/bus/pci/drivers/{driver}): modprobe {driver}"),
        }
    }
}

impl Error for Refusal {}

/// One network device as `dpdk-devbind.py --status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// PCI address.
    pub pci: String,
    /// `vendor:device`.
    pub ids: String,
    /// Bound driver.
    pub driver: Option<String>,
    /// Whether that driver is one DPDK uses (`vfio-pci`, `uio_pci_generic`, `igb_uio`).
    pub dpdk: bool,
    /// Kernel interface, if any.
    pub interface: Option<String>,
    /// Whether the interface is active.
    pub active: bool,
}

/// The network devices and their drivers.
pub fn status(probe: &Probe) -> Vec<DeviceStatus> {
    probe
        .network_devices()
        .map(|d| DeviceStatus {
            pci: d.address.clone(),
            ids: d.ids(),
            driver: d.driver.clone(),
            dpdk: d
                .driver
                .as_deref()
                .is_some_and(|x| DPDK_DRIVERS.contains(&x)),
            interface: d.interfaces.first().map(|i| i.name.clone()),
            active: d.active_interface().is_some(),
        })
        .collect()
}

/// The writes that bind `pcis` to `driver`, or why not. Devices already bound to it need none.
pub fn plan_bind<S: AsRef<str>>(
    root: &Path,
    driver: &str,
    pcis: &[S],
    probe: &Probe,
) -> Result<Vec<Write>, Refusal> {
    if !DPDK_DRIVERS.contains(&driver) && !probe.has_pci_driver(driver) {
        return Err(Refusal::UnknownDriver {
            driver: driver.to_owned(),
        });
    }
    if !exists(&root.join("sys/bus/pci/drivers").join(driver)) {
        return Err(Refusal::DriverNotLoaded {
            driver: driver.to_owned(),
        });
    }
    let devices = resolve(pcis, probe)?;
    let addresses: Vec<&str> = devices.iter().map(|d| d.address.as_str()).collect();
    for dev in &devices {
        if driver == "vfio-pci" && dev.driver.as_deref() != Some("vfio-pci") {
            match dev.iommu_group {
                Some(group) => {
                    let viability = probe.group_viability(group, &addresses);
                    if !viability.viable() {
                        return Err(Refusal::GroupNotViable {
                            pci: dev.address.clone(),
                            group,
                            members: viability.blockers,
                        });
                    }
                }
                None if !probe.modules.vfio_noiommu => {
                    return Err(Refusal::NoIommu {
                        pci: dev.address.clone(),
                    })
                }
                None => {}
            }
        }
    }
    let mut writes = Vec::new();
    for dev in devices
        .iter()
        .filter(|d| d.driver.as_deref() != Some(driver))
    {
        let dir = device_dir(root, &dev.address);
        writes.push(Write {
            path: dir.join("driver_override"),
            value: driver.to_owned(),
        });
        if dev.driver.is_some() {
            writes.push(Write {
                path: dir.join("driver/unbind"),
                value: dev.address.clone(),
            });
        }
        writes.push(Write {
            path: root.join("sys/bus/pci/drivers_probe"),
            value: dev.address.clone(),
        });
    }
    Ok(writes)
}

/// The writes that unbind `pcis` from their drivers and clear their `driver_override`.
pub fn plan_unbind<S: AsRef<str>>(
    root: &Path,
    pcis: &[S],
    probe: &Probe,
) -> Result<Vec<Write>, Refusal> {
    let mut writes = Vec::new();
    for dev in resolve(pcis, probe)? {
        let dir = device_dir(root, &dev.address);
        if dev.driver.is_some() {
            writes.push(Write {
                path: dir.join("driver/unbind"),
                value: dev.address.clone(),
            });
        }
        if dev.driver_override.is_some() {
            writes.push(Write {
                path: dir.join("driver_override"),
                value: "\n".to_owned(),
            });
        }
    }
    Ok(writes)
}

/// Performs `writes`, in order. Every path is resolved first (symlinks included) and must lie
/// under `root`, exist, and be a file: otherwise nothing at all is written. Files are never
/// created, as sysfs attributes are never created by writing.
pub fn apply(root: &Path, writes: &[Write]) -> io::Result<()> {
    let root_real = fs::canonicalize(root).map_err(|e| at(root, &e))?;
    let mut targets = Vec::with_capacity(writes.len());
    for w in writes {
        let target = fs::canonicalize(&w.path).map_err(|e| at(&w.path, &e))?;
        if !target.starts_with(&root_real) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} resolves to {}, outside {}: refusing to write anything",
                    w.path.display(),
                    target.display(),
                    root_real.display()
                ),
            ));
        }
        if !target.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: not a file, refusing to write anything",
                    w.path.display()
                ),
            ));
        }
        targets.push(target);
    }
    for (w, target) in writes.iter().zip(&targets) {
        let mut file = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(target)
            .map_err(|e| at(&w.path, &e))?;
        file.write_all(w.value.as_bytes())
            .map_err(|e| at(&w.path, &e))?;
    }
    Ok(())
}

fn device_dir(root: &Path, pci: &str) -> PathBuf {
    root.join("sys/bus/pci/devices").join(pci)
}

/// The devices behind `pcis`, checked: valid address, present, and not the kernel's active interface.
fn resolve<'p, S: AsRef<str>>(pcis: &[S], probe: &'p Probe) -> Result<Vec<&'p PciDevice>, Refusal> {
    let mut devices: Vec<&PciDevice> = Vec::new();
    for input in pcis {
        let input = input.as_ref();
        let pci = parse_pci_address(input).ok_or_else(|| Refusal::BadAddress {
            input: input.to_owned(),
        })?;
        let dev = probe
            .device(&pci)
            .ok_or_else(|| Refusal::NoSuchDevice { pci: pci.clone() })?;
        if let Some(iface) = dev.active_interface() {
            return Err(Refusal::ActiveInterface {
                pci,
                interface: iface.name.clone(),
            });
        }
        if !devices.iter().any(|d| d.address == dev.address) {
            devices.push(dev);
        }
    }
    Ok(devices)
}
