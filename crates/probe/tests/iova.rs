//! The IOVA prediction for options other than the doctor's defaults, on the fixture trees.

mod common;

use common::fixture;
use probe::{predict_iova, DoctorOptions, IovaMode, IovaPrediction, Probe};

fn predict(env: &str, opts: &DoctorOptions) -> IovaPrediction {
    predict_iova(&Probe::read(&fixture(env)).unwrap(), opts)
}

fn devices(pcis: &[&str]) -> DoctorOptions {
    DoctorOptions {
        devices: pcis.iter().map(|s| (*s).to_owned()).collect(),
        ..DoctorOptions::default()
    }
}

fn says(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn uio_devices_make_the_bus_ask_for_pa() {
    let p = predict("noiommu-uio-generic", &devices(&["0000:00:04.0"]));
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Pa, false));
    assert!(
        says(
            &p.reasons,
            "bound to uio_pci_generic, which cannot use an IOMMU"
        ),
        "{p:#?}"
    );
    assert!(says(&p.reasons, "the PCI bus asks for PA"), "{p:#?}");
}

#[test]
fn uio_forbids_va() {
    let opts = DoctorOptions {
        iova_mode_forced: Some(IovaMode::Va),
        ..devices(&["0000:00:04.0"])
    };
    let p = predict("noiommu-uio-generic", &opts);
    assert_eq!(p.predicted, IovaMode::Va);
    assert!(
        says(
            &p.warnings,
            "0000:00:04.0 can only do DMA to physical addresses"
        ),
        "{p:#?}"
    );
}

#[test]
fn vfio_in_noiommu_mode_asks_for_pa_but_its_groups_make_eal_pick_va_for_vdevs() {
    let named = predict("noiommu-vfio", &devices(&["0000:00:04.0"]));
    assert_eq!(named.predicted, IovaMode::Pa);
    assert!(
        says(&named.reasons, "vfio-pci in no-IOMMU mode"),
        "{named:#?}"
    );
    let vdevs = predict("noiommu-vfio", &DoctorOptions::default());
    assert_eq!(vdevs.predicted, IovaMode::Va);
    assert!(
        says(
            &vdevs.reasons,
            "is_iommu_enabled() only checks that the directory is not empty"
        ),
        "{vdevs:#?}"
    );
}

#[test]
fn without_privileges_va_is_chosen_and_pa_fails() {
    let p = predict("no-privileges", &devices(&["0000:3b:00.0"]));
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false));
    assert!(
        says(&p.reasons, "bound to vfio-pci with an IOMMU"),
        "{p:#?}"
    );
    assert!(says(&p.warnings, "PA would fail"), "{p:#?}");
    let forced = predict(
        "no-privileges",
        &DoctorOptions {
            iova_mode_forced: Some(IovaMode::Pa),
            ..DoctorOptions::default()
        },
    );
    assert_eq!((forced.predicted, forced.eal_fails), (IovaMode::Pa, true));
    assert!(
        forced.warnings[0].starts_with("PA needs CAP_SYS_ADMIN"),
        "{forced:#?}"
    );
    assert!(forced.warnings[0]
        .contains("Cannot use IOVA as 'PA' since physical addresses are not available"));
}

#[test]
fn root_may_force_pa_even_with_an_iommu() {
    let p = predict(
        "iommu-vfio",
        &DoctorOptions {
            iova_mode_forced: Some(IovaMode::Pa),
            ..DoctorOptions::default()
        },
    );
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Pa, false));
    assert!(says(&p.reasons, "--iova-mode=pa forces the mode"), "{p:#?}");
}

#[test]
fn no_huge_means_no_physical_addresses() {
    let p = predict(
        "this-vm",
        &DoctorOptions {
            no_huge: true,
            ..DoctorOptions::default()
        },
    );
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false));
    assert!(
        says(&p.reasons, "With --no-huge there are no hugepages"),
        "{p:#?}"
    );
    assert!(says(&p.warnings, "IOVA as PA is impossible"), "{p:#?}");
    // Without --no-huge this machine picks PA; with no hugepages at all, --no-huge is the way.
    assert_eq!(
        predict("this-vm", &DoctorOptions::default()).predicted,
        IovaMode::Pa
    );
    let bare = predict(
        "no-hugepages",
        &DoctorOptions {
            no_huge: true,
            ..DoctorOptions::default()
        },
    );
    assert!(!bare.eal_fails, "{bare:#?}");
}

#[test]
fn devices_dpdk_cannot_drive_are_warned_about() {
    let p = predict("iommu-vfio", &devices(&["0000:3b:00.1", "0000:99:00.0"]));
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false));
    assert!(
        says(
            &p.warnings,
            "0000:3b:00.1 is bound to the kernel driver ixgbe"
        ),
        "{p:#?}"
    );
    assert!(says(&p.warnings, "recommended: vfio-pci"), "{p:#?}");
    assert!(says(&p.warnings, "0000:99:00.0 does not exist"), "{p:#?}");
    let bad = predict("iommu-vfio", &devices(&["eth0"]));
    assert!(bad.eal_fails, "{bad:#?}");
}

#[test]
fn a_narrow_iommu_limits_va() {
    let p = predict("narrow-iommu", &devices(&["0000:00:03.0"]));
    assert_eq!(p.predicted, IovaMode::Va);
    assert!(says(&p.warnings, "address width is 39 bits"), "{p:#?}");
    assert!(says(&p.warnings, "512 GiB"), "{p:#?}");
    assert!(!says(&p.warnings, "With vdevs only"), "{p:#?}");
}
