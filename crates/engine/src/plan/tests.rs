//! The planner, checked without EAL: the machine's rules (CPUs, hugepages) with exact error
//! messages, the memory arithmetic, and the queue and lcore layouts. The config's own rules
//! are `validate`'s (and its tests'); a config with problems is refused before planning.

use super::memory::PCI_DESCRIPTOR_BYTES;
use super::*;
use crate::config::PortConfig;
use crate::config::{
    EalConfig, EmptySource, LcoreConfig, MemoryConfig, NullSource, PipelineConfig, QueueRef,
    WorkerConfig,
};
use crate::error::ErrorCode;
use dpdk::EalMemory;
use probe::{HugepagePool, HugetlbfsMount, NumaNode};

fn null(name: &str, queues: u16) -> PortConfig {
    PortConfig {
        name: name.into(),
        vdev: None,
        pci: None,
        pcap: None,
        af_packet: None,
        tap: None,
        ring: None,
        null: Some(NullSource { size: None }),
        memif: None,
        vhost: None,
        virtio_user: None,
        af_xdp: None,
        queues,
        rx_descriptors: 1024,
        tx_descriptors: 1024,
        promiscuous: true,
        mtu: None,
        mac: None,
    }
}

fn pipe(input: &[&str], output: &[&str]) -> PipelineConfig {
    PipelineConfig {
        name: None,
        input: input.iter().copied().collect(),
        generator: None,
        stages: vec![],
        output: output.iter().copied().collect(),
    }
}

fn worker(lcore: u32) -> WorkerConfig {
    WorkerConfig::on(lcore)
}

fn config(workers: Vec<WorkerConfig>, hugepages: Option<bool>) -> EngineConfig {
    EngineConfig {
        ports: vec![null("a", 1), null("b", 1)],
        lcores: LcoreConfig {
            main: None,
            main_cpu: None,
            workers,
            share_cpus: false,
        },
        memory: MemoryConfig {
            hugepages,
            ..MemoryConfig::default()
        },
        eal: EalConfig::default(),
        pipelines: vec![pipe(&["a"], &["b"]), pipe(&["b"], &["a"])],
        stats: crate::config::StatsConfig::default(),
    }
}

fn huge(free: u64) -> Hugepages {
    Hugepages {
        pools: vec![HugepagePool {
            size_kb: 2048,
            total: 512,
            free,
        }],
        mounts: vec![HugetlbfsMount {
            path: "/dev/hugepages".into(),
            page_size_kb: None,
        }],
        unwritable: Vec::new(),
        nodes: Vec::new(),
    }
}

#[test]
fn hugepages_this_user_cannot_write_are_not_used_and_refused_with_a_permission_code() {
    // What `writable_only` leaves for an unprivileged user and a root-owned mount.
    let mut hugepages = huge(512);
    hugepages.unwritable = std::mem::take(&mut hugepages.mounts)
        .into_iter()
        .map(|m| m.path)
        .collect();
    let cpus = [0, 1];
    let plan = Plan::new(&config(vec![worker(1)], None), &cpus, &hugepages).unwrap();
    assert!(!plan.hugepages);
    assert_eq!(
        plan.hugepages_note.as_deref(),
        Some("/dev/hugepages is not writable by this user: run as root, give this user the mount (mount -t hugetlbfs -o uid=UID,gid=GID nodev DIR), or run without hugepages (memory.hugepages: false, --no-huge)")
    );
    let e = Plan::new(&config(vec![worker(1)], Some(true)), &cpus, &hugepages).unwrap_err();
    assert_eq!(e.code, ErrorCode::Permission);
    assert!(e.message.starts_with("hugepages were required (memory.hugepages: true) but /dev/hugepages is not writable by this user"), "{e}");
}

