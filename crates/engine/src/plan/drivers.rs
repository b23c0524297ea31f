//! What DPDK 22.11's software drivers decide from their vdev arguments alone: the rx and tx
//! queues a port offers, whether they must be as many, and whether it can set an MTU or a
//! MAC address. With these facts a config is refused before EAL starts for what such a port
//! would refuse at start ([`crate::validate`] for a port's own fields, the plan for the tx
//! queue each sending worker needs). A PCI device, or a vdev of another driver, is known
//! only once probed: bring-up and compile check it then, against what the driver reports.
//!
//! Read from DPDK 22.11's sources: each driver's `dev_infos_get`, its ops table (a missing
//! `mtu_set` or `mac_addr_set` is ENOTSUP), how its probe counts queues from its arguments
//! (`drivers/net/{pcap,af_packet,tap,ring,null}`), and ethdev's MTU check (`lib/ethdev`).
//! `net_memif` and `net_vhost` as testpmd shows them (`show port info`, `port config mtu`,
//! `mac_addr set`: both refuse an MTU and a MAC with ENOTSUP). `net_virtio_user` and
//! `net_af_xdp` depend on their peer and their interface: known once probed.

use super::PortSpec;

/// A driver known before it is probed, with the limits a port's arguments give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Driver {
    /// The name DPDK reports for it (`net_pcap`), as errors at start show it.
    pub name: &'static str,
    /// The rx queues the port offers.
    pub max_rx_queues: u16,
    /// The tx queues the port offers.
    pub max_tx_queues: u16,
    /// Configuring refuses rx and tx queue counts that differ (`net_tap`).
    pub same_rx_tx: bool,
    /// The largest MTU it sets, or `None` when it cannot set one.
    pub max_mtu: Option<u16>,
    /// Whether it can set the port's MAC address.
    pub sets_mac: bool,
}

/// `RTE_MAX_QUEUES_PER_PORT` (`rte_config.h`): the size of `net_null`'s queue arrays.
const MAX_QUEUES_PER_PORT: u16 = 1024;
/// `RTE_PMD_RING_MAX_RX_RINGS` and `RTE_PMD_RING_MAX_TX_RINGS` (`rte_config.h`): the rings a
/// `net_ring` vdev is made with.
const RING_QUEUES: u16 = 16;
/// `ETH_MEMIF_MAX_NUM_Q_PAIRS`: the queues a memif port offers each way.
const MEMIF_QUEUES: u16 = 255;
/// `TAP_MAX_QUEUES` (`drivers/net/tap/meson.build`).
const TAP_QUEUES: u16 = 16;
/// `RTE_PMD_PCAP_MAX_QUEUES`: more queue arguments than this fail the probe.
const PCAP_MAX_QUEUES: usize = 16;
/// What ethdev adds to an MTU to get the frame it checks against the driver's
/// `max_rx_pktlen` (Ethernet header and CRC, for drivers that report no `max_mtu`).
const FRAME_OVERHEAD: u16 = 18;

/// The drivers known here: (name, alias), as the vdev bus matches them: a device name that
/// starts with either.
const NAMES: [(&str, &str); 7] = [
    ("net_pcap", "eth_pcap"),
    ("net_af_packet", "eth_af_packet"),
    ("net_tap", "eth_tap"),
    ("net_ring", "eth_ring"),
    ("net_null", "eth_null"),
    ("net_memif", "eth_memif"),
    ("net_vhost", "eth_vhost"),
];

