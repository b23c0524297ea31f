//! Bringing the engine's machinery up, in call order: the CPUs it may use, the stats segment
//! (before EAL, so that a name clash costs nothing), EAL's errors turned into advice, then the
//! packet pool and the ports on the main lcore.
//!
//! Also the two entry points that plan without starting anything ([`check`],
//! [`plan_config`]): they read the machine the same way a start does.

use dpdk::{lcore, Mempool, Port, PortConfig as DpdkPortConfig};

use crate::config::EngineConfig;
use crate::error::{EngineError, ErrorCode};
use crate::net;
use crate::plan::{senders, too_many_rx_queues, Plan, PortSpec};
use crate::report::PortSummary;
use crate::validate;

/// The CPUs this process may run on (its affinity mask), ascending.
pub(crate) fn allowed_cpus() -> Result<Vec<u32>, EngineError> {
    // SAFETY: cpu_set_t is plain data; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid out-pointer of the size passed; pid 0 means the calling thread.
    let ret =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if ret != 0 {
        return Err(EngineError::new(
            ErrorCode::Internal,
            format!(
                "sched_getaffinity failed: {}",
                std::io::Error::last_os_error()
            ),
        ));
    }
    Ok((0..libc::CPU_SETSIZE as u32)
        // SAFETY: `set` is initialised and the index is below CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu as usize, &set) })
        .collect())
}

/// Pins the calling thread to `cpu` (best effort: on failure it keeps its affinity).
pub(crate) fn pin_to(cpu: u32) {
    // SAFETY: cpu_set_t is plain data; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if (cpu as usize) < libc::CPU_SETSIZE as usize {
        // SAFETY: `set` is initialised and the index is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu as usize, &mut set) };
        // SAFETY: pid 0 is the calling thread; `set` is a valid mask of the size passed.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
}

/// Where stats segments live: every hugetlbfs mount, then /dev/shm.
pub fn stats_dirs() -> Vec<std::path::PathBuf> {
    let hugepages = probe::Hugepages::read(std::path::Path::new("/")).unwrap_or_default();
    hugepages
        .mounts
        .into_iter()
        .map(|m| m.path)
        .chain([std::path::PathBuf::from("/dev/shm")])
        .collect()
}