#[test]
fn sources_become_vdev_specs_named_by_port_index() {
    let rx = std::env::temp_dir().join(format!("fastpath-plan-{}.pcap", std::process::id()));
    std::fs::write(&rx, b"").unwrap();
    let rx = rx.display().to_string();
    let mut c = config(vec![worker(1)], Some(false));
    c.ports[0].null = None;
    c.ports[0].pcap = Some(crate::config::PcapSource {
        rx: Some(rx.clone()),
        tx: None,
        infinite_rx: true,
    });
    c.ports[1].null = None;
    c.ports[1].ring = Some(EmptySource {});
    let plan = Plan::new(&c, &[0, 1], &huge(0)).unwrap();
    assert_eq!(
        plan.eal.vdevs,
        [
            format!("net_pcap0,rx_pcap={rx},infinite_rx=1"),
            "net_ring1".into()
        ]
    );
    assert_eq!(plan.ports[0].device, "net_pcap0");
    assert!(plan.eal.to_argv().contains(&"--no-pci".to_owned()));

    // A missing rx file is refused before EAL, which would create or empty the tx file.
    std::fs::remove_file(&rx).unwrap();
    let e = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert!(
        e.message.starts_with(&format!(
            "ports.a.pcap.rx: cannot read {rx:?} (No such file"
        )),
        "{e}"
    );
}

#[test]
fn one_worker_polls_every_input_queue() {
    let plan = Plan::new(&config(vec![worker(1)], None), &[0, 1], &huge(512)).unwrap();
    assert_eq!(plan.eal.main_lcore, 0);
    assert_eq!(
        plan.workers,
        vec![WorkerPlan {
            lcore: 1,
            cpu: 1,
            rx: vec![(0, 0), (1, 0)]
        }]
    );
    assert!(plan.hugepages);
    // EAL is given the planned heap up front, in whole 2 MiB pages.
    let m = &plan.memory;
    assert_eq!(
        plan.eal.memory,
        EalMemory::Hugepages {
            socket_mb: vec![(m.heap_pages * 2) as u32]
        }
    );
    assert!(m.heap_pages * m.page_size >= m.heap_bytes);
    assert!(m.heap_pages * m.page_size - m.heap_bytes < m.page_size);
}

#[test]
fn the_memory_plan_counts_the_pool_page_by_page_and_pci_rings() {
    let c = config(vec![worker(1)], None);
    let plan = Plan::new(&c, &[0, 1], &huge(512)).unwrap();
    let m = &plan.memory;
    assert_eq!(m.page_size, 2 << 20);
    assert_eq!(
        m.heap_bytes,
        m.mempool_bytes + m.port_bytes + m.eal_bytes + m.table_bytes
    );
    assert_eq!(m.pages, m.heap_pages + m.stats_pages);
    assert!(
        m.stats_pages >= 1,
        "the stats segment takes hugepages of its own"
    );
    // 8191 mbufs of ~2.3 KiB: about 18.5 MiB of objects, page-packed.
    assert!((19 << 20..22 << 20).contains(&m.mempool_bytes), "{m:?}");
    // Without hugepages, 4 KiB pages hold one mbuf each: a bigger pool.
    let small = memory_plan(&c, &plan.ports, 1, 4096);
    assert!(small.mempool_bytes > 8191 * 4096, "{small:?}");
    assert_eq!(small.stats_pages, 0);
    // A PCI port's descriptor rings count; a vdev's do not.
    let mut ports = plan.ports.clone();
    ports[0].spec = PortSpec::Pci("0000:03:00.0".into());
    let with_pci = memory_plan(&c, &ports, 1, 2 << 20);
    assert_eq!(
        with_pci.port_bytes - m.port_bytes,
        (1024 + 1024) * PCI_DESCRIPTOR_BYTES
    );
}

#[test]
fn auto_workers_share_queues_round_robin_and_lcores_may_share_a_cpu() {
    let mut c = config(
        vec![
            worker(1),
            WorkerConfig {
                cpu: Some(1),
                ..worker(2)
            },
        ],
        Some(false),
    );
    c.ports[0].queues = 2;
    c.memory.mbufs = 16383;
    let plan = Plan::new(&c, &[0, 1], &huge(0)).unwrap();
    assert_eq!(plan.workers[0].rx, vec![(0, 0), (1, 0)]);
    assert_eq!(plan.workers[1].rx, vec![(0, 1)]);
    assert!(plan
        .eal
        .to_argv()
        .join(" ")
        .contains("--lcores 0@0,1@1,2@1"));
}

