//! Ports: each config source (vdev, PCI, pcap, `AF_PACKET`, TAP, ring, null) resolved to how
//! EAL creates it, with the strings that would reach a driver checked first.

use std::fmt::Write as _;

use super::{PortPlan, PortSpec};
use crate::config::PortConfig;
use crate::error::EngineError;
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
    None
}

/// Whether `name` is a Linux interface name Fastpath will pass on: 1 to 15 characters
/// (`IFNAMSIZ` − 1) of letters, digits, `_`, `.` and `-`. Nothing that could end a vdev
/// argument (`,`, `=`) or a path.
pub fn valid_iface(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `path` can go into a vdev argument as a file path: not empty, no `,` or `=`
/// (they would start another argument: `rx_pcap=a.pcap,iface=eth0`), no control bytes.
pub fn valid_vdev_path(path: &str) -> bool {
    !path.is_empty()
        && !path
            .bytes()
            .any(|b| b == b',' || b == b'=' || b.is_ascii_control())
}

/// Refuses interface names and file paths that would not reach the driver as given.
fn check_source_strings(p: &PortConfig, path: &str) -> Result<(), EngineError> {
    let iface = |field: &str, name: &str| {
        if valid_iface(name) {
            Ok(())
        } else {
            Err(EngineError::config(
                &format!("{path}.{field}"),
                format!("{name:?} is not an interface name (1 to 15 letters, digits, _, . or -)"),
            ))
        }
    };
    let file = |field: &str, file: &str| {
        if valid_vdev_path(file) {
            Ok(())
        } else {
            Err(EngineError::config(
                &format!("{path}.{field}"),
                format!("{file:?} cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters"),
            ))
        }
    };
    if let Some(pcap) = &p.pcap {
        if let Some(rx) = &pcap.rx {
            file("pcap.rx", rx)?;
        }
        if let Some(tx) = &pcap.tx {
            file("pcap.tx", tx)?;
        }
    }
    if let Some(af) = &p.af_packet {
        iface("afPacket.iface", &af.iface)?;
    }
    if let Some(name) = p.tap.as_ref().and_then(|t| t.iface.as_deref()) {
        iface("tap.iface", name)?;
    }
    Ok(())
}

/// Resolves the config's ports, in id order, refusing a port without exactly one source,
/// a name or device used twice, or settings no driver accepts.
pub(super) fn plan_ports(configs: &[PortConfig]) -> Result<Vec<PortPlan>, EngineError> {
    if configs.is_empty() {
        return Err(EngineError::config(
            "ports",
            "no ports: give at least one (e.g. a: { vdev: \"net_null0\" })",
        ));
    }
    let mut ports: Vec<PortPlan> = Vec::with_capacity(configs.len());
    for (i, p) in configs.iter().enumerate() {
        let path = format!("ports.{}", p.name);
        let sources = [
            p.vdev.is_some(),
            p.pci.is_some(),
            p.pcap.is_some(),
            p.af_packet.is_some(),
            p.tap.is_some(),
            p.ring.is_some(),
            p.null.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(EngineError::config(
                &path,
                "give exactly one source: vdev, pci, pcap, afPacket, tap, ring or null",
            ));
        }
        check_source_strings(p, &path)?;
        if let Some(j) = ports.iter().position(|q| q.name == p.name) {
            return Err(EngineError::config(
                &path,
                format!("the name is already used by port {j}"),
            ));
        }
        let spec = match (&p.pci, vdev_spec(p, i)) {
            (Some(pci), _) => PortSpec::Pci(pci.clone()),
            (None, Some(vdev)) => PortSpec::Vdev(vdev),
            (None, None) => unreachable!("exactly one source is set"),
        };
        let device = match &spec {
            PortSpec::Vdev(v) => v.split(',').next().unwrap_or_default().to_owned(),
            PortSpec::Pci(a) => a.clone(),
        };
        if device.is_empty() {
            return Err(EngineError::config(
                &format!("{path}.vdev"),
                "the spec has no device name",
            ));
        }
        if let Some(q) = ports.iter().find(|q| q.device == device) {
            return Err(EngineError::config(
                &path,
                format!(
                    "device {device:?} is already port {:?}; each port needs its own device",
                    q.name
                ),
            ));
        }
        if p.queues == 0 {
            return Err(EngineError::config(
                &format!("{path}.queues"),
                "must be at least 1",
            ));
        }
        if p.rx_descriptors == 0 || p.tx_descriptors == 0 {
            return Err(EngineError::config(
                &path,
                "rxDescriptors and txDescriptors must be at least 1",
            ));
        }
        let mac = p
            .mac
            .as_deref()
            .map(parse_mac)
            .transpose()
            .map_err(|e| EngineError::config(&format!("{path}.mac"), e))?;
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
