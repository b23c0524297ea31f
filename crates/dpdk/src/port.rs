//! Ethdev ports (a vdev or an allow-listed PCI device) and their rx/tx queues.

use std::ffi::{CStr, CString};
use std::fmt;

use crate::error::{DpdkError, ToResult};
use crate::ethdev_fp;
use crate::mbuf::{Burst, BURST_SIZE};
use crate::mempool::Mempool;

/// Queue counts and ring sizes for [`Port::configure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    /// Rx queues.
    pub rx_queues: u16,
    /// Tx queues.
    pub tx_queues: u16,
    /// Descriptors per rx ring (adjusted to the driver's limits).
    pub rx_descriptors: u16,
    /// Descriptors per tx ring (adjusted to the driver's limits).
    pub tx_descriptors: u16,
    /// Spread rx over the queues by hash (RSS) with these flow types (`0`: no RSS).
    pub rss_flow_types: u64,
}

/// What a driver says about a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// The driver, e.g. `net_null`.
    pub driver: String,
    /// Most rx queues the driver supports.
    pub max_rx_queues: u16,
    /// Most tx queues the driver supports.
    pub max_tx_queues: u16,
    /// Flow types the driver can hash for RSS (`0`: no RSS).
    pub rss_flow_types: u64,
}

/// Link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Carrier up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// The driver's basic counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets the hardware dropped because no rx descriptor was free.
    pub rx_missed: u64,
    /// Erroneous packets received.
    pub rx_errors: u64,
    /// Failed transmissions.
    pub tx_errors: u64,
    /// Rx mbuf allocation failures.
    pub rx_nombuf: u64,
    /// Per queue (the first [`QUEUE_STAT_COUNTERS`]), as the driver counts them: rx
    /// packets, rx bytes, tx packets, tx bytes, rx errors.
    pub queues: [[u64; 5]; QUEUE_STAT_COUNTERS],
}

/// Queues whose counters `rte_eth_stats` carries (`RTE_ETHDEV_QUEUE_STAT_CNTRS`).
pub const QUEUE_STAT_COUNTERS: usize = dpdk_sys::RTE_ETHDEV_QUEUE_STAT_CNTRS as usize;