/// Creates the stats segment: in hugetlbfs when the engine uses hugepages and one is
/// mounted, else in /dev/shm. Refuses a name a live engine uses, or whose segment another
/// user keeps unreadable (naming that user); a dead engine's of that name was reclaimed
/// before ([`crate::reclaim`]), or is replaced. Also returns a note on an EAL runtime
/// directory of that name that is not known to be Fastpath's.
pub(crate) fn create_segment(
    plan: &Plan,
    hugepages: &probe::Hugepages,
    config: &crate::config::StatsConfig,
) -> Result<(stats::Segment, Vec<String>), EngineError> {
    let name = plan.eal.file_prefix.clone();
    let running = |pid: u32| {
        EngineError::config(
            "eal.filePrefix",
            format!("an engine named {name:?} is running (pid {pid}); give this one another eal.filePrefix"),
        )
    };
    for dir in stats_dirs() {
        let path = dir.join(stats::file_name(&name));
        if let Ok(existing) = stats::Reader::open(&path) {
            if existing.alive().unwrap_or(false) {
                return Err(running(existing.pid().unwrap_or(0)));
            }
        } else if let Err(e) = std::fs::File::open(&path) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                let owner =
                    crate::reclaim::owner_of(&path).unwrap_or_else(|| "another user".into());
                return Err(EngineError::config(
                    "eal.filePrefix",
                    format!(
                        "the stats segment {} of an engine named {name:?} is {owner}'s, and this user may not read it: it cannot tell whether that engine runs, nor replace its segment. \
                         Give this engine another eal.filePrefix, or have {owner} stop that engine (if it is dead, `fastpath clean` as {owner} removes its segment)",
                        path.display()
                    ),
                ));
            }
        }
    }
    let mut notes = Vec::new();
    let runtime = eal_runtime_dir(&name);
    if runtime.exists() {
        notes.push(format!(
            "found {}, which is not known to be a Fastpath engine's; EAL takes it over and it is removed at stop",
            runtime.display()
        ));
    }
    let (dir, page) = match hugepages.mounts.first().filter(|_| plan.hugepages) {
        Some(m) => (
            m.path.clone(),
            m.page_size_kb.unwrap_or(2048) as usize * 1024,
        ),
        None => (std::path::PathBuf::from("/dev/shm"), 4096),
    };
    let spec = stats::SegmentSpec {
        name: name.clone(),
        ports: plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i as u16))
            .collect(),
        lcores: plan.workers.iter().map(|w| (w.lcore, w.cpu)).collect(),
        rx_owners: plan
            .ports
            .iter()
            .enumerate()
            .map(|(p, pp)| (0..pp.rx_queues).map(|q| plan.owner(p, q)).collect())
            .collect(),
        counting: config.counters,
        extra: test_counter().into_iter().collect(),
    };
    let segment = stats::Segment::create(&dir, page, &spec).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            // Started between the check above and now.
            let pid = stats::Reader::open(&dir.join(stats::file_name(&spec.name)))
                .and_then(|r| r.pid())
                .unwrap_or(0);
            running(pid)
        } else if e.kind() == std::io::ErrorKind::PermissionDenied {
            EngineError::new(
                ErrorCode::Permission,
                format!(
                    "could not create the stats segment in {}: {e}; run as a user that may write there, or without hugepages (memory.hugepages: false: the segment then lives in /dev/shm)",
                    dir.display()
                ),
            )
        } else {
            EngineError::new(
                ErrorCode::Internal,
                format!(
                    "could not create the stats segment in {}: {e}",
                    dir.display()
                ),
            )
        }
    })?;
    if let Some(group) = &config.group {
        set_group(segment.path(), group)?;
    }
    Ok((segment, notes))
}

/// Claims EAL's runtime directory (its locked marker says: a live Fastpath engine's) and
/// starts EAL in it. The claim is to be kept until EAL has cleaned up.
pub(crate) fn start_eal(plan: &Plan) -> Result<(dpdk::Eal, std::fs::File), EngineError> {
    let runtime_dir = eal_runtime_dir(&plan.eal.file_prefix);
    let claim = crate::reclaim::claim_runtime_dir(&runtime_dir)?;
    let eal = dpdk::Eal::init(&plan.eal).map_err(|e| {
        // EAL may fail before it knows its directory: this engine made it, so it goes.
        crate::reclaim::release_runtime_dir(&runtime_dir, &claim);
        if plan.eal.secondary_processes {
            crate::reclaim::remove_own_page_files(&plan.eal.file_prefix);
        }
        eal_init_error(&e, plan)
    })?;
    Ok((eal, claim))
}

/// The test-only counter `FASTPATH_TEST_COUNTER` names (`port/<field>` or `lcore/<field>`):
/// a directory entry no reader knows, which the sampler bumps, so that a test can show a new
/// counter reaching every reader unchanged. Read once, at start; never set in production.
pub(crate) fn test_counter() -> Option<(String, String)> {
    let name = std::env::var("FASTPATH_TEST_COUNTER").ok()?;
    let field = name
        .strip_prefix("port/")
        .or_else(|| name.strip_prefix("lcore/"))?;
    let valid = !field.is_empty()
        && name.len() < stats::entry::NAME_LEN
        && field.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| {
        (
            name.clone(),
            "A test-only counter (FASTPATH_TEST_COUNTER).".to_owned(),
        )
    })
}

/// The runtime directory EAL keeps for file prefix `prefix` (sockets, its config): the
/// engine's, or another DPDK program's, such as testpmd's, which EAL leaves behind.
pub fn eal_runtime_dir(prefix: &str) -> std::path::PathBuf {
    eal_runtime_base().join(prefix)
}

