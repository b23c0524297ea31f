//! PCI devices from `sys/bus/pci/devices`: class, ids, driver, IOMMU group, NUMA node, SR-IOV,
//! and the kernel network interfaces on them.
//!
//! # Which interface is "active"
//!
//! An interface is *active* — in use by the kernel, never to be taken from it — when its
//! `operstate` is `up` (or `unknown`, which drivers without carrier reporting show while up) **and**
//! it carries traffic the machine relies on: it has a route in `proc/net/route` (any IPv4 address
//! brings at least its prefix route) **or** an IPv6 address in `proc/net/if_inet6` that is not
//! link-local (`fe80::/10`). A link-local address alone comes with every up interface and says
//! nothing. On a real machine the default-route interface is therefore active: exactly the NIC
//! the machine is reached through, which binding to a DPDK driver would cut off.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use crate::fsutil::{dir_names, invalid, link_name, read_lenient, read_opt};

/// PCI base class of network controllers (`0x02xxxx`).
pub const CLASS_NETWORK: u32 = 0x02;
/// PCI class/subclass of PCI-to-PCI bridges (`0x0604xx`), which the kernel leaves out of group
/// viability.
pub const CLASS_PCI_BRIDGE: u32 = 0x0604;

/// One PCI function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDevice {
    /// Address in long form, `dddd:bb:dd.f`.
    pub address: String,
    /// The 24-bit class code (`0x020000` for Ethernet), `None` when `class` is missing.
    pub class: Option<u32>,
    /// Vendor id without `0x` (`8086`).
    pub vendor: Option<String>,
    /// Device id without `0x` (`10fb`).
    pub device: Option<String>,
    /// The bound driver (basename of the `driver` symlink).
    pub driver: Option<String>,
    /// `driver_override`, when set.
    pub driver_override: Option<String>,
    /// IOMMU group number (basename of the `iommu_group` symlink).
    pub iommu_group: Option<u32>,
    /// NUMA node, `None` for `-1` (no affinity) or missing.
    pub numa_node: Option<u32>,
    /// Kernel network interfaces on it (`net/*`, or `virtio*/net/*` for virtio).
    pub interfaces: Vec<NetInterface>,
    /// `sriov_totalvfs`, on a physical function that can create virtual functions.
    pub sriov_total_vfs: Option<u32>,
    /// `sriov_numvfs`, virtual functions created now.
    pub sriov_num_vfs: Option<u32>,
    /// On a virtual function, the address of its physical function (the `physfn` symlink).
    pub physfn: Option<String>,
}

/// A kernel network interface and what decides whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInterface {
    /// Its name (`eth0`).
    pub name: String,
    /// `sys/class/net/<if>/operstate` (`up`, `down`, ...).
    pub operstate: Option<String>,
    /// Whether `proc/net/route` has a route through it.
    pub has_route: bool,
    /// Whether `proc/net/if_inet6` gives it an address outside `fe80::/10`.
    pub has_global_ipv6: bool,
}

impl NetInterface {
    /// Whether it is up (`up`, or `unknown` for drivers that do not report carrier).
    pub fn is_up(&self) -> bool {
        matches!(self.operstate.as_deref(), Some("up" | "unknown"))
    }

    /// Whether the kernel uses it: up, with a route or a global IPv6 address (see the module docs).
    pub fn is_active(&self) -> bool {
        self.is_up() && (self.has_route || self.has_global_ipv6)
    }
}

impl PciDevice {
    /// Whether it is a network controller.
    pub fn is_network(&self) -> bool {
        self.class.is_some_and(|c| c >> 16 == CLASS_NETWORK)
    }

    /// Whether it is a PCI-to-PCI bridge.
    pub fn is_bridge(&self) -> bool {
        self.class.is_some_and(|c| c >> 8 == CLASS_PCI_BRIDGE)
    }

    /// Whether it is a virtual function.
    pub fn is_virtual_function(&self) -> bool {
        self.physfn.is_some()
    }

    /// Whether it is a physical function that can create virtual functions.
    pub fn can_create_vfs(&self) -> bool {
        self.sriov_total_vfs.is_some_and(|n| n > 0)
    }

    /// Its first active kernel interface, if any.
    pub fn active_interface(&self) -> Option<&NetInterface> {
        self.interfaces.iter().find(|i| i.is_active())
    }

    /// `vendor:device`, for messages.
    pub fn ids(&self) -> String {
        format!(
            "{}:{}",
            self.vendor.as_deref().unwrap_or("????"),
            self.device.as_deref().unwrap_or("????")
        )
    }
}