/// An ethdev port. Stopped and closed on drop if still open.
pub struct Port {
    id: u16,
    name: String,
    started: bool,
    closed: bool,
    /// Promiscuous mode to leave the device in when it closes, if any.
    promiscuous_at_close: Option<bool>,
    /// Which configured queues have been handed out (each at most once).
    rx_taken: Vec<bool>,
    tx_taken: Vec<bool>,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Port {
    /// The port EAL created for device `name` (a vdev's name, e.g. `net_null0`, or a PCI address).
    pub fn by_name(name: &str) -> Result<Self, DpdkError> {
        let c_name = CString::new(name).map_err(|_| DpdkError {
            context: format!("port name {name:?}"),
            errno: libc::EINVAL,
        })?;
        let mut id = 0u16;
        // SAFETY: c_name is NUL-terminated; `id` is a valid out-pointer.
        unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c_name.as_ptr(), &mut id) }
            .to_result(|| format!("finding port {name}"))?;
        Ok(Self {
            id,
            name: name.to_owned(),
            started: false,
            closed: false,
            promiscuous_at_close: None,
            rx_taken: Vec::new(),
            tx_taken: Vec::new(),
        })
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name it was found by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Driver facts.
    pub fn info(&self) -> Result<PortInfo, DpdkError> {
        // SAFETY: rte_eth_dev_info is plain data; all-zero is a valid value.
        let mut info: dpdk_sys::rte_eth_dev_info = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid out-pointer for a valid port id.
        unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) }
            .to_result(|| format!("rte_eth_dev_info_get(port {})", self.id))?;
        let driver = if info.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null driver_name is a static NUL-terminated string.
            unsafe { CStr::from_ptr(info.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(PortInfo {
            driver,
            max_rx_queues: info.max_rx_queues,
            max_tx_queues: info.max_tx_queues,
            rss_flow_types: info.flow_type_rss_offloads,
        })
    }

    /// Configures queues and sets them up with buffers from `pool`. The port must be stopped.
    pub fn configure(&mut self, conf: PortConfig, pool: &Mempool) -> Result<(), DpdkError> {
        let id = self.id;
        // SAFETY: rte_eth_conf is plain data; all-zero means "driver defaults, no offloads".
        let mut eth_conf: dpdk_sys::rte_eth_conf = unsafe { std::mem::zeroed() };
        if conf.rss_flow_types != 0 && conf.rx_queues > 1 {
            eth_conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            // A null key asks the driver for its default hash key.
            eth_conf.rx_adv_conf.rss_conf.rss_hf = conf.rss_flow_types;
        }
        // SAFETY: eth_conf is valid for the call; DPDK copies it.
        unsafe { dpdk_sys::rte_eth_dev_configure(id, conf.rx_queues, conf.tx_queues, &eth_conf) }
            .to_result(|| {
            format!(
                "rte_eth_dev_configure(port {id} {}, {} rx / {} tx queues)",
                self.name, conf.rx_queues, conf.tx_queues
            )
        })?;
        let (mut rx_desc, mut tx_desc) = (conf.rx_descriptors, conf.tx_descriptors);
        // SAFETY: both out-pointers are valid.
        unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) }
            .to_result(|| format!("rte_eth_dev_adjust_nb_rx_tx_desc(port {id})"))?;
        // SAFETY: a plain query on a valid port id.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) };
        // SOCKET_ID_ANY (-1) when the device has no NUMA affinity, as the unsigned DPDK wants.
        let socket = socket.cast_unsigned();
        for q in 0..conf.rx_queues {
            // SAFETY: null rx_conf means driver defaults; the pool outlives the port's use of it.
            unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    q,
                    rx_desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            }
            .to_result(|| {
                format!("rte_eth_rx_queue_setup(port {id}, queue {q}, {rx_desc} descriptors)")
            })?;
        }
        for q in 0..conf.tx_queues {
            // SAFETY: null tx_conf means driver defaults.
            unsafe { dpdk_sys::rte_eth_tx_queue_setup(id, q, tx_desc, socket, std::ptr::null()) }
                .to_result(|| {
                format!("rte_eth_tx_queue_setup(port {id}, queue {q}, {tx_desc} descriptors)")
            })?;
        }
        self.rx_taken = vec![false; usize::from(conf.rx_queues)];
        self.tx_taken = vec![false; usize::from(conf.tx_queues)];
        Ok(())
    }

    /// Turns promiscuous mode on or off; drivers without the notion report success.
    pub fn set_promiscuous(&mut self, on: bool) -> Result<(), DpdkError> {
        // SAFETY: plain calls on a valid port id.
        let ret = unsafe {
            if on {
                dpdk_sys::rte_eth_promiscuous_enable(self.id)
            } else {
                dpdk_sys::rte_eth_promiscuous_disable(self.id)
            }
        };
        if ret == -libc::ENOTSUP {
            return Ok(());
        }
        ret.to_result(|| format!("promiscuous mode on port {}", self.id))
            .map(drop)
    }

    /// Leaves promiscuous mode `on` when the port closes: for a driver over a kernel interface
    /// (`net_af_packet`), what the interface had before [`Port::set_promiscuous`] changed it, since
    /// closing the port does not put it back.
    pub fn restore_promiscuous_at_close(&mut self, on: bool) {
        self.promiscuous_at_close = Some(on);
    }

    /// Sets the MTU (the port must support it; drivers that cannot report ENOTSUP).
    pub fn set_mtu(&mut self, mtu: u16) -> Result<(), DpdkError> {
        // SAFETY: a plain call on a valid port id.
        unsafe { dpdk_sys::rte_eth_dev_set_mtu(self.id, mtu) }
            .to_result(|| format!("rte_eth_dev_set_mtu(port {}, {mtu})", self.id))
            .map(drop)
    }

    /// Sets the port's MAC address.
    pub fn set_mac(&mut self, mac: [u8; 6]) -> Result<(), DpdkError> {
        let mut addr = dpdk_sys::rte_ether_addr { addr_bytes: mac };
        // SAFETY: `addr` is valid for the call; DPDK copies it.
        unsafe { dpdk_sys::rte_eth_dev_default_mac_addr_set(self.id, &mut addr) }
            .to_result(|| format!("rte_eth_dev_default_mac_addr_set(port {})", self.id))
            .map(drop)
    }

    /// Starts the port.
    pub fn start(&mut self) -> Result<(), DpdkError> {
        // SAFETY: a configured port id.
        unsafe { dpdk_sys::rte_eth_dev_start(self.id) }
            .to_result(|| format!("rte_eth_dev_start(port {})", self.id))?;
        self.started = true;
        Ok(())
    }

    /// Stops the port. No lcore may still poll it.
    pub fn stop(&mut self) -> Result<(), DpdkError> {
        if !self.started {
            return Ok(());
        }
        self.started = false;
        // SAFETY: a started port id; its users stopped first (the caller's contract).
        unsafe { dpdk_sys::rte_eth_dev_stop(self.id) }
            .to_result(|| format!("rte_eth_dev_stop(port {})", self.id))
            .map(drop)
    }

    /// Stops (if needed) and closes the port, releasing its queues and mbufs.
    pub fn close(mut self) -> Result<(), DpdkError> {
        self.close_in_place()
    }

    fn close_in_place(&mut self) -> Result<(), DpdkError> {
        if self.closed {
            return Ok(());
        }
        // Best effort: the close goes on whatever the driver says.
        if let Some(on) = self.promiscuous_at_close.take() {
            let _ = self.set_promiscuous(on);
        }
        let stopped = self.stop();
        self.closed = true;
        // SAFETY: a stopped port id, closed once.
        let closed = unsafe { dpdk_sys::rte_eth_dev_close(self.id) }
            .to_result(|| format!("rte_eth_dev_close(port {})", self.id));
        stopped.and(closed).map(drop)
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6], DpdkError> {
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: `addr` is a valid out-pointer.
        unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut addr) }
            .to_result(|| format!("rte_eth_macaddr_get(port {})", self.id))?;
        Ok(addr.addr_bytes)
    }

    /// Link state, without waiting for autonegotiation.
    pub fn link(&self) -> Result<Link, DpdkError> {
        Self::link_of(self.id)
    }

    /// Port `id`'s link state, without waiting; safe to call from any thread while the port
    /// is open (the engine's sampler reads it every 10 ms). A driver that cannot tell
    /// (no `link_update`) gives an error.
    pub fn link_of(id: u16) -> Result<Link, DpdkError> {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: `link` is a valid out-pointer.
        unsafe { dpdk_sys::rte_eth_link_get_nowait(id, &mut link) }
            .to_result(|| format!("rte_eth_link_get_nowait(port {id})"))?;
        Ok(Link {
            up: u32::from(link.link_status()) == dpdk_sys::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
            full_duplex: u32::from(link.link_duplex()) == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
        })
    }

    /// The driver's basic counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        Self::stats_of(self.id)
    }

    /// The driver's counters for port `id`; safe to call from any thread while the port is open.
    pub fn stats_of(id: u16) -> Result<PortStats, DpdkError> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: `s` is a valid out-pointer; reading stats concurrently with the datapath is
        // what the API is for.
        unsafe { dpdk_sys::rte_eth_stats_get(id, &mut s) }
            .to_result(|| format!("rte_eth_stats_get(port {id})"))?;
        Ok(PortStats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
            queues: std::array::from_fn(|q| {
                [
                    s.q_ipackets[q],
                    s.q_ibytes[q],
                    s.q_opackets[q],
                    s.q_obytes[q],
                    s.q_errors[q],
                ]
            }),
        })
    }

    /// Rx queue `queue`, handed out once: DPDK queues have a single consumer. Fails for a
    /// queue that is not configured or already taken.
    pub fn rx_queue(&mut self, queue: u16) -> Result<RxQueue, DpdkError> {
        let id = self.id;
        take(&mut self.rx_taken, queue, || {
            format!("rx queue {queue} of port {id}")
        })?;
        Ok(RxQueue {
            ops: ethdev_fp::entry(id)?,
            port: id,
            queue,
        })
    }

    /// Tx queue `queue`, handed out once: DPDK queues have a single producer.
    pub fn tx_queue(&mut self, queue: u16) -> Result<TxQueue, DpdkError> {
        let id = self.id;
        take(&mut self.tx_taken, queue, || {
            format!("tx queue {queue} of port {id}")
        })?;
        Ok(TxQueue {
            ops: ethdev_fp::entry(id)?,
            port: id,
            queue,
        })
    }
}

