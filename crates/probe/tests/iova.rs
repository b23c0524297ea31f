//! The IOVA prediction for options other than the doctor's defaults, on the fixture trees:
//! privileges, --no-huge, --iova-mode, and the rules the linked DPDK build compiles in or out.
//! The PCI devices' votes are `pci_vote.rs`'s.

mod common;

use common::{fixture, Scratch};
use probe::{
    predict_iova, predict_iova_with, DoctorOptions, DpdkBuild, IovaMode, IovaPrediction, Probe,
};

fn predict(env: &str, opts: &DoctorOptions) -> IovaPrediction {
    predict_iova(&Probe::read(&fixture(env)).unwrap(), opts)
}

fn says(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn without_privileges_pa_fails() {
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
fn a_config_that_leaves_hugepages_to_the_engine_runs_without_when_none_are_free() {
    let fallback = DoctorOptions {
        huge_fallback: true,
        ..DoctorOptions::default()
    };
    let p = predict("no-hugepages", &fallback);
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Va, false), "{p:#?}");
    assert!(says(&p.reasons, "it starts EAL with --no-huge"), "{p:#?}");
    // With free hugepages it keeps them.
    let p = predict("this-vm", &fallback);
    assert_eq!(p.predicted, IovaMode::Pa, "{p:#?}");
    assert!(!says(&p.reasons, "it starts EAL with --no-huge"), "{p:#?}");
}

#[test]
fn a_narrow_iommu_is_only_a_warning_with_vdevs() {
    let p = predict("narrow-iommu", &DoctorOptions::default());
    assert_eq!(p.predicted, IovaMode::Va);
    assert!(says(&p.warnings, "address width is 39 bits"), "{p:#?}");
    assert!(says(&p.warnings, "With vdevs only"), "{p:#?}");
    assert_eq!(p.dma_mask_bits, None, "no PCI device, no DMA mask");
}

/// `rte_kni` loaded on a root machine with an IOMMU: scratch copy of `iommu-vfio`.
fn kni_loaded() -> Scratch {
    let scratch = Scratch::copy_of("iommu-vfio");
    std::fs::create_dir_all(scratch.path().join("sys/module/rte_kni")).unwrap();
    scratch
}

#[test]
fn kni_prefers_pa_only_in_a_build_with_kni() {
    let scratch = kni_loaded();
    let probe = Probe::read(scratch.path()).unwrap();
    let opts = DoctorOptions::default();
    // The linked build (Debian's 22.11) has no RTE_LIB_KNI: the loaded module changes nothing.
    let linked = predict_iova_with(
        &probe,
        &opts,
        &DpdkBuild {
            kni: false,
            ..DpdkBuild::LINKED
        },
    );
    assert_eq!(linked.predicted, IovaMode::Va, "{linked:#?}");
    assert!(
        says(&linked.reasons, "built without KNI (RTE_LIB_KNI)"),
        "{linked:#?}"
    );
    let with_kni = predict_iova_with(
        &probe,
        &opts,
        &DpdkBuild {
            kni: true,
            ..DpdkBuild::LINKED
        },
    );
    assert_eq!(with_kni.predicted, IovaMode::Pa, "{with_kni:#?}");
    assert!(
        says(&with_kni.reasons, "selects IOVA as PA for KNI"),
        "{with_kni:#?}"
    );
}

#[test]
fn the_linked_build_decides_the_kni_rule() {
    let probe = Probe::read(kni_loaded().path()).unwrap();
    let p = predict_iova(&probe, &DoctorOptions::default());
    let expected = if DpdkBuild::LINKED.kni {
        IovaMode::Pa
    } else {
        IovaMode::Va
    };
    assert_eq!(p.predicted, expected, "{:?} {p:#?}", DpdkBuild::LINKED);
}

#[test]
fn a_build_without_iova_as_pa_refuses_pa() {
    let probe = Probe::read(&fixture("this-vm")).unwrap();
    let build = DpdkBuild {
        iova_as_pa: false,
        ..DpdkBuild::LINKED
    };
    let p = predict_iova_with(&probe, &DoctorOptions::default(), &build);
    assert_eq!((p.predicted, p.eal_fails), (IovaMode::Pa, true), "{p:#?}");
    assert!(
        says(
            &p.warnings,
            "Cannot use IOVA as 'PA' as it is disabled during build"
        ),
        "{p:#?}"
    );
    assert!(
        !predict_iova(&probe, &DoctorOptions::default()).eal_fails || !DpdkBuild::LINKED.iova_as_pa
    );
}
