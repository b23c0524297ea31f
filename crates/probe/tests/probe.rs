//! Reading odd trees: missing means absent, garbled means an error naming the file.

mod common;

use std::fs;

use common::Scratch;
use probe::{doctor, DoctorOptions, Probe};

#[test]
fn an_empty_root_is_a_machine_with_nothing() {
    let empty = Scratch::new("empty");
    let p = Probe::read(empty.path()).unwrap();
    assert!(p.devices.is_empty() && p.iommu.groups.is_empty() && p.hugepage_stats.is_empty());
    assert_eq!(
        p.privileges.uid, None,
        "a missing status file is an unknown user"
    );
    assert!(!p.privileges.is_root() && !p.privileges.phys_addrs());
    let report = doctor(empty.path(), &DoctorOptions::default()).unwrap();
    assert!(
        report.iova.eal_fails,
        "no hugepages: EAL cannot start without --no-huge"
    );
    assert!(report.to_text().contains("✗ No hugepages are reserved"));
}

#[test]
fn garbled_files_that_decide_answers_name_their_path() {
    let root = Scratch::copy_of("iommu-vfio");
    let class = root.path().join("sys/bus/pci/devices/0000:3b:00.1/class");
    fs::write(&class, "ethernet\n").unwrap();
    let err = Probe::read(root.path()).unwrap_err();
    assert!(err.to_string().contains("0000:3b:00.1/class"), "{err}");
    fs::write(&class, "0x020000\n").unwrap();

    let noiommu = root
        .path()
        .join("sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
    fs::write(&noiommu, "maybe\n").unwrap();
    let err = Probe::read(root.path()).unwrap_err();
    assert!(
        err.to_string().contains("enable_unsafe_noiommu_mode"),
        "{err}"
    );
    fs::write(&noiommu, "1\n").unwrap();
    assert!(
        Probe::read(root.path()).unwrap().modules.vfio_noiommu,
        "1 means on, as Y does"
    );

    let nr = root
        .path()
        .join("sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages");
    fs::write(&nr, "lots\n").unwrap();
    let err = Probe::read(root.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("node1/hugepages/hugepages-2048kB/nr_hugepages"),
        "{err}"
    );
}

#[test]
fn files_that_only_refine_the_picture_read_as_absent_when_garbled() {
    let root = Scratch::copy_of("iommu-vfio");
    let dev = root.path().join("sys/bus/pci/devices/0000:3b:00.1");
    fs::write(dev.join("numa_node"), "north\n").unwrap();
    fs::write(
        root.path().join("sys/class/iommu/dmar0/intel-iommu/cap"),
        "zz\n",
    )
    .unwrap();
    let p = Probe::read(root.path()).unwrap();
    assert_eq!(p.device("0000:3b:00.1").unwrap().numa_node, None);
    assert_eq!(p.iommu.address_width(), None);
}

#[test]
fn virtio_interfaces_are_found_under_the_virtio_child() {
    let p = Probe::read(&common::fixture("this-vm")).unwrap();
    let nic = p.device("0000:00:03.0").unwrap();
    assert_eq!(nic.interfaces.len(), 1);
    assert_eq!(nic.interfaces[0].name, "eth0");
    assert!(nic.interfaces[0].has_route && nic.interfaces[0].has_global_ipv6);
    assert_eq!(
        p.network_devices().count(),
        1,
        "block, balloon, vsock and rng are not NICs"
    );
}