fn take(taken: &mut [bool], queue: u16, what: impl FnOnce() -> String) -> Result<(), DpdkError> {
    match taken.get_mut(usize::from(queue)) {
        Some(t) if !*t => {
            *t = true;
            Ok(())
        }
        Some(_) => Err(DpdkError {
            context: format!("{} (already handed out)", what()),
            errno: libc::EBUSY,
        }),
        None => Err(DpdkError {
            context: format!("{} (not configured)", what()),
            errno: libc::EINVAL,
        }),
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let _ = self.close_in_place();
    }
}

/// One rx queue of a port. Not `Clone`: DPDK queues are single-consumer.
#[derive(Debug)]
pub struct RxQueue {
    /// The port's `rte_eth_fp_ops` entry (non-null: the port id is valid).
    ops: *const dpdk_sys::rte_eth_fp_ops,
    port: u16,
    queue: u16,
}

// SAFETY: the queue is polled by whichever one thread holds this handle; `ops` points into
// DPDK's process-wide table, which lives as long as the process.
unsafe impl Send for RxQueue {}

impl RxQueue {
    /// Receives into the free space of `burst`; returns how many packets arrived.
    #[inline]
    pub fn recv(&mut self, burst: &mut Burst) -> usize {
        let room = BURST_SIZE - burst.len();
        // SAFETY: this handle is the queue's only consumer; the free slots past `len` take
        // the mbufs DPDK writes, which the burst then owns.
        let n = unsafe {
            ethdev_fp::rx_burst(
                self.ops,
                self.port,
                self.queue,
                burst.raw_tail(),
                room as u16,
            )
        };
        burst.grew(usize::from(n));
        usize::from(n)
    }

