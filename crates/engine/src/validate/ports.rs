//! Ports: a name, exactly one source, one device each, the strings that reach a driver
//! (vdev specs, PCI addresses, interface names, file and socket paths) in a form it takes as
//! given, and what the driver would refuse at start when the config decides it ([`Driver`]:
//! rx queues, MTU, MAC) or ethdev refuses of any driver (a MAC that is not a unicast address).

use super::{key, Report};
use crate::config::{EngineConfig, PortConfig};
use crate::net::{parse_mac, quote};
use crate::plan::{senders, spec_and_device, too_many_rx_queues, Driver};

/// The sources a port may have, in the schema's order.
const SOURCES: [&str; 11] = [
    "vdev",
    "pci",
    "pcap",
    "afPacket",
    "tap",
    "ring",
    "null",
    "memif",
    "vhost",
    "virtioUser",
    "afXdp",
];

fn sources(p: &PortConfig) -> Vec<&'static str> {
    let given = [
        p.vdev.is_some(),
        p.pci.is_some(),
        p.pcap.is_some(),
        p.af_packet.is_some(),
        p.tap.is_some(),
        p.ring.is_some(),
        p.null.is_some(),
        p.memif.is_some(),
        p.vhost.is_some(),
        p.virtio_user.is_some(),
        p.af_xdp.is_some(),
    ];
    SOURCES
        .iter()
        .zip(given)
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect()
}

/// `^[A-Za-z][A-Za-z0-9_-]*$`.
fn port_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// A device name (letters, digits, `_`), then optional `,key=value` arguments on one line.
fn vdev(spec: &str) -> bool {
    let (name, args) = match spec.split_once(',') {
        Some((name, args)) => (name, Some(args)),
        None => (spec, None),
    };
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && args.is_none_or(|a| !a.contains(['\n', '\r', '\u{2028}', '\u{2029}']))
}

/// `[DDDD:]BB:DD.F` in hex, the function 0-7.
fn pci(address: &str) -> bool {
    let hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    let b = address.as_bytes();
    let rest = match b.len() {
        12 if hex(&b[..4]) && b[4] == b':' => &b[5..],
        7 => b,
        _ => return false,
    };
    hex(&rest[..2])
        && rest[2] == b':'
        && hex(&rest[3..5])
        && rest[5] == b'.'
        && (b'0'..=b'7').contains(&rest[6])
}