impl PortSpec {
    /// The driver of a vdev of one of DPDK's software drivers, with its limits for these
    /// arguments; `None` for a PCI device, another driver, or arguments its probe refuses
    /// (EAL then says why).
    pub fn driver(&self) -> Option<Driver> {
        let PortSpec::Vdev(spec) = self else {
            return None;
        };
        let (device, args) = spec.split_once(',').unwrap_or((spec, ""));
        let &(name, _) = NAMES
            .iter()
            .find(|(name, alias)| device.starts_with(name) || device.starts_with(alias))?;
        let args = Args::parse(args)?;
        let driver = |queues: u16, max_mtu: Option<u16>, sets_mac: bool| Driver {
            name,
            max_rx_queues: queues,
            max_tx_queues: queues,
            same_rx_tx: false,
            max_mtu,
            sets_mac,
        };
        match name {
            "net_pcap" => {
                let (rx, tx) = pcap_queues(&args)?;
                Some(Driver {
                    max_tx_queues: tx,
                    ..driver(rx, None, false)
                })
            }
            // Its frames are at most RTE_ETHER_MAX_LEN (1518) bytes.
            "net_af_packet" => Some(driver(args.qpairs()?, Some(1518 - FRAME_OVERHEAD), true)),
            // Its frames are at most RTE_ETHER_MAX_VLAN_FRAME_LEN (1522) bytes.
            "net_tap" => Some(Driver {
                same_rx_tx: true,
                ..driver(TAP_QUEUES, Some(1522 - FRAME_OVERHEAD), true)
            }),
            "net_ring" => Some(driver(RING_QUEUES, None, false)),
            "net_memif" => Some(driver(MEMIF_QUEUES, None, false)),
            // As many queue pairs as its `queues` argument (1 without one).
            "net_vhost" => Some(driver(args.last_count("queues")?, None, false)),
            _ => Some(driver(MAX_QUEUES_PER_PORT, Some(u16::MAX), true)),
        }
    }
}

impl PortSpec {
    /// The kernel interface a `net_af_packet` port sits on (its last `iface`): the driver
    /// changes its flags in place (promiscuous mode), and closing the port does not put them
    /// back.
    pub fn af_packet_interface(&self) -> Option<&str> {
        let PortSpec::Vdev(spec) = self else {
            return None;
        };
        let (device, args) = spec.split_once(',')?;
        if !(device.starts_with("net_af_packet") || device.starts_with("eth_af_packet")) {
            return None;
        }
        args.split(',')
            .filter_map(|a| a.strip_prefix("iface="))
            .next_back()
    }
}

/// A vdev's `key[=value]` arguments, as DPDK's kvargs splits them (a `[list]` is not read
/// here: such a port is left to the driver).
struct Args<'a>(Vec<(&'a str, Option<&'a str>)>);

impl<'a> Args<'a> {
    fn parse(args: &'a str) -> Option<Self> {
        if args.contains('[') {
            return None;
        }
        let pairs = args
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| match a.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (a, None),
            })
            .collect();
        Some(Self(pairs))
    }

    fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| *k == key).count()
    }

    /// `net_af_packet`'s queue pairs: the last `qpairs`, 1 without one.
    fn qpairs(&self) -> Option<u16> {
        self.last_count("qpairs")
    }

    /// The last value of a count argument, 1 without one; `None` for one that is not a
    /// count of at least 1 (the probe refuses it).
    fn last_count(&self, key: &str) -> Option<u16> {
        match self.0.iter().rev().find(|(k, _)| *k == key) {
            None => Some(1),
            Some((_, value)) => value.and_then(|v| v.parse().ok()).filter(|&n| n >= 1),
        }
    }
}

/// `net_pcap`'s (rx, tx) queues: one `iface` is one pair; else a queue per `rx_pcap` (or per
/// `rx_iface`/`rx_iface_in`, or a dummy one per tx argument), and one per `tx_pcap` (or per
/// `tx_iface`, or a dropping one per rx queue). No queue argument, or too many, fails the probe.
fn pcap_queues(args: &Args<'_>) -> Option<(u16, u16)> {
    if args.count("iface") == 1 {
        return Some((1, 1));
    }
    let first = |counts: &[usize]| counts.iter().copied().find(|&n| n > 0);
    let rx = first(&[
        args.count("rx_pcap"),
        args.count("rx_iface") + args.count("rx_iface_in"),
        args.count("tx_pcap") + args.count("tx_iface"),
    ])?;
    let tx = first(&[args.count("tx_pcap"), args.count("tx_iface")]).unwrap_or(rx);
    if rx > PCAP_MAX_QUEUES || tx > PCAP_MAX_QUEUES {
        return None;
    }
    Some((rx as u16, tx as u16))
}

