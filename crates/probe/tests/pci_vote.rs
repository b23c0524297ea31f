//! The PCI bus's vote for the devices EAL is given (`-a`), one test per branch of DPDK 22.11's
//! `pci_device_iova_mode()` / `rte_pci_get_iommu_class()`, on the fixture trees:
//! `pci-iommu-mixed` (a device for each vote), `noiommu-vfio` and `pci-noiommu-unprivileged`,
//! `noiommu-uio-generic` and `igb-uio-vfs`, `narrow-iommu`, `this-vm` (no device at all).

mod common;

use common::{fixture, Scratch};
use probe::{
    predict_iova, predict_iova_with, DeviceVote, DoctorOptions, DpdkBuild, IovaMode,
    IovaPrediction, Probe, Vote,
};

fn devices(pcis: &[&str]) -> DoctorOptions {
    DoctorOptions {
        devices: pcis.iter().map(|s| (*s).to_owned()).collect(),
        ..DoctorOptions::default()
    }
}

fn predict(env: &str, pcis: &[&str]) -> IovaPrediction {
    predict_iova(&Probe::read(&fixture(env)).unwrap(), &devices(pcis))
}

fn says(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

fn vote<'a>(p: &'a IovaPrediction, pci: &str) -> &'a DeviceVote {
    p.votes.iter().find(|v| v.pci == pci).expect("named device")
}

fn problem(v: &DeviceVote) -> &str {
    v.problem.as_deref().unwrap_or_default()
}

#[test]
fn vfio_with_an_iommu_has_no_preference_and_eal_picks_va() {
    let p = predict("pci-iommu-mixed", &["0000:3b:00.0"]);
    let v = vote(&p, "0000:3b:00.0");
    assert_eq!((v.vote, v.usable), (Vote::Dc, true), "{p:#?}");
    assert!(
        v.reason.contains("bound to vfio-pci with an IOMMU"),
        "{v:#?}"
    );
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Dc, IovaMode::Va, false)
    );
    assert_eq!(p.dma_mask_bits, Some(48), "{p:#?}");
    assert!(says(&p.reasons, "a 48-bit address width"), "{p:#?}");
    assert!(says(&p.reasons, "An IOMMU is enabled"), "{p:#?}");
    // Unprivileged, the same device: still VA, since DC without physical addresses is VA.
    let p = predict("no-privileges", &["0000:3b:00.0"]);
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false), "{p:#?}");
    assert!(says(&p.warnings, "PA would fail"), "{p:#?}");
}

#[test]
fn a_pmd_flagged_need_iova_as_va_makes_the_bus_ask_for_va() {
    let p = predict("pci-iommu-mixed", &["0000:af:00.0"]);
    let v = vote(&p, "0000:af:00.0");
    assert_eq!((v.vote, v.usable), (Vote::Va, true), "{p:#?}");
    assert!(v.reason.contains("RTE_PCI_DRV_NEED_IOVA_AS_VA"), "{v:#?}");
    assert_eq!((p.bus, p.predicted), (Vote::Va, IovaMode::Va));
    // A build without the cnxk PMDs has no PMD that asks for VA.
    let probe = Probe::read(&fixture("pci-iommu-mixed")).unwrap();
    let without = DpdkBuild {
        net_cnxk: false,
        ..DpdkBuild::LINKED
    };
    let p = predict_iova_with(&probe, &devices(&["0000:af:00.0"]), &without);
    assert_eq!(vote(&p, "0000:af:00.0").vote, Vote::Dc, "{p:#?}");
}

#[test]
fn vfio_in_noiommu_mode_asks_for_pa_which_root_gets() {
    let p = predict("noiommu-vfio", &["0000:00:04.0"]);
    let v = vote(&p, "0000:00:04.0");
    assert_eq!((v.vote, v.usable), (Vote::Pa, true), "{p:#?}");
    assert!(v.reason.contains("no-IOMMU mode is on"), "{v:#?}");
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Pa, IovaMode::Pa, false)
    );
    // The vdev-only prediction on the same machine is VA (its no-IOMMU group counts as one).
    assert_eq!(predict("noiommu-vfio", &[]).predicted, IovaMode::Va);
}

#[test]
fn a_pa_vote_without_physical_addresses_makes_eal_refuse() {
    let p = predict("pci-noiommu-unprivileged", &["0000:00:04.0"]);
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Pa, IovaMode::Pa, true),
        "{p:#?}"
    );
    assert!(
        says(
            &p.warnings,
            "Cannot use IOVA as 'PA' since physical addresses are not available"
        ),
        "{p:#?}"
    );
    // Root with --no-huge has no physical addresses either.
    let p = predict_iova(
        &Probe::read(&fixture("noiommu-vfio")).unwrap(),
        &DoctorOptions {
            no_huge: true,
            ..devices(&["0000:00:04.0"])
        },
    );
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Pa, true), "{p:#?}");
}