/// A Linux interface name as the engine passes it on: 1 to 15 (`IFNAMSIZ` − 1) letters,
/// digits, `_`, `.` or `-`, so nothing that could end a vdev argument (`,`, `=`) or a path.
fn iface(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A file path that goes into a vdev argument: not empty, and no `,` or `=` (they would
/// start another argument: `rx_pcap=a.pcap,iface=eth0`) or control characters.
fn vdev_path(path: &str) -> bool {
    !path.is_empty()
        && !path
            .bytes()
            .any(|b| b == b',' || b == b'=' || b.is_ascii_control())
}

/// A Unix socket path both ends of a link name: absolute (so that it does not depend on
/// where each program runs), fit for a vdev argument, and short enough for `sun_path`.
fn socket_path(path: &str) -> bool {
    path.starts_with('/') && vdev_path(path) && path.len() <= SUN_PATH_MAX
}

/// The longest path a Unix socket address holds (`sun_path` is 108 bytes with its NUL).
const SUN_PATH_MAX: usize = 107;

const IFACE: &str = "is not an interface name (1 to 15 letters, digits, _, . or -)";
const SOCKET_PATH: &str = "is not a socket path: give an absolute path of at most 107 bytes without ',', '=' or control characters";
const VDEV_PATH: &str =
    "cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters";

pub(super) fn check(report: &mut Report, config: &EngineConfig) {
    if config.ports.is_empty() {
        report.push(
            "ports",
            "no ports: give at least one (e.g. a: { vdev: \"net_null0\" })",
        );
    }
    // (device, port name) of the ports seen so far.
    let mut devices: Vec<(String, &str)> = Vec::new();
    for (i, p) in config.ports.iter().enumerate() {
        let path = key("ports", &p.name);
        report.format(
            &path,
            &p.name,
            port_name(&p.name),
            "port names start with a letter, then letters, digits, _ or -",
        );
        if let Some(j) = config.ports[..i].iter().position(|q| q.name == p.name) {
            report.push(&path, format!("the name is already used by port {j}"));
        }
        let given = sources(p);
        match given.len() {
            0 => report.push(
                &path,
                format!("needs a source: one of {}", SOURCES.join(", ")),
            ),
            1 => {}
            _ => report.push(
                &path,
                format!("has {}; give exactly one source", given.join(" and ")),
            ),
        }
        let vdev_ok = p.vdev.as_deref().is_none_or(|v| {
            report.format(
                &format!("{path}.vdev"),
                v,
                vdev(v),
                "must start with a device name such as net_null0, then optional ,key=value arguments",
            )
        });
        let mut driver = None;
        if given.len() == 1 && vdev_ok {
            if let Some((spec, device)) = spec_and_device(p, i) {
                driver = spec.driver();
                if let Some((_, other)) = devices.iter().find(|(d, _)| *d == device) {
                    report.push(
                        &path,
                        format!(
                            "device {} is already port {}; each port needs its own device",
                            quote(&device),
                            quote(other)
                        ),
                    );
                }
                devices.push((device, &p.name));
            }
        }
        fields(report, &path, p, driver, config.lcores.workers.len());
    }
}

/// A port's fields after its vdev, in the schema's order; `driver` is what is known of its
/// driver before it is probed, `workers` how many tx queues the engine asks of it.
fn fields(report: &mut Report, path: &str, p: &PortConfig, driver: Option<Driver>, workers: usize) {
    let field = |name: &str| format!("{path}.{name}");
    if let Some(address) = &p.pci {
        report.format(
            &field("pci"),
            address,
            pci(address),
            "must be a PCI address like 0000:03:00.0",
        );
    }
    if let Some(pcap) = &p.pcap {
        if pcap.rx.is_none() && pcap.tx.is_none() {
            report.push(
                field("pcap"),
                "needs rx, tx or both: without a file the driver has no queue to open",
            );
        }
        for (name, file) in [("rx", &pcap.rx), ("tx", &pcap.tx)] {
            if let Some(file) = file {
                report.format(
                    &field(&format!("pcap.{name}")),
                    file,
                    vdev_path(file),
                    VDEV_PATH,
                );
            }
        }
    }
    if let Some(af) = &p.af_packet {
        report.format(&field("afPacket.iface"), &af.iface, iface(&af.iface), IFACE);
    }
    if let Some(name) = p.tap.as_ref().and_then(|t| t.iface.as_deref()) {
        report.format(&field("tap.iface"), name, iface(name), IFACE);
    }
    if let Some(size) = p.null.as_ref().and_then(|n| n.size) {
        report.range(&field("null.size"), size, 14, 9000);
    }
    let socket = [
        ("memif.socket", p.memif.as_ref().map(|m| &m.socket)),
        ("vhost.socket", p.vhost.as_ref().map(|v| &v.socket)),
        ("virtioUser.path", p.virtio_user.as_ref().map(|v| &v.path)),
    ];
    for (name, path) in socket {
        if let Some(path) = path {
            report.format(&field(name), path, socket_path(path), SOCKET_PATH);
        }
    }
    if let Some(x) = &p.af_xdp {
        report.format(&field("afXdp.iface"), &x.iface, iface(&x.iface), IFACE);
    }
    if report.range(&field("queues"), p.queues, 1, MAX_QUEUES) {
        if let Some(d) = driver {
            queues(report, &field("queues"), p.queues, d, workers);
        }
    }
    report.range(
        &field("rxDescriptors"),
        p.rx_descriptors,
        1,
        u16::MAX.into(),
    );
    report.range(
        &field("txDescriptors"),
        p.tx_descriptors,
        1,
        u16::MAX.into(),
    );
    if let Some(mtu) = p.mtu {
        if report.range(&field("mtu"), mtu, 68, u16::MAX.into()) {
            match driver.map(|d| (d.name, d.max_mtu)) {
                Some((name, None)) => report.push(
                    field("mtu"),
                    format!("driver {name} cannot set an MTU; remove mtu from this port"),
                ),
                Some((name, Some(max))) if mtu > max => report.push(
                    field("mtu"),
                    format!("driver {name} takes an MTU of at most {max}; lower it"),
                ),
                _ => {}
            }
        }
    }
    if let Some(text) = &p.mac {
        match parse_mac(text) {
            Err(why) => report.push(field("mac"), why),
            Ok(mac) => self::mac(report, &field("mac"), text, mac, driver),
        }
    }
}

/// The rx queues a known driver offers, and the tx queues it gets (one per worker, up to its
/// limit), which `net_tap` needs to be as many.
fn queues(report: &mut Report, path: &str, asked: u16, d: Driver, workers: usize) {
    if asked > d.max_rx_queues {
        report.push(path, too_many_rx_queues(d.name, d.max_rx_queues, asked));
    } else if d.same_rx_tx && workers > 0 {
        let tx = senders::tx_queues(workers, d.max_tx_queues);
        if asked != tx {
            report.push(
                path,
                format!(
                    "driver {} needs as many rx queues as tx queues, and the engine gives this port {tx} tx queue(s) \
                     (one per worker, up to {}); set queues to {tx}",
                    d.name, d.max_tx_queues
                ),
            );
        }
    }
}

/// A port's MAC: ethdev sets only a unicast address other than zero, and only on a driver
/// that can set one.
fn mac(report: &mut Report, path: &str, text: &str, mac: [u8; 6], driver: Option<Driver>) {
    let why = if mac[0] & 1 == 1 {
        "is a multicast address"
    } else if mac == [0; 6] {
        "is all zeros"
    } else {
        if let Some(d) = driver.filter(|d| !d.sets_mac) {
            report.push(
                path,
                format!(
                    "driver {} cannot set its MAC address; remove mac from this port",
                    d.name
                ),
            );
        }
        return;
    };
    report.push(
        path,
        format!("{} {why}, which a port cannot take; give a unicast one (first byte even) such as 02:00:00:00:00:01", quote(text)),
    );
}

/// The most rx queues a port may have.
pub(super) const MAX_QUEUES: u64 = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_what_they_say() {
        assert!(vdev("net_null0") && vdev("net_memif0,role=server") && vdev("a,"));
        assert!(!vdev(",x") && !vdev("net null") && !vdev("net_null0,a\nb") && !vdev(""));
        assert!(pci("0000:03:00.0") && pci("03:00.7") && pci("abcd:ef:01.2"));
        assert!(!pci("03:00.8") && !pci("0000:03:00") && !pci("0000-03:00.0") && !pci("zz"));
        assert!(iface("veth0") && iface("a.b-c_d") && !iface("") && !iface("sixteen-chars-xx"));
        assert!(vdev_path("/tmp/é.pcap") && !vdev_path("a,b") && !vdev_path("a\u{7f}"));
        assert!(socket_path("/run/memif.sock") && !socket_path("memif.sock"));
        assert!(!socket_path(&format!("/{}", "s".repeat(107))) && !socket_path("/a,b"));
        assert!(port_name("a-b_1") && !port_name("1a") && !port_name("") && !port_name("a b"));
    }
}