/// Where EAL keeps its runtime directories (`<base>/<file-prefix>`), as DPDK 22.11 picks it:
/// `/var/run/dpdk` for root, else `$XDG_RUNTIME_DIR/dpdk`, else `/tmp/dpdk`.
pub(crate) fn eal_runtime_base() -> std::path::PathBuf {
    if probe::is_root() {
        return std::path::PathBuf::from("/var/run/dpdk");
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map_or_else(
            || std::path::PathBuf::from("/tmp"),
            std::path::PathBuf::from,
        )
        .join("dpdk")
}

/// Gives the stats segment to `group` (a name or a numeric id), so that its members can
/// read it (it is 0640).
fn set_group(path: &std::path::Path, group: &str) -> Result<(), EngineError> {
    // Validate found the group; it may have gone since.
    let gid = validate::group_id(group).map_err(|why| EngineError::config("stats.group", why))?;
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| EngineError::new(ErrorCode::Stats, "the segment path has a NUL byte"))?;
    // SAFETY: chown(2) on a NUL-terminated path; u32::MAX keeps the owner.
    if unsafe { libc::chown(c_path.as_ptr(), u32::MAX, gid) } != 0 {
        return Err(EngineError::new(
            ErrorCode::Stats,
            format!(
                "could not give {} to group {group}: {}; a user may only choose a group it belongs to",
                path.display(),
                std::io::Error::last_os_error()
            ),
        ));
    }
    Ok(())
}

/// Turns EAL's refusal to start into an error that says what to do.
pub(crate) fn eal_init_error(e: &dpdk::eal::EalInitError, plan: &Plan) -> EngineError {
    use dpdk::eal::EalInitError;
    match e {
        EalInitError::AlreadyUsed => EngineError::new(
            ErrorCode::EalAlready,
            "DPDK's EAL already ran in this process and cannot start again; run each engine in its own process (e.g. child_process.fork)",
        ),
        EalInitError::Failed { error, log } => {
            let said: Vec<&str> = log
                .iter()
                .map(String::as_str)
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    ["fail", "error", "cannot", "unable", "invalid", "not ", "no "].iter().any(|w| l.contains(w))
                })
                .collect();
            let hint = match error.errno {
                libc::ENODEV => "check each --vdev spec: the driver name must be one DPDK has (net_null, net_ring, net_pcap, net_af_packet, net_tap, net_memif, ...) and its arguments valid".to_owned(),
                libc::ENOMEM => "EAL could not get its memory: reserve more hugepages, or run without them (memory.hugepages: false / --no-huge)".to_owned(),
                libc::EACCES | libc::EPERM => "EAL lacks a permission it needs: run as root, or without hugepages (--no-huge)".to_owned(),
                libc::EALREADY => "EAL was already initialised in this process; run each engine in its own process".to_owned(),
                libc::EINVAL => format!("EAL rejected its arguments ({}); check eal.extraArgs and eal.logLevel", plan.eal.to_argv().join(" ")),
                _ => "see the EAL log above for the cause".to_owned(),
            };
            let said = if said.is_empty() { String::new() } else { format!(" EAL said: {}.", said.join("; ")) };
            EngineError::new(ErrorCode::EalInit, format!("DPDK could not start ({error}).{said} To fix: {hint}."))
        }
    }
}

/// What [`set_up`] makes: the packet pool, the started ports and their summaries.
pub(crate) type SetUp = (Mempool, Vec<Port>, Vec<PortSummary>);