#[test]
fn uio_drivers_ask_for_pa() {
    for (env, pci, driver) in [
        ("noiommu-uio-generic", "0000:00:04.0", "uio_pci_generic"),
        ("igb-uio-vfs", "0000:81:00.1", "igb_uio"),
    ] {
        let p = predict(env, &[pci]);
        let v = vote(&p, pci);
        assert_eq!((v.vote, v.usable), (Vote::Pa, true), "{p:#?}");
        assert!(
            v.reason
                .contains(&format!("bound to {driver}, which cannot use an IOMMU")),
            "{v:#?}"
        );
        assert_eq!(
            (p.bus, p.predicted, p.eal_fails),
            (Vote::Pa, IovaMode::Pa, false)
        );
    }
}

#[test]
fn a_forced_va_leaves_a_pa_device_out() {
    let p = predict_iova(
        &Probe::read(&fixture("noiommu-uio-generic")).unwrap(),
        &DoctorOptions {
            iova_mode_forced: Some(IovaMode::Va),
            ..devices(&["0000:00:04.0"])
        },
    );
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false), "{p:#?}");
    let v = vote(&p, "0000:00:04.0");
    assert!(!v.usable, "{v:#?}");
    assert!(
        problem(v).contains("Expecting 'PA' IOVA mode but current mode is 'VA'"),
        "{v:#?}"
    );
}

#[test]
fn devices_on_kernel_drivers_are_skipped() {
    let p = predict("pci-iommu-mixed", &["0000:3b:00.1"]);
    let v = vote(&p, "0000:3b:00.1");
    assert_eq!((v.vote, v.usable), (Vote::Skipped, false), "{p:#?}");
    assert!(v.reason.contains("the kernel driver ixgbe"), "{v:#?}");
    assert!(
        problem(v).contains("dpdk-devbind.py -b vfio-pci 0000:3b:00.1"),
        "{v:#?}"
    );
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Dc, IovaMode::Va, false)
    );
    // The machine's own active NIC: keep it and use a vdev.
    let p = predict("pci-iommu-mixed", &["0000:00:1f.6"]);
    let v = vote(&p, "0000:00:1f.6");
    assert!(
        !v.usable && problem(v).contains("net_af_packet0,iface=eno1"),
        "{v:#?}"
    );
}

#[test]
fn a_bifurcated_pmd_drives_a_device_its_kernel_driver_keeps() {
    let probe = Probe::read(&fixture("pci-iommu-mixed")).unwrap();
    let opts = devices(&["0000:5e:00.0"]);
    let with = DpdkBuild {
        net_mlx5: true,
        ..DpdkBuild::LINKED
    };
    let p = predict_iova_with(&probe, &opts, &with);
    let v = vote(&p, "0000:5e:00.0");
    assert_eq!((v.vote, v.usable), (Vote::Skipped, true), "{v:#?}");
    assert!(
        v.reason.contains("mlx5 PMD (compiled in: RTE_NET_MLX5)"),
        "{v:#?}"
    );
    let without = DpdkBuild {
        net_mlx5: false,
        ..DpdkBuild::LINKED
    };
    let p = predict_iova_with(&probe, &opts, &without);
    let v = vote(&p, "0000:5e:00.0");
    assert!(
        !v.usable && problem(v).contains("built without the mlx5 PMD"),
        "{v:#?}"
    );
}

#[test]
fn devices_not_on_the_bus_open_no_port() {
    let p = predict("pci-iommu-mixed", &["0000:5e:00.1", "0000:99:00.0"]);
    let unbound = vote(&p, "0000:5e:00.1");
    assert!(
        !unbound.usable && unbound.reason.contains("bound to no driver"),
        "{p:#?}"
    );
    assert!(problem(unbound).contains("dpdk-devbind.py -b vfio-pci 0000:5e:00.1"));
    let absent = vote(&p, "0000:99:00.0");
    assert!(
        !absent.usable && absent.reason.contains("no PCI device 0000:99:00.0"),
        "{p:#?}"
    );
    assert_eq!((p.bus, p.eal_fails), (Vote::Dc, false), "{p:#?}");
    // An address EAL cannot parse stops rte_eal_init() itself.
    let bad = predict("pci-iommu-mixed", &["eth0"]);
    assert!(
        bad.eal_fails && says(&bad.warnings, "not a PCI address"),
        "{bad:#?}"
    );
}