#[test]
fn a_config_with_problems_is_refused_before_planning_with_all_of_them() {
    let mut c = config(vec![], None);
    c.pipelines[1].output = ["c"].into_iter().collect();
    let err = Plan::new(&c, &[0, 1], &huge(512)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Config);
    assert_eq!(
        err.message,
        "lcores.workers: no worker lcores: the poll loops need at least one, e.g. workers: [1]; \
         pipelines[1].output[0]: \"c\" is not a port (ports: a, b)"
    );
}

#[test]
fn foreign_cpus_are_refused_with_the_fix() {
    let err = Plan::new(&config(vec![worker(7)], None), &[0, 1], &huge(512)).unwrap_err();
    assert_eq!(
        err.message,
        "lcores.workers[0]: CPU 7 is not one this process may run on (allowed: 0-1)"
    );
}

#[test]
fn hugepages_required_but_missing_fail_with_their_code_and_optional_ones_fall_back() {
    let err = Plan::new(&config(vec![worker(1)], Some(true)), &[0, 1], &huge(0)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NoHugepages);
    assert!(
        err.message.contains("memory.hugepages to false"),
        "{}",
        err.message
    );
    let plan = Plan::new(
        &config(vec![worker(1)], None),
        &[0, 1],
        &Hugepages::default(),
    )
    .unwrap();
    assert!(!plan.hugepages);
    assert!(plan
        .hugepages_note
        .unwrap()
        .contains("no hugepages are reserved"));
    // Without hugepages every mbuf takes a 4 KiB page: -m covers 8191 of them and more.
    assert!(
        matches!(plan.eal.memory, EalMemory::NoHuge { megabytes } if u64::from(megabytes) << 20 > plan.memory.heap_bytes),
        "{:?}",
        plan.eal.memory
    );
    assert!(plan.memory.heap_bytes > 8191 * 4096);
}

#[test]
fn the_automatic_main_lcore_comes_from_the_allowed_cpus() {
    let plan = Plan::new(&config(vec![worker(3)], Some(false)), &[2, 3], &huge(0)).unwrap();
    assert_eq!((plan.eal.main_lcore, plan.workers[0].lcore), (2, 3));
    // When every allowed CPU is a worker's lcore, the main lcore it falls back to clashes.
    let c = config(vec![worker(0), worker(1)], Some(false));
    let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
    assert_eq!(
        err.message,
        "lcores.workers[0]: lcore 0 is the main lcore; workers need lcores of their own"
    );
}

#[test]
fn listed_queues_keep_their_owner_and_the_rest_go_round_robin() {
    let mut c = config(
        vec![
            WorkerConfig {
                rx: Some(vec![QueueRef {
                    port: "b".into(),
                    queue: 0,
                }]),
                ..worker(1)
            },
            WorkerConfig {
                cpu: Some(1),
                ..worker(2)
            },
        ],
        Some(false),
    );
    c.ports[0].queues = 2;
    c.memory.mbufs = 16383;
    let plan = Plan::new(&c, &[0, 1], &huge(0)).unwrap();
    assert_eq!(plan.workers[0].rx, vec![(1, 0)]);
    assert_eq!(plan.workers[1].rx, vec![(0, 0), (0, 1)]);
    assert_eq!(plan.owner(1, 0), Some(0));
}

