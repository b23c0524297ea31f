//! The doctor's ✓/✗ lines: one per thing DPDK needs, each ✗ with what to do.

use crate::iommu::FULL_ADDRESS_WIDTH;
use crate::iova::human_bytes;
use crate::pci_vote::DeviceVote;
use crate::recommend::Driver;
use crate::report::{Check, DeviceReport, Report};
use crate::Probe;

/// Every check, in the order the text lists them.
pub(crate) fn checks(probe: &Probe, report: &Report) -> Vec<Check> {
    let mut checks = Vec::new();
    iommu_checks(probe, report, &mut checks);
    driver_checks(probe, report, &mut checks);
    let p = &report.privileges;
    let who = match p.uid {
        Some(0) => "root".to_owned(),
        Some(uid) => format!("uid {uid}"),
        None => "an unknown user".to_owned(),
    };
    checks.push(if p.phys_addrs {
        Check::pass(format!("Physical addresses are readable (running as {who} with CAP_SYS_ADMIN)"))
    } else {
        Check::fail(
            format!("Physical addresses are not readable (running as {who} without CAP_SYS_ADMIN)"),
            "Run DPDK as root (or with CAP_SYS_ADMIN) for IOVA as PA; unprivileged DPDK needs IOVA as VA: vfio-pci with an IOMMU, or vdevs.",
        )
    });
    hugepage_checks(probe, &mut checks);
    for d in &report.devices {
        checks.push(device_check(probe, d));
    }
    if report.devices.is_empty() {
        checks.push(Check::pass("No PCI network devices: use software vdevs (net_null, net_ring, net_pcap, net_af_packet)"));
    }
    let iova = &report.iova;
    checks.extend(iova.votes.iter().map(vote_check));
    let with = if report.options.devices.is_empty() {
        "vdevs only".to_owned()
    } else {
        format!("with {}", report.options.devices.join(", "))
    };
    let what = format!(
        "IOVA as {} predicted ({with})",
        iova.predicted.to_string().to_uppercase()
    );
    checks.push(if iova.eal_fails {
        Check::fail(
            format!("{what}, and rte_eal_init() will fail"),
            iova.warnings.first().cloned().unwrap_or_default(),
        )
    } else {
        Check::pass(what)
    });
    checks
}

fn iommu_checks(probe: &Probe, report: &Report, checks: &mut Vec<Check>) {
    let iommu = &report.iommu;
    if iommu.present {
        checks.push(Check::pass(format!(
            "IOMMU enabled ({} groups)",
            iommu.groups
        )));
        if let Some(w) = iommu.address_width {
            checks.push(if w >= FULL_ADDRESS_WIDTH {
                Check::pass(format!("IOMMU address width is {w} bits"))
            } else {
                Check::fail(
                    format!("IOMMU address width is only {w} bits: IOVA as VA can only use memory below {}", human_bytes(1u128 << w)),
                    "Keep DPDK's memory small, or use --iova-mode=pa as root; in a QEMU guest give the vIOMMU 48 bits (-device intel-iommu,aw-bits=48).",
                )
            });
        }
    } else {
        let cmdline = &probe.iommu.cmdline;
        let asked = cmdline.intel_iommu.as_deref() == Some("on") || cmdline.amd_iommu.is_some();
        checks.push(Check::fail(
            "No IOMMU: devices cannot be isolated and need IOVA as PA (root)",
            if asked {
                "The kernel command line asks for one: enable VT-d / AMD-Vi in the firmware (in a VM, give the guest a vIOMMU: QEMU -device intel-iommu)."
            } else {
                "Enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on iommu=pt (AMD: amd_iommu=on iommu=pt); in a VM, give the guest a vIOMMU (QEMU -device intel-iommu). Until then use vfio-pci in no-IOMMU mode or UIO."
            },
        ));
    }
}

