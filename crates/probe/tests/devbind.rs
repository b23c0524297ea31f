//! devbind on copies of the fixture trees: the writes a plan makes, the refusals, and `apply`
//! writing exactly the plan and nothing outside the root.

mod common;

use std::fs;
use std::io;
use std::path::PathBuf;

use common::{fixture, snapshot, Scratch};
use probe::{apply, plan_bind, plan_unbind, status, Probe, Refusal, Write};

fn probe(root: &std::path::Path) -> Probe {
    Probe::read(root).unwrap()
}

fn write(path: PathBuf, value: &str) -> Write {
    Write {
        path,
        value: value.to_owned(),
    }
}

#[test]
fn binding_a_kernel_nic_overrides_unbinds_and_probes() {
    let root = fixture("iommu-vfio");
    let p = probe(&root);
    let dev = root.join("sys/bus/pci/devices/0000:3b:00.1");
    let expected = vec![
        write(dev.join("driver_override"), "vfio-pci"),
        write(dev.join("driver/unbind"), "0000:3b:00.1"),
        write(root.join("sys/bus/pci/drivers_probe"), "0000:3b:00.1"),
    ];
    assert_eq!(
        plan_bind(&root, "vfio-pci", &["0000:3b:00.1"], &p),
        Ok(expected.clone())
    );
    // The short form means domain 0000.
    assert_eq!(plan_bind(&root, "vfio-pci", &["3b:00.1"], &p), Ok(expected));
}

#[test]
fn a_device_already_bound_needs_no_write() {
    let root = fixture("iommu-vfio");
    assert_eq!(
        plan_bind(&root, "vfio-pci", &["0000:3b:00.0"], &probe(&root)),
        Ok(vec![])
    );
}

#[test]
fn an_unbound_device_is_only_overridden_and_probed() {
    let root = fixture("vm-virtio");
    let p = probe(&root);
    // vfio-pci is refused there (no IOMMU, no-IOMMU mode off), but a registered driver is fine.
    let dev = root.join("sys/bus/pci/devices/0000:00:05.0");
    assert_eq!(
        plan_bind(&root, "virtio-pci", &["0000:00:05.0"], &p),
        Ok(vec![
            write(dev.join("driver_override"), "virtio-pci"),
            write(root.join("sys/bus/pci/drivers_probe"), "0000:00:05.0"),
        ])
    );
    assert_eq!(
        plan_bind(&root, "vfio-pci", &["0000:00:05.0"], &p),
        Err(Refusal::NoIommu {
            pci: "0000:00:05.0".into()
        })
    );
}

#[test]
fn back_to_a_kernel_driver_is_allowed() {
    let root = fixture("iommu-vfio");
    let writes = plan_bind(&root, "ixgbe", &["0000:3b:00.0"], &probe(&root)).unwrap();
    let values: Vec<&str> = writes.iter().map(|w| w.value.as_str()).collect();
    assert_eq!(values, ["ixgbe", "0000:3b:00.0", "0000:3b:00.0"]);
}

#[test]
fn the_active_interface_is_refused_with_what_to_do() {
    let root = fixture("iommu-vfio");
    let p = probe(&root);
    let refusal = plan_bind(&root, "vfio-pci", &["0000:00:1f.6"], &p).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::ActiveInterface {
            pci: "0000:00:1f.6".into(),
            interface: "eno1".into()
        }
    );
    let message = refusal.to_string();
    assert!(message.contains("active interface eno1"), "{message}");
    assert!(
        message.contains("bring it down first (ip link set eno1 down)"),
        "{message}"
    );
    // Unbinding it would take it from the kernel just the same.
    assert!(matches!(
        plan_unbind(&root, &["0000:00:1f.6"], &p),
        Err(Refusal::ActiveInterface { .. })
    ));
    // An interface active through IPv6 alone counts too.
    let root = fixture("active-kernel-nic");
    assert!(matches!(
        plan_bind(&root, "e1000e", &["0000:00:1f.6"], &probe(&root)),
        Err(Refusal::ActiveInterface { .. })
    ));
}

#[test]
fn a_group_that_would_not_be_viable_is_refused_naming_the_members() {
    let root = fixture("iommu-group-not-viable");
    let p = probe(&root);
    let refusal = plan_bind(&root, "vfio-pci", &["0000:02:00.0"], &p).unwrap_err();
    let Refusal::GroupNotViable {
        pci,
        group,
        members,
    } = &refusal
    else {
        panic!("expected GroupNotViable, got {refusal:?}");
    };
    assert_eq!((pci.as_str(), *group), ("0000:02:00.0", 2));
    // The bridge in the group does not count; the sibling on igb does.
    let named: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.pci.as_str(), m.driver.as_str()))
        .collect();
    assert_eq!(named, [("0000:02:00.1", "igb")]);
    let message = refusal.to_string();
    assert!(message.contains("0000:02:00.1 (igb)"), "{message}");
    assert!(message.contains("in the same command"), "{message}");
    // Both ports together make the group viable.
    let writes = plan_bind(&root, "vfio-pci", &["0000:02:00.0", "0000:02:00.1"], &p).unwrap();
    assert_eq!(writes.len(), 6);
    // A group holding the active interface can never be taken.
    let refusal = plan_bind(&root, "vfio-pci", &["0000:05:00.1"], &p).unwrap_err();
    assert!(
        refusal
            .to_string()
            .contains("0000:05:00.0 (tg3, active interface eno1)"),
        "{refusal}"
    );
}

