//! The IOMMU: its groups (`sys/kernel/iommu_groups`), its hardware units and their address width
//! (`sys/class/iommu`), and what the kernel command line asked for.
//!
//! VFIO's no-IOMMU mode creates fake groups named `vfio-noiommu` for the devices bound to
//! `vfio-pci`; they are not an IOMMU and [`Iommu::present`] does not count them. DPDK's own
//! `is_iommu_enabled()` (in `lib/eal/linux/eal.c`) only checks that the groups directory is not
//! empty, so it does count them: [`Iommu::dpdk_sees_groups`] is that check.

use std::io;
use std::path::Path;

use crate::fsutil::{dir_names, exists, read_lenient};

/// Below this many address bits an IOMMU limits IOVA as VA (user space spans 47 bits on x86-64).
pub const FULL_ADDRESS_WIDTH: u8 = 48;

/// What the IOMMU probe found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Iommu {
    /// Every group, real or no-IOMMU, by number.
    pub groups: Vec<IommuGroup>,
    /// Hardware units from `sys/class/iommu`.
    pub units: Vec<IommuUnit>,
    /// IOMMU switches on the kernel command line.
    pub cmdline: KernelCmdline,
}

/// One IOMMU group: the unit of isolation VFIO hands to user space whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuGroup {
    /// The group number (the directory name).
    pub number: u32,
    /// Whether it is a VFIO no-IOMMU group (its `name` is `vfio-noiommu`).
    pub noiommu: bool,
    /// PCI addresses of its members, from `devices/`.
    pub members: Vec<String>,
}

/// The vendor of an IOMMU unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IommuKind {
    /// Intel VT-d (`intel-iommu/`).
    Intel,
    /// AMD-Vi (`amd-iommu/`).
    Amd,
    /// Anything else (SMMU, virtio-iommu, ...).
    Other,
}

/// One hardware IOMMU unit (`dmar0`, `ivhd0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuUnit {
    /// Its name in `sys/class/iommu`.
    pub name: String,
    /// Its vendor.
    pub kind: IommuKind,
    /// Address width in bits (Intel only: MGAW + 1 from the `cap` register).
    pub address_width: Option<u8>,
}

/// The IOMMU switches on the kernel command line (`proc/cmdline`), as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelCmdline {
    /// `iommu=` (`pt` for pass-through, `off`, ...).
    pub iommu: Option<String>,
    /// `intel_iommu=` (`on`, `off`, `sm_on`, ...).
    pub intel_iommu: Option<String>,
    /// `amd_iommu=` (`on`, `off`, `force_isolation`, ...).
    pub amd_iommu: Option<String>,
}

impl Iommu {
    /// Reads the IOMMU state under `root`.
    pub fn read(root: &Path) -> io::Result<Self> {
        let groups_dir = root.join("sys/kernel/iommu_groups");
        let mut groups = Vec::new();
        for name in dir_names(&groups_dir)? {
            let Ok(number) = name.parse() else { continue };
            let dir = groups_dir.join(&name);
            groups.push(IommuGroup {
                number,
                noiommu: read_lenient(&dir.join("name")).as_deref() == Some("vfio-noiommu"),
                members: dir_names(&dir.join("devices"))?,
            });
        }
        groups.sort_by_key(|g| g.number);
        let class_dir = root.join("sys/class/iommu");
        let units = dir_names(&class_dir)?
            .into_iter()
            .map(|name| {
                let dir = class_dir.join(&name);
                let (kind, address_width) = if exists(&dir.join("intel-iommu")) {
                    let cap = read_lenient(&dir.join("intel-iommu/cap"));
                    (IommuKind::Intel, cap.as_deref().and_then(vtd_address_width))
                } else if exists(&dir.join("amd-iommu")) {
                    (IommuKind::Amd, None)
                } else {
                    (IommuKind::Other, None)
                };
                IommuUnit {
                    name,
                    kind,
                    address_width,
                }
            })
            .collect();
        let cmdline = read_lenient(&root.join("proc/cmdline"))
            .map(|text| KernelCmdline::parse(&text))
            .unwrap_or_default();
        Ok(Self {
            groups,
            units,
            cmdline,
        })
    }

    /// Whether a real IOMMU is on: at least one group that is not a VFIO no-IOMMU group.
    pub fn present(&self) -> bool {
        self.groups.iter().any(|g| !g.noiommu)
    }

    /// DPDK's `is_iommu_enabled()`: whether `sys/kernel/iommu_groups` has any entry at all.
    pub fn dpdk_sees_groups(&self) -> bool {
        !self.groups.is_empty()
    }

    /// Real (not no-IOMMU) groups.
    pub fn real_groups(&self) -> usize {
        self.groups.iter().filter(|g| !g.noiommu).count()
    }

    /// The narrowest known address width over the units.
    pub fn address_width(&self) -> Option<u8> {
        self.units.iter().filter_map(|u| u.address_width).min()
    }

    /// The vendor of the first unit, if any.
    pub fn kind(&self) -> Option<IommuKind> {
        self.units.first().map(|u| u.kind)
    }

    /// A group by number.
    pub fn group(&self, number: u32) -> Option<&IommuGroup> {
        self.groups.iter().find(|g| g.number == number)
    }
}

impl KernelCmdline {
    /// Picks the IOMMU switches out of a command line; arguments after `--` belong to init.
    pub fn parse(text: &str) -> Self {
        let mut cmdline = Self::default();
        for arg in text.split_whitespace().take_while(|a| *a != "--") {
            let Some((key, value)) = arg.split_once('=') else {
                continue;
            };
            let slot = match key {
                "iommu" => &mut cmdline.iommu,
                "intel_iommu" => &mut cmdline.intel_iommu,
                "amd_iommu" => &mut cmdline.amd_iommu,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        cmdline
    }

    /// Whether `iommu=pt` asks for pass-through (identity) mappings for host-owned devices.
    pub fn pass_through(&self) -> bool {
        self.iommu.as_deref() == Some("pt")
    }
}

/// The address width of an Intel VT-d unit: MGAW (bits 16..21 of the hex `cap` register) + 1,
/// as DPDK's `pci_device_iommu_support_va()` computes it.
pub fn vtd_address_width(cap: &str) -> Option<u8> {
    let cap = cap.trim();
    let cap = u64::from_str_radix(cap.strip_prefix("0x").unwrap_or(cap), 16).ok()?;
    Some(((cap >> 16) & 0x3f) as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mgaw_is_bits_16_to_21_plus_one() {
        // A Xeon unit: MGAW = 47 → 48 bits.
        assert_eq!(vtd_address_width("d2078c106f0466"), Some(48));
        // MGAW = 38 → 39 bits, as QEMU's intel-iommu reports with its default aw-bits=39.
        assert_eq!(vtd_address_width("0x00d2008c22260206"), Some(39));
        assert_eq!(vtd_address_width("not hex"), None);
    }

    #[test]
    fn cmdline_switches_stop_at_init_arguments() {
        let c = KernelCmdline::parse("ro intel_iommu=on iommu=pt quiet -- amd_iommu=off");
        assert_eq!(c.intel_iommu.as_deref(), Some("on"));
        assert!(c.pass_through());
        assert_eq!(c.amd_iommu, None);
    }
}