#[test]
fn cpu_lists_are_compact() {
    assert_eq!(cpu_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    assert_eq!(cpu_list(&[3]), "3");
}

#[test]
fn hugepages_are_counted_and_asked_for_on_the_main_lcores_numa_node() {
    // Two nodes: CPUs 0-1 on node 0 with every free page, CPUs 2-3 on node 1 with `free1`.
    let two_nodes = |free1: u64| Hugepages {
        nodes: vec![
            NumaNode {
                id: 0,
                cpus: vec![0, 1],
                pools: huge(512).pools,
            },
            NumaNode {
                id: 1,
                cpus: vec![2, 3],
                pools: huge(free1).pools,
            },
        ],
        ..huge(512 + free1)
    };
    let cpus = [0, 1, 2, 3];
    let mut c = config(vec![worker(3)], None);
    c.lcores.main = Some(2);
    // The machine has 512 pages free, but none on the main lcore's node.
    let plan = Plan::new(&c, &cpus, &two_nodes(0)).unwrap();
    assert!(!plan.hugepages);
    let note = plan.hugepages_note.as_deref().unwrap();
    assert!(
        note.starts_with("0 MiB of hugepages are free on NUMA node 1 but"),
        "{note}"
    );
    assert_eq!(plan.hugepage_shortfall.as_ref().unwrap().free_pages, 0);
    // With pages there, EAL is given them on node 1 and nothing on node 0.
    let plan = Plan::new(&c, &cpus, &two_nodes(512)).unwrap();
    let mb = (plan.memory.heap_pages * 2) as u32;
    assert_eq!(
        plan.eal.memory,
        EalMemory::Hugepages {
            socket_mb: vec![0, mb]
        }
    );
    // The main lcore on node 0: as on a machine of one node.
    c.lcores.main = Some(0);
    let plan = Plan::new(&c, &cpus, &two_nodes(0)).unwrap();
    assert_eq!(
        plan.eal.memory,
        EalMemory::Hugepages {
            socket_mb: vec![mb]
        }
    );
}

#[test]
fn a_virtio_user_port_runs_without_hugepages_and_waits_for_its_backend() {
    let dir = std::env::temp_dir().join(format!("fastpath-plan-vu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vhost.sock");
    let mut c = config(vec![worker(1)], None);
    c.ports[0] = PortConfig {
        null: None,
        virtio_user: Some(crate::config::VirtioUserSource {
            path: path.to_str().unwrap().into(),
            server: false,
        }),
        ..null("a", 1)
    };
    // No backend listening yet: refused before EAL, at the field.
    let e = Plan::new(&c, &[0, 1], &huge(512)).unwrap_err();
    assert!(
        e.message
            .starts_with("ports.a.virtioUser.path: nothing listens on"),
        "{e}"
    );
    let backend = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let plan = Plan::new(&c, &[0, 1], &huge(512)).unwrap();
    assert!(!plan.hugepages);
    assert!(plan.hugepages_note.unwrap().contains("(virtioUser)"));
    assert!(plan.hugepage_shortfall.is_none());
    c.memory.hugepages = Some(true);
    let e = Plan::new(&c, &[0, 1], &huge(512)).unwrap_err();
    assert!(
        e.message.contains(
            "memory.hugepages: port \"a\" (virtioUser) cannot run on the engine's hugepages"
        ),
        "{e}"
    );
    drop(backend);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serving_secondary_processes_keeps_hugepage_files_and_needs_hugepages() {
    let mut c = config(vec![worker(1)], None);
    c.eal.secondary_processes = true;
    let plan = Plan::new(&c, &[0, 1], &huge(512)).unwrap();
    assert!(plan.eal.secondary_processes);
    assert!(!plan
        .eal
        .to_argv()
        .contains(&"--huge-unlink=always".to_owned()));
    // No free hugepages: the engine would fall back to --no-huge --no-shconf, which no
    // secondary process can attach to.
    let err = Plan::new(&c, &[0, 1], &huge(0)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Config);
    assert_eq!(
        err.message,
        "eal.secondaryProcesses: DPDK secondary processes (dpdk-dumpcap, dpdk-proc-info) share \
         the engine's hugepages, and this engine runs without them (--no-huge --no-shconf); set \
         memory.hugepages to true, or leave secondaryProcesses off and capture with `fastpath capture`"
    );
}