/// Creates the packet pool and configures and starts every port (on the main lcore, so that
/// they land on its NUMA socket).
pub(crate) fn set_up(plan: &Plan) -> Result<SetUp, EngineError> {
    let pool = Mempool::pktmbuf("fastpath_pktmbuf", plan.mbufs, plan.mbuf_cache, Mempool::DEFAULT_DATA_ROOM, lcore::socket_id())
        .map_err(|e| {
            EngineError::new(
                ErrorCode::Mempool,
                format!("could not create the packet pool of {} mbufs: {e}; lower memory.mbufs or give EAL more memory", plan.mbufs),
            )
        })?;
    let mut ports = Vec::with_capacity(plan.ports.len());
    let mut summaries = Vec::with_capacity(plan.ports.len());
    for pp in &plan.ports {
        let path = format!("ports.{}", pp.name);
        let mut port = Port::by_name(&pp.device).map_err(|_| {
            let spec = match &pp.spec {
                PortSpec::Vdev(v) => v.as_str(),
                PortSpec::Pci(a) => a.as_str(),
            };
            EngineError::new(
                ErrorCode::Port,
                format!("{path}: DPDK created no port for {:?} (spec {spec:?}); check the driver name and arguments (the EAL log above says why)", pp.device),
            )
        })?;
        let port_error =
            |e: dpdk::DpdkError| EngineError::new(ErrorCode::Port, format!("{path}: {e}"));
        let info = port.info().map_err(port_error)?;
        // Validate checked this for the drivers whose queues the config decides.
        if pp.rx_queues > info.max_rx_queues {
            return Err(EngineError::config(
                &format!("{path}.queues"),
                too_many_rx_queues(&info.driver, info.max_rx_queues, pp.rx_queues),
            ));
        }
        let tx_queues = senders::tx_queues(plan.workers.len(), info.max_tx_queues);
        let rss = pp.rx_queues > 1 && info.rss_flow_types != 0;
        let conf = DpdkPortConfig {
            rx_queues: pp.rx_queues,
            tx_queues,
            rx_descriptors: pp.rx_descriptors,
            tx_descriptors: pp.tx_descriptors,
            rss_flow_types: if rss { info.rss_flow_types } else { 0 },
        };
        // Read before the start: starting replays ethdev's promiscuous setting (off, so far)
        // onto the interface.
        if let Some(iface) = pp.spec.af_packet_interface() {
            port.restore_promiscuous_at_close(interface_promiscuous(iface));
        }
        port.configure(conf, &pool).map_err(port_error)?;
        if let Some(mtu) = pp.mtu {
            port.set_mtu(mtu).map_err(port_error)?;
        }
        if let Some(mac) = pp.mac {
            port.set_mac(mac).map_err(port_error)?;
        }
        port.start().map_err(port_error)?;
        port.set_promiscuous(pp.promiscuous).map_err(port_error)?;
        summaries.push(PortSummary {
            name: pp.name.clone(),
            id: port.id(),
            device: pp.device.clone(),
            driver: info.driver,
            mac: net::format_mac(port.mac().map_err(port_error)?),
            link_up: port.link().is_ok_and(|l| l.up),
            rx_queues: pp.rx_queues,
            tx_queues,
            rss,
        });
        ports.push(port);
    }
    Ok((pool, ports, summaries))
}

/// Whether kernel interface `iface` is in promiscuous mode now (`IFF_PROMISC` in its sysfs
/// flags; an interface that cannot be read counts as not).
fn interface_promiscuous(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|flags| flags & libc::IFF_PROMISC as u32 != 0)
}

/// This machine's hugepages as this process may use them: mounts it cannot write are set
/// aside, so the plan runs without hugepages (or refuses, when they are required) and says
/// why, instead of EAL or the stats segment failing on a permission.
pub(crate) fn usable_hugepages() -> probe::Hugepages {
    probe::Hugepages::read(std::path::Path::new("/"))
        .unwrap_or_default()
        .writable_only()
}

/// Checks msgpack config bytes as far as is possible without starting DPDK: decoding, the
/// lcore/port/memory plan on this machine, and the pipelines' references.
pub fn check(bytes: &[u8]) -> Result<(), EngineError> {
    plan_config(bytes).map(drop)
}

/// Plans a msgpack-encoded config on this machine as it is now (CPUs, hugepages), without
/// starting DPDK: what `fastpath mem plan` prints.
pub fn plan_config(bytes: &[u8]) -> Result<Plan, EngineError> {
    let config = EngineConfig::from_msgpack(bytes)?;
    let hugepages = usable_hugepages();
    Plan::new(&config, &allowed_cpus()?, &hugepages)
}