    /// The port id.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// One tx queue of a port. Not `Clone`: DPDK queues are single-producer.
#[derive(Debug)]
pub struct TxQueue {
    /// As [`RxQueue`]'s.
    ops: *const dpdk_sys::rte_eth_fp_ops,
    port: u16,
    queue: u16,
}

// SAFETY: as for `RxQueue`: one thread sends on the queue, the table lives with the process.
unsafe impl Send for TxQueue {}

impl TxQueue {
    /// Sends what `burst` holds; returns how many the driver took. Packets it did not take
    /// stay in `burst` (moved to the front), for the caller to retry or free.
    #[inline]
    pub fn send(&mut self, burst: &mut Burst) -> usize {
        let len = burst.len();
        if len == 0 {
            return 0;
        }
        // SAFETY: this handle is the queue's only producer; the first `len` pointers are
        // owned mbufs, and those the driver takes are no longer ours.
        let sent = usize::from(unsafe {
            ethdev_fp::tx_burst(
                self.ops,
                self.port,
                self.queue,
                burst.raw_head(),
                len as u16,
            )
        });
        burst.consumed_front(sent);
        sent
    }

    /// A second handle on the same queue, for a thread that keeps one handle per place it
    /// sends from (a worker's resolved outputs) and so saves looking the queue up per burst.
    ///
    /// # Safety
    /// The queue stays single-producer: the handles must be used from one thread, never at
    /// the same time (the caller keeps them together, e.g. in one worker, and never sends
    /// one to another thread).
    #[must_use]
    pub unsafe fn alias(&self) -> Self {
        Self {
            ops: self.ops,
            port: self.port,
            queue: self.queue,
        }
    }

    /// The port id.
    pub fn port(&self) -> u16 {
        self.port
    }
}
