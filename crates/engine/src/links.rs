//! Where each port's link state comes from. DPDK's drivers report it for the devices they
//! drive (`rte_eth_link_get_nowait`), but `net_af_packet` reports its link up from the
//! port's start on, whatever its kernel interface does. For such a port the state is read
//! from the interface: up while it is the interface the port was opened on (the same
//! ifindex: an interface deleted and created again under the same name is another one, which
//! the port's socket never sees) and it is up with a carrier (`IFF_UP`, and `carrier` 1).

use dpdk::Port;

/// One port's link, as the sampler reads it every 10 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkSource {
    /// What the driver of DPDK port `id` says.
    Driver(u16),
    /// Kernel interface `iface`, as it was when the port started (`ifindex`).
    Kernel {
        /// Its name.
        iface: String,
        /// Its index then (`None`: it was not there).
        ifindex: Option<u32>,
    },
}

impl LinkSource {
    /// The source for DPDK port `id`, opened on kernel interface `iface` when it is an
    /// `net_af_packet` port (read now: what the port was opened on).
    pub(crate) fn new(id: u16, af_packet_iface: Option<&str>) -> Self {
        match af_packet_iface {
            Some(iface) => Self::Kernel {
                iface: iface.to_owned(),
                ifindex: read_sys(iface, "ifindex").and_then(|t| t.parse().ok()),
            },
            None => Self::Driver(id),
        }
    }

    /// Up, down, or `None` when the driver cannot tell.
    pub(crate) fn read(&self) -> Option<bool> {
        match self {
            Self::Driver(id) => Port::link_of(*id).ok().map(|l| l.up),
            Self::Kernel { iface, ifindex } => {
                let same = ifindex.is_some()
                    && read_sys(iface, "ifindex").and_then(|t| t.parse().ok()) == *ifindex;
                let flags = read_sys(iface, "flags")
                    .and_then(|t| u32::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                    .unwrap_or(0);
                // sysfs `flags` leaves IFF_RUNNING out: the carrier says it (unreadable while
                // the interface is down).
                let carrier = read_sys(iface, "carrier").as_deref() == Some("1");
                Some(same && flags & libc::IFF_UP as u32 != 0 && carrier)
            }
        }
    }
}

/// `/sys/class/net/<iface>/<file>`, trimmed; `None` when the interface is gone.
fn read_sys(iface: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/{file}"))
        .ok()
        .map(|t| t.trim().to_owned())
}