fn driver_checks(probe: &Probe, report: &Report, checks: &mut Vec<Check>) {
    let wants = |driver: Driver| {
        report
            .devices
            .iter()
            .any(|d| d.recommended_driver == driver)
    };
    let m = &probe.modules;
    if wants(Driver::VfioPci) {
        checks.push(if m.vfio_pci {
            Check::pass("vfio-pci is loaded")
        } else {
            Check::fail("vfio-pci is not loaded", "modprobe vfio-pci")
        });
    }
    if wants(Driver::VfioPci) && !report.iommu.present {
        checks.push(if m.vfio_noiommu {
            Check::pass("VFIO no-IOMMU mode is on (no isolation: the kernel is tainted)")
        } else {
            Check::fail(
                "VFIO no-IOMMU mode is off: vfio-pci cannot work without an IOMMU",
                if m.vfio {
                    "echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode; this taints the kernel and gives no isolation."
                } else {
                    "modprobe vfio enable_unsafe_noiommu_mode=1 && modprobe vfio-pci; this taints the kernel and gives no isolation."
                },
            )
        });
    }
    if wants(Driver::UioPciGeneric) {
        checks.push(if m.uio_pci_generic {
            Check::pass("uio_pci_generic is loaded")
        } else {
            Check::fail("uio_pci_generic is not loaded", "modprobe uio_pci_generic")
        });
    }
    if wants(Driver::IgbUio) {
        checks.push(if m.igb_uio {
            Check::pass("igb_uio is loaded")
        } else {
            Check::fail(
                "igb_uio is not loaded",
                "Build it from dpdk-kmods (linux/igb_uio), then modprobe uio && insmod igb_uio.ko.",
            )
        });
    }
}

fn hugepage_checks(probe: &Probe, checks: &mut Vec<Check>) {
    let h = &probe.hugepages;
    let reserved: Vec<String> = h
        .pools
        .iter()
        .filter(|p| p.total > 0)
        .map(|p| format!("{} × {} kB ({} free)", p.total, p.size_kb, p.free))
        .collect();
    checks.push(if reserved.is_empty() {
        Check::fail(
            "No hugepages are reserved",
            "echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages as root (or hugepages=512 on the kernel command line); or run DPDK with --no-huge (IOVA as VA; size memory with -m).",
        )
    } else {
        Check::pass(format!("Hugepages reserved: {}", reserved.join(", ")))
    });
    checks.push(if h.mounts.is_empty() {
        Check::fail("hugetlbfs is not mounted", "mount -t hugetlbfs nodev /dev/hugepages (as root)")
    } else if !reserved.is_empty() && h.usable_free_bytes() == 0 {
        let paths: Vec<String> = h.mounts.iter().map(|m| m.path.display().to_string()).collect();
        Check::fail(
            format!("hugetlbfs is mounted at {} but no free hugepage of a mounted size is left", paths.join(", ")),
            "Mount hugetlbfs for the reserved page size (mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages), or reserve more pages.",
        )
    } else {
        let paths: Vec<String> = h.mounts.iter().map(|m| m.path.display().to_string()).collect();
        Check::pass(format!("hugetlbfs is mounted at {}", paths.join(", ")))
    });
}

fn device_check(probe: &Probe, d: &DeviceReport) -> Check {
    let name = format!(
        "{} ({}:{})",
        d.pci,
        d.vendor.as_deref().unwrap_or("?"),
        d.device.as_deref().unwrap_or("?")
    );
    let driver = d.recommended_driver;
    if driver.is_software() {
        let iface = d.interface.as_deref().unwrap_or("its interface");
        return Check::pass(format!(
            "{name} stays with the kernel ({iface}): use it through {driver}"
        ));
    }
    // vfio-pci needs the whole group: name the other members in the same command.
    let mut to_bind = vec![d.pci.clone()];
    if driver == Driver::VfioPci {
        if let Some(group) = d.iommu_group.filter(|_| probe.iommu.present()) {
            let viability = probe.group_viability(group, &[d.pci.as_str()]);
            to_bind.extend(viability.blockers.into_iter().map(|b| b.pci));
        }
    }
    let fix = format!("dpdk-devbind.py -b {driver} {}", to_bind.join(" "));
    if d.driver.as_deref() == Some(driver.name()) {
        if to_bind.len() > 1 {
            return Check::fail(
                format!("{name} is bound to {driver} but its IOMMU group is not viable"),
                fix,
            );
        }
        return Check::pass(format!("{name} is bound to {driver}: ready for DPDK"));
    }
    let now = d.driver.as_deref().unwrap_or("no driver");
    Check::fail(format!("{name} is bound to {now}, not {driver}"), fix)
}

/// Whether EAL will initialise a device named with `-a`, so that a port opens on it.
fn vote_check(v: &DeviceVote) -> Check {
    let driver = v.driver.as_deref().unwrap_or("no driver");
    if v.usable {
        Check::pass(format!(
            "{} ({driver}) will be initialised by EAL ({})",
            v.pci,
            v.vote.describe()
        ))
    } else {
        Check::fail(
            format!("{} ({driver}) will not be initialised by EAL", v.pci),
            v.problem.clone().unwrap_or_default(),
        )
    }
}