#[test]
fn a_group_that_is_not_viable_keeps_vfio_from_opening_it() {
    let p = predict("pci-iommu-mixed", &["0000:86:00.0"]);
    let v = vote(&p, "0000:86:00.0");
    assert_eq!((v.vote, v.usable), (Vote::Dc, false), "{v:#?}");
    assert!(
        problem(v).contains("IOMMU group 70 is not viable: 0000:86:00.1 (i40e)"),
        "{v:#?}"
    );
    assert!(problem(v).contains("dpdk-devbind.py -b vfio-pci 0000:86:00.0 0000:86:00.1"));
}

#[test]
fn pa_and_va_votes_conflict_into_dc_and_eal_leaves_the_losers_out() {
    let p = predict("pci-iommu-mixed", &["0000:d8:00.0", "0000:af:00.0"]);
    assert_eq!(p.bus, Vote::Dc, "{p:#?}");
    assert!(
        says(&p.warnings, "forcing 'DC' because other devices want 'PA'"),
        "{p:#?}"
    );
    // Root with an IOMMU: DC becomes VA, so the igb_uio device is not initialised.
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false), "{p:#?}");
    assert!(vote(&p, "0000:af:00.0").usable);
    let uio = vote(&p, "0000:d8:00.0");
    assert!(!uio.usable, "{uio:#?}");
    assert!(problem(uio).contains("Expecting 'PA' IOVA mode but current mode is 'VA'"));
    assert!(!p.devices_usable());
}

#[test]
fn a_narrow_iommu_sets_the_dma_mask_but_still_allows_va() {
    let p = predict("narrow-iommu", &["0000:00:03.0"]);
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Dc, IovaMode::Va, false),
        "{p:#?}"
    );
    assert_eq!(p.dma_mask_bits, Some(39));
    assert!(says(&p.warnings, "address width is 39 bits"), "{p:#?}");
    assert!(says(&p.warnings, "512 GiB"), "{p:#?}");
    assert!(!says(&p.warnings, "With vdevs only"), "{p:#?}");
}

#[test]
fn an_unreadable_vtd_cap_register_means_no_va_so_the_bus_asks_for_pa() {
    let scratch = Scratch::copy_of("narrow-iommu");
    let cap = scratch.path().join("sys/class/iommu/dmar0/intel-iommu/cap");
    std::fs::write(cap, "garbled\n").unwrap();
    let p = predict_iova(
        &Probe::read(scratch.path()).unwrap(),
        &devices(&["0000:00:03.0"]),
    );
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Pa, IovaMode::Pa, false),
        "{p:#?}"
    );
    assert!(
        says(
            &p.reasons,
            "cannot read the VT-d cap register of 0000:00:03.0"
        ),
        "{p:#?}"
    );
}

#[test]
fn the_first_device_on_the_bus_is_the_one_whose_iommu_is_checked() {
    // 0000:00:02.0 (virtio-pci, a kernel driver) sorts first: its unit decides, though it
    // does not vote. Give it a unit of its own with a garbled register.
    let scratch = Scratch::copy_of("narrow-iommu");
    let unit = scratch.path().join("sys/class/iommu/dmar1/intel-iommu");
    std::fs::create_dir_all(&unit).unwrap();
    std::fs::write(unit.join("cap"), "garbled\n").unwrap();
    let link = scratch
        .path()
        .join("sys/bus/pci/devices/0000:00:02.0/iommu");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("../../../../class/iommu/dmar1", &link).unwrap();
    let probe = Probe::read(scratch.path()).unwrap();
    let p = predict_iova(&probe, &devices(&["0000:00:03.0", "0000:00:02.0"]));
    assert_eq!(p.bus, Vote::Pa, "{p:#?}");
    let p = predict_iova(&probe, &devices(&["0000:00:03.0"]));
    assert_eq!((p.bus, p.dma_mask_bits), (Vote::Dc, Some(39)), "{p:#?}");
}

#[test]
fn a_build_without_vfio_cannot_use_vfio_devices() {
    let probe = Probe::read(&fixture("pci-iommu-mixed")).unwrap();
    let build = DpdkBuild {
        vfio: false,
        ..DpdkBuild::LINKED
    };
    let p = predict_iova_with(&probe, &devices(&["0000:3b:00.0"]), &build);
    let v = vote(&p, "0000:3b:00.0");
    assert_eq!((v.vote, v.usable), (Vote::Dc, false), "{v:#?}");
    assert!(
        v.reason.contains("built without VFIO (RTE_EAL_VFIO)"),
        "{v:#?}"
    );
}

#[test]
fn no_device_named_is_vdevs_only() {
    let p = predict("this-vm", &[]);
    assert_eq!(
        (p.bus, p.predicted, p.eal_fails),
        (Vote::Dc, IovaMode::Pa, false),
        "{p:#?}"
    );
    assert!(p.votes.is_empty() && p.dma_mask_bits.is_none());
    assert!(says(&p.reasons, "--no-pci, vdevs only"), "{p:#?}");
}
