//! Ports: each config source (vdev, PCI, pcap, `AF_PACKET`, TAP, ring, null, memif, vhost,
//! `virtio_user`, `AF_XDP`) resolved to how EAL creates it. The strings that reach a driver were checked by [`crate::validate`].

use std::fmt::Write as _;

use super::{PortPlan, PortSpec};
use crate::config::{MemifRole, PortConfig};
use crate::error::{EngineError, ErrorCode};
use crate::net::parse_mac;

/// The vdev spec for a port's source; `index` keeps generated device names unique.
fn vdev_spec(p: &PortConfig, index: usize) -> Option<String> {
    if let Some(v) = &p.vdev {
        return Some(v.clone());
    }
    if let Some(pcap) = &p.pcap {
        let mut spec = format!("net_pcap{index}");
        if let Some(rx) = &pcap.rx {
            let _ = write!(spec, ",rx_pcap={rx}");
        }
        if let Some(tx) = &pcap.tx {
            let _ = write!(spec, ",tx_pcap={tx}");
        }
        if pcap.infinite_rx {
            spec.push_str(",infinite_rx=1");
        }
        return Some(spec);
    }
    if let Some(af) = &p.af_packet {
        return Some(format!(
            "net_af_packet{index},iface={},qpairs={}",
            af.iface, p.queues
        ));
    }
    if let Some(tap) = &p.tap {
        return Some(match &tap.iface {
            Some(iface) => format!("net_tap{index},iface={iface}"),
            None => format!("net_tap{index}"),
        });
    }
    if p.ring.is_some() {
        return Some(format!("net_ring{index}"));
    }
    if let Some(null) = &p.null {
        return Some(match null.size {
            Some(size) => format!("net_null{index},size={size}"),
            None => format!("net_null{index}"),
        });
    }
    link_spec(p, index)
}

/// The vdev spec of a port whose link comes up with a peer (memif, vhost, `virtio_user`,
/// `AF_XDP`).
fn link_spec(p: &PortConfig, index: usize) -> Option<String> {
    if let Some(m) = &p.memif {
        let role = match m.role {
            MemifRole::Server => "server",
            MemifRole::Client => "client",
        };
        // A socket in the file system (not the abstract namespace DPDK defaults to), so
        // that both ends name the same path and the plan can see who listens.
        return Some(format!(
            "net_memif{index},role={role},id={},socket={},socket-abstract=no",
            m.id, m.socket
        ));
    }
    if let Some(v) = &p.vhost {
        let client = if v.client { ",client=1" } else { "" };
        return Some(format!(
            "net_vhost{index},iface={},queues={}{client}",
            v.socket, p.queues
        ));
    }
    if let Some(v) = &p.virtio_user {
        let server = if v.server { ",server=1" } else { "" };
        return Some(format!(
            "net_virtio_user{index},path={},queues={}{server}",
            v.path, p.queues
        ));
    }
    if let Some(x) = &p.af_xdp {
        return Some(format!(
            "net_af_xdp{index},iface={},start_queue={},queue_count={}",
            x.iface, x.queue, p.queues
        ));
    }
    None
}

/// How EAL creates port `index` and the DPDK device name it is found by, or `None` for a
/// port without a source.
pub(crate) fn spec_and_device(p: &PortConfig, index: usize) -> Option<(PortSpec, String)> {
    let spec = match (&p.pci, vdev_spec(p, index)) {
        (Some(pci), _) => PortSpec::Pci(pci.clone()),
        (None, Some(vdev)) => PortSpec::Vdev(vdev),
        (None, None) => return None,
    };
    let device = match &spec {
        PortSpec::Vdev(v) => v.split(',').next().unwrap_or_default().to_owned(),
        PortSpec::Pci(a) => a.clone(),
    };
    Some((spec, device))
}

/// A pcap port's rx files must be there to read before EAL starts: the driver creates (or
/// empties) the port's tx file even when an rx file is missing, so finding out at its probe
/// would cost that file.
fn readable_rx_files(p: &PortConfig, spec: &PortSpec) -> Result<(), EngineError> {
    let PortSpec::Vdev(v) = spec else {
        return Ok(());
    };
    let (device, args) = v.split_once(',').unwrap_or((v, ""));
    if !(device.starts_with("net_pcap") || device.starts_with("eth_pcap")) {
        return Ok(());
    }
    for file in args.split(',').filter_map(|a| a.strip_prefix("rx_pcap=")) {
        if let Err(e) = std::fs::File::open(file) {
            let field = if p.vdev.is_some() { "vdev" } else { "pcap.rx" };
            return Err(EngineError::config(
                &format!("ports.{}.{field}", p.name),
                format!("cannot read {file:?} ({e}): give a pcap file to read; nothing was started, created or emptied"),
            ));
        }
    }
    Ok(())
}

/// Resolves a validated config's ports, in id order.
pub(super) fn plan_ports(configs: &[PortConfig]) -> Result<Vec<PortPlan>, EngineError> {
    let mut ports: Vec<PortPlan> = Vec::with_capacity(configs.len());
    for (i, p) in configs.iter().enumerate() {
        let bug = |what: String| {
            EngineError::new(
                ErrorCode::Internal,
                format!(
                    "ports.{}: {what} in a validated config; this is a bug: please report it",
                    p.name
                ),
            )
        };
        let (spec, device) = spec_and_device(p, i).ok_or_else(|| bug("no source".into()))?;
        readable_rx_files(p, &spec)?;
        super::sockets::ready(p)?;
        let mac = p.mac.as_deref().map(parse_mac).transpose().map_err(bug)?;
        ports.push(PortPlan {
            name: p.name.clone(),
            device,
            spec,
            rx_queues: p.queues,
            rx_descriptors: p.rx_descriptors,
            tx_descriptors: p.tx_descriptors,
            promiscuous: p.promiscuous,
            mtu: p.mtu,
            mac,
        });
    }
    Ok(ports)
}