#[test]
fn bad_addresses_are_refused() {
    let root = fixture("iommu-vfio");
    let p = probe(&root);
    for bad in ["0000:3b:00.1x", "3B:00.1", "", "0000:3b:00.8", "../../etc"] {
        let refusal = plan_bind(&root, "vfio-pci", &[bad], &p).unwrap_err();
        assert_eq!(refusal, Refusal::BadAddress { input: bad.into() });
        assert!(refusal.to_string().contains("dddd:bb:dd.f"), "{refusal}");
    }
    assert_eq!(
        plan_bind(&root, "vfio-pci", &["0000:99:00.0"], &p),
        Err(Refusal::NoSuchDevice {
            pci: "0000:99:00.0".into()
        })
    );
}

#[test]
fn drivers_must_be_known_and_loaded() {
    let root = fixture("iommu-vfio");
    let p = probe(&root);
    let refusal = plan_bind(&root, "uio_pci_generic", &["0000:3b:00.1"], &p).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::DriverNotLoaded {
            driver: "uio_pci_generic".into()
        }
    );
    assert!(
        refusal.to_string().contains("modprobe uio_pci_generic"),
        "{refusal}"
    );
    let refusal = plan_bind(&root, "igb_uio", &["0000:3b:00.1"], &p).unwrap_err();
    assert!(refusal.to_string().contains("dpdk-kmods"), "{refusal}");
    let refusal = plan_bind(&root, "../../../tmp/x", &["0000:3b:00.1"], &p).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::UnknownDriver {
            driver: "../../../tmp/x".into()
        }
    );
    assert!(
        refusal.to_string().contains("/sys/bus/pci/drivers"),
        "{refusal}"
    );
}

#[test]
fn apply_writes_exactly_the_planned_files() {
    let copy = Scratch::copy_of("iommu-vfio");
    let root = copy.path();
    let writes = plan_bind(root, "vfio-pci", &["0000:3b:00.1"], &probe(root)).unwrap();
    let before = snapshot(root);
    apply(root, &writes).unwrap();
    let after = snapshot(root);
    let changed: Vec<(String, String)> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(_, (path, content))| {
            (
                path.strip_prefix(root).unwrap().display().to_string(),
                content.clone(),
            )
        })
        .collect();
    assert_eq!(before.len(), after.len(), "apply created or removed files");
    assert_eq!(
        changed,
        [
            (
                "sys/bus/pci/devices/0000:3b:00.1/driver_override".to_owned(),
                "vfio-pci".to_owned()
            ),
            (
                "sys/bus/pci/drivers/ixgbe/unbind".to_owned(),
                "0000:3b:00.1".to_owned()
            ),
            (
                "sys/bus/pci/drivers_probe".to_owned(),
                "0000:3b:00.1".to_owned()
            ),
        ]
    );
    // The override is now set, so unbinding clears it too.
    let unbind = plan_unbind(root, &["0000:3b:00.1"], &probe(root)).unwrap();
    let dev = root.join("sys/bus/pci/devices/0000:3b:00.1");
    assert_eq!(
        unbind,
        [
            write(dev.join("driver/unbind"), "0000:3b:00.1"),
            write(dev.join("driver_override"), "\n")
        ]
    );
}

#[test]
fn apply_refuses_paths_outside_the_root_and_writes_nothing() {
    let copy = Scratch::copy_of("iommu-vfio");
    let outside = Scratch::new("outside");
    let root = copy.path();
    let target = outside.path().join("victim");
    fs::write(&target, "untouched").unwrap();
    let link = root.join("sys/bus/pci/devices/0000:3b:00.1/evil");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let good = write(root.join("sys/bus/pci/drivers_probe"), "0000:3b:00.1");
    let before = snapshot(root);
    for bad in [
        link.clone(),
        root.join("..")
            .join(outside.path().file_name().unwrap())
            .join("victim"),
    ] {
        let err = apply(root, &[good.clone(), write(bad, "0000:3b:00.1")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("outside"), "{err}");
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    assert_eq!(
        snapshot(root),
        before,
        "a refused plan must write nothing, not even its good writes"
    );
    // Files are never created.
    let err = apply(root, &[write(root.join("sys/bus/pci/new_file"), "x")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(!root.join("sys/bus/pci/new_file").exists());
}

#[test]
fn status_lists_network_devices_and_their_drivers() {
    let root = fixture("iommu-vfio");
    let rows = status(&probe(&root));
    let summary: Vec<(&str, Option<&str>, bool, bool)> = rows
        .iter()
        .map(|r| (r.pci.as_str(), r.driver.as_deref(), r.dpdk, r.active))
        .collect();
    assert_eq!(
        summary,
        [
            ("0000:00:1f.6", Some("e1000e"), false, true),
            ("0000:3b:00.0", Some("vfio-pci"), true, false),
            ("0000:3b:00.1", Some("ixgbe"), false, false),
        ]
    );
}