/// Why a port cannot have the rx queues its config asks for (at `ports.<name>.queues`).
pub fn too_many_rx_queues(driver: &str, max: u16, asked: u16) -> String {
    format!("driver {driver} offers at most {max} rx queue(s) here; {asked} were asked for: set queues to at most {max}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver(spec: &str) -> Option<Driver> {
        PortSpec::Vdev(spec.to_owned()).driver()
    }

    fn queues(spec: &str) -> Option<(u16, u16)> {
        driver(spec).map(|d| (d.max_rx_queues, d.max_tx_queues))
    }

    #[test]
    fn pcap_queues_follow_its_arguments() {
        assert_eq!(queues("net_pcap0,rx_pcap=a.pcap"), Some((1, 1)));
        assert_eq!(queues("net_pcap0,tx_pcap=a.pcap"), Some((1, 1)));
        assert_eq!(queues("eth_pcap3,tx_pcap=a,tx_pcap=b"), Some((2, 2)));
        assert_eq!(
            queues("net_pcap0,rx_pcap=a,tx_pcap=b,tx_pcap=c"),
            Some((1, 2))
        );
        assert_eq!(queues("net_pcap0,rx_pcap=a,rx_pcap=b"), Some((2, 2)));
        assert_eq!(
            queues("net_pcap0,rx_iface=x,rx_iface_in=y,tx_iface=z"),
            Some((2, 1))
        );
        assert_eq!(
            queues("net_pcap0,iface=eth0,rx_pcap=a,rx_pcap=b"),
            Some((1, 1))
        );
        assert_eq!(queues("net_pcap0"), None);
        assert_eq!(queues("net_pcap0,infinite_rx=1"), None);
        assert_eq!(queues("net_pcap0,rx_pcap=[a,b]"), None);
        let seventeen = "net_pcap0".to_owned() + &",tx_pcap=x".repeat(17);
        assert_eq!(queues(&seventeen), None);
        let pcap = driver("net_pcap0,rx_pcap=a").unwrap();
        assert_eq!(
            (pcap.max_mtu, pcap.sets_mac, pcap.same_rx_tx),
            (None, false, false)
        );
    }

    #[test]
    fn other_software_drivers() {
        assert_eq!(queues("net_af_packet0,iface=veth0"), Some((1, 1)));
        let af = |spec: &str| {
            PortSpec::Vdev(spec.into())
                .af_packet_interface()
                .map(str::to_owned)
        };
        assert_eq!(
            af("net_af_packet0,iface=veth0,qpairs=2"),
            Some("veth0".into())
        );
        assert_eq!(af("net_pcap0,iface=veth0"), None);
        assert_eq!(queues("net_af_packet0,iface=veth0,qpairs=4"), Some((4, 4)));
        assert_eq!(queues("net_af_packet0,iface=veth0,qpairs=0"), None);
        assert_eq!(
            driver("net_af_packet0,iface=v").unwrap().max_mtu,
            Some(1500)
        );
        let tap = driver("net_tap0,iface=t0").unwrap();
        assert_eq!(
            (tap.max_rx_queues, tap.same_rx_tx, tap.max_mtu),
            (16, true, Some(1504))
        );
        let ring = driver("net_ring0").unwrap();
        assert_eq!(
            (ring.max_tx_queues, ring.max_mtu, ring.sets_mac),
            (16, None, false)
        );
        let null = driver("eth_null1,size=64").unwrap();
        assert_eq!(
            (null.name, null.max_tx_queues, null.sets_mac),
            ("net_null", 1024, true)
        );
    }

    #[test]
    fn drivers_whose_link_needs_a_peer() {
        let memif = driver("net_memif0,role=server,socket=/run/m.sock").unwrap();
        assert_eq!(
            (
                memif.max_rx_queues,
                memif.max_tx_queues,
                memif.max_mtu,
                memif.sets_mac
            ),
            (255, 255, None, false)
        );
        assert_eq!(queues("net_vhost0,iface=/tmp/s"), Some((1, 1)));
        assert_eq!(queues("eth_vhost1,iface=/tmp/s,queues=4"), Some((4, 4)));
        assert_eq!(queues("net_vhost0,iface=/tmp/s,queues=0"), None);
    }

    #[test]
    fn unknown_before_probe() {
        assert_eq!(driver("net_virtio_user0,path=/tmp/s"), None);
        assert_eq!(driver("net_af_xdp0,iface=veth0"), None);
        assert_eq!(PortSpec::Pci("0000:03:00.0".into()).driver(), None);
    }
}