/// Normalises a PCI address: accepts exactly `dddd:bb:dd.f` or the short `bb:dd.f` (domain
/// `0000`), lowercase hex, function 0-7; anything else is `None`.
pub fn parse_pci_address(text: &str) -> Option<String> {
    let full = if text.len() == 7 {
        format!("0000:{text}")
    } else {
        text.to_owned()
    };
    let b = full.as_bytes();
    let hex = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    };
    let ok = b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && hex(8..10)
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11]);
    ok.then_some(full)
}

/// Every PCI device under `root`, by address. A garbled `class` is an error (it decides whether
/// a device is a NIC); other garbled attributes read as absent.
pub fn read_devices(root: &Path) -> io::Result<Vec<PciDevice>> {
    let dir = root.join("sys/bus/pci/devices");
    let routes = routed_interfaces(root);
    let ipv6 = global_ipv6_interfaces(root);
    let mut devices = Vec::new();
    for name in dir_names(&dir)? {
        let Some(address) = parse_pci_address(&name) else {
            continue;
        };
        let dev = dir.join(&name);
        let class_path = dev.join("class");
        let class = read_opt(&class_path)?
            .map(|text| {
                parse_hex(&text)
                    .ok_or_else(|| invalid(&class_path, format!("not a class code: {text:?}")))
            })
            .transpose()?;
        let id = |file: &str| {
            read_lenient(&dev.join(file)).map(|t| t.trim_start_matches("0x").to_ascii_lowercase())
        };
        let number = |file: &str| read_lenient(&dev.join(file)).and_then(|t| t.parse::<u32>().ok());
        let mut interfaces = Vec::new();
        for net_dir in net_dirs(&dev)? {
            for ifname in dir_names(&net_dir)? {
                let operstate =
                    read_lenient(&root.join("sys/class/net").join(&ifname).join("operstate"))
                        .or_else(|| read_lenient(&net_dir.join(&ifname).join("operstate")));
                interfaces.push(NetInterface {
                    has_route: routes.contains(&ifname),
                    has_global_ipv6: ipv6.contains(&ifname),
                    name: ifname,
                    operstate,
                });
            }
        }
        devices.push(PciDevice {
            address,
            class,
            vendor: id("vendor"),
            device: id("device"),
            driver: link_name(&dev.join("driver")),
            driver_override: read_lenient(&dev.join("driver_override"))
                .filter(|o| !o.is_empty() && o != "(null)"),
            iommu_group: link_name(&dev.join("iommu_group")).and_then(|g| g.parse().ok()),
            numa_node: read_lenient(&dev.join("numa_node"))
                .and_then(|t| t.parse::<i64>().ok())
                .and_then(|n| u32::try_from(n).ok()),
            interfaces,
            sriov_total_vfs: number("sriov_totalvfs"),
            sriov_num_vfs: number("sriov_numvfs"),
            physfn: link_name(&dev.join("physfn")),
        });
    }
    Ok(devices)
}

/// `net/` of the device, and `virtio*/net/` where a virtio device keeps its interface.
fn net_dirs(dev: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut dirs = vec![dev.join("net")];
    for name in dir_names(dev)? {
        if name.starts_with("virtio") {
            dirs.push(dev.join(name).join("net"));
        }
    }
    Ok(dirs)
}

fn parse_hex(text: &str) -> Option<u32> {
    let text = text.trim();
    u32::from_str_radix(text.strip_prefix("0x").unwrap_or(text), 16).ok()
}

/// Interfaces named in the `Iface` column of `proc/net/route`.
fn routed_interfaces(root: &Path) -> BTreeSet<String> {
    read_lenient(&root.join("proc/net/route"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Interfaces with an IPv6 address outside `fe80::/10` in `proc/net/if_inet6` (the interface
/// name is the last column).
fn global_ipv6_interfaces(root: &Path) -> BTreeSet<String> {
    read_lenient(&root.join("proc/net/if_inet6"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (address, ifname) = (fields.first()?, fields.last()?);
            let link_local = ["fe8", "fe9", "fea", "feb"]
                .iter()
                .any(|p| address.to_ascii_lowercase().starts_with(p));
            (fields.len() >= 6 && !link_local).then(|| (*ifname).to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_strict_and_short_ones_get_domain_zero() {
        assert_eq!(
            parse_pci_address("0000:03:00.1").as_deref(),
            Some("0000:03:00.1")
        );
        assert_eq!(
            parse_pci_address("03:00.1").as_deref(),
            Some("0000:03:00.1")
        );
        for bad in [
            "0000:03:00.8",
            "0000:03:00",
            "0000:3:00.1",
            "0000:03:00.1 ",
            "0000:0G:00.1",
            "0000:03:00.é",
            "",
            "03:00.10",
        ] {
            assert_eq!(parse_pci_address(bad), None, "{bad:?}");
        }
        // Uppercase is not what sysfs uses: refused rather than guessed.
        assert_eq!(parse_pci_address("0000:AF:00.0"), None);
    }
}
