//! The command lines [`EalArgs`] makes.

use super::*;

fn args() -> EalArgs {
    EalArgs {
        file_prefix: "fp-test".into(),
        main_lcore: 0,
        workers: vec![1],
        cpus: vec![],
        memory: EalMemory::NoHuge { megabytes: 256 },
        iova_mode: None,
        vdevs: vec!["net_null0".into(), "net_null1".into()],
        pci_allow: vec![],
        log_level: None,
        log_to_stderr: false,
        extra: vec![],
        secondary_processes: false,
    }
}

#[test]
fn no_huge_argv_never_probes_pci() {
    let argv = args().to_argv().join(" ");
    assert_eq!(
        argv,
        "fastpath -l 0,1 --main-lcore 0 --file-prefix fp-test -m 256 --no-huge --no-shconf \
         --vdev net_null0 --vdev net_null1 --no-pci"
    );
}

#[test]
fn named_pci_devices_replace_no_pci() {
    let mut a = args();
    a.memory = EalMemory::Hugepages {
        socket_mb: vec![24, 0],
    };
    a.pci_allow = vec!["0000:03:00.0".into()];
    a.iova_mode = Some(IovaMode::Va);
    a.workers = vec![2, 3];
    let argv = a.to_argv();
    assert!(!argv.contains(&"--no-pci".to_owned()));
    assert!(!argv.contains(&"--no-huge".to_owned()));
    let joined = argv.join(" ");
    assert!(joined.contains("-l 0,2,3 "), "{joined}");
    assert!(joined.contains("--iova-mode va"), "{joined}");
    assert!(joined.contains("-a 0000:03:00.0"), "{joined}");
    assert!(joined.contains("--socket-mem 24,0"), "{joined}");
    assert!(
        argv.contains(&"--huge-unlink=always".to_owned()),
        "{joined}"
    );
}

#[test]
fn serving_secondaries_keeps_hugepage_files_linked() {
    let mut a = args();
    a.memory = EalMemory::Hugepages { socket_mb: vec![] };
    a.secondary_processes = true;
    let argv = a.to_argv().join(" ");
    assert_eq!(
        argv,
        "fastpath -l 0,1 --main-lcore 0 --file-prefix fp-test --vdev net_null0 --vdev net_null1 --no-pci"
    );
}
