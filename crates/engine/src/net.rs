//! Addresses and packet headers: parsing config strings, and reading/writing the Ethernet,
//! VLAN, IPv4/IPv6 and TCP/UDP fields the stages need, straight from packet bytes.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A MAC address.
pub type Mac = [u8; 6];

/// Ethertypes.
pub const ETH_IPV4: u16 = 0x0800;
/// IPv6.
pub const ETH_IPV6: u16 = 0x86dd;
/// 802.1Q VLAN tag.
pub const ETH_VLAN: u16 = 0x8100;
/// 802.1ad outer tag.
pub const ETH_QINQ: u16 = 0x88a8;

/// `aa:bb:cc:dd:ee:ff` (or with `-`) → bytes: six pairs of hex digits.
pub fn parse_mac(text: &str) -> Result<Mac, String> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    let bad = || {
        format!(
            "{} is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)",
            quote(text)
        )
    };
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// `text` quoted as JavaScript's `JSON.stringify` quotes it, so that messages read the
/// same whichever side reports them: `"a\"b"`, control characters as `\n` or `\u001f`.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An IPv4 or IPv6 prefix, stored as masked 128-bit values (IPv4 in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// IPv6 (else IPv4).
    pub v6: bool,
    addr: u128,
    mask: u128,
}

impl Prefix {
    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a full-length prefix). The length
    /// is one to three decimal digits, at most the address's width.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (v6, value, len) = Self::parts(text)?;
        let bits = if v6 { 128 } else { 32 };
        let width_mask = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let mask = if len == 0 {
            0
        } else {
            (width_mask >> (bits - len)) << (bits - len)
        } & width_mask;
        Ok(Self {
            v6,
            addr: value & mask,
            mask,
        })
    }

    /// A prefix as written, checked as [`Prefix::parse`] checks it: whether it is IPv6, the
    /// address (IPv4 in the low 32 bits, bits past the length as written), the length.
    pub fn parts(text: &str) -> Result<(bool, u128, u32), String> {
        let mut parts = text.split('/');
        let addr = parts.next().unwrap_or_default();
        let (len, extra) = (parts.next(), parts.next());
        let ip: IpAddr = match (addr.parse(), extra) {
            (Ok(ip), None) => ip,
            _ => {
                return Err(format!(
                    "{} is not a valid IPv4 or IPv6 prefix",
                    quote(text)
                ))
            }
        };
        let (v6, bits, value) = match ip {
            IpAddr::V4(v4) => (false, 32u32, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (true, 128u32, u128::from(v6)),
        };
        let len = match len {
            None => bits,
            Some(l) => match l.parse::<u32>() {
                Ok(n)
                    if (1..=3).contains(&l.len())
                        && l.bytes().all(|b| b.is_ascii_digit())
                        && n <= bits =>
                {
                    n
                }
                _ => {
                    return Err(format!(
                        "{} is not a valid {} prefix",
                        quote(text),
                        if v6 { "IPv6" } else { "IPv4" }
                    ))
                }
            },
        };
        Ok((v6, value, len))
    }

    /// Whether `ip` falls inside.
    #[inline]
    pub fn contains(&self, ip: Ip) -> bool {
        match ip {
            Ip::V4(a) => !self.v6 && (u128::from(a) & self.mask) == self.addr,
            Ip::V6(a) => self.v6 && (a & self.mask) == self.addr,
        }
    }
}

/// An address read from a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    /// IPv4, host order.
    V4(u32),
    /// IPv6, host order.
    V6(u128),
}

/// What the match stage looks at, parsed once per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Headers {
    /// Ethertype after VLAN tags.
    pub ethertype: u16,
    /// Outer VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Offset of the L3 header.
    pub l3: usize,
    /// Source/destination address, for IP packets.
    pub src: Option<Ip>,
    /// Destination address.
    pub dst: Option<Ip>,
    /// IP protocol.
    pub proto: Option<u8>,
    /// Offset of the L4 header, for IP packets.
    pub l4: Option<usize>,
    /// L4 source/destination port (TCP, UDP, SCTP), first fragment only.
    pub ports: Option<(u16, u16)>,
}

#[inline]
fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Parses Ethernet (+ up to two VLAN tags), IPv4/IPv6 and TCP/UDP/SCTP ports. Truncated or
/// unknown layers simply stay `None`.
pub fn parse(p: &[u8]) -> Headers {
    let mut h = Headers::default();
    let Some(mut ethertype) = be16(p, 12) else {
        return h;
    };
    let mut at = 14;
    for _ in 0..2 {
        if ethertype != ETH_VLAN && ethertype != ETH_QINQ {
            break;
        }
        let Some(tci) = be16(p, at) else { return h };
        h.vlan.get_or_insert(tci & 0x0fff);
        let Some(next) = be16(p, at + 2) else {
            return h;
        };
        ethertype = next;
        at += 4;
    }
    h.ethertype = ethertype;
    h.l3 = at;
    match ethertype {
        ETH_IPV4 if p.len() >= at + 20 => {
            let ihl = usize::from(p[at] & 0x0f) * 4;
            h.proto = Some(p[at + 9]);
            h.src = Some(Ip::V4(u32::from_be_bytes(
                p[at + 12..at + 16].try_into().unwrap_or_default(),
            )));
            h.dst = Some(Ip::V4(u32::from_be_bytes(
                p[at + 16..at + 20].try_into().unwrap_or_default(),
            )));
            let fragment_offset = be16(p, at + 6).unwrap_or(0) & 0x1fff;
            if ihl >= 20 && fragment_offset == 0 {
                h.l4 = Some(at + ihl);
            }
        }
        ETH_IPV6 if p.len() >= at + 40 => {
            h.proto = Some(p[at + 6]);
            h.src = Some(Ip::V6(u128::from_be_bytes(
                p[at + 8..at + 24].try_into().unwrap_or_default(),
            )));
            h.dst = Some(Ip::V6(u128::from_be_bytes(
                p[at + 24..at + 40].try_into().unwrap_or_default(),
            )));
            h.l4 = Some(at + 40);
        }
        _ => {}
    }
    if let (Some(l4), Some(6 | 17 | 132)) = (h.l4, h.proto) {
        if let (Some(s), Some(d)) = (be16(p, l4), be16(p, l4 + 2)) {
            h.ports = Some((s, d));
        }
    }
    h
}

/// Swaps the source and destination MAC.
#[inline]
pub fn swap_macs(p: &mut [u8]) {
    if let Some(head) = p.first_chunk_mut::<16>() {
        // One 16-byte load and store: bytes 0-5 (dst) and 6-11 (src) trade places.
        const MAC_BITS: u128 = (1 << 48) - 1;
        let x = u128::from_le_bytes(*head);
        let swapped = ((x >> 48) & MAC_BITS) | ((x & MAC_BITS) << 48) | (x >> 96 << 96);
        *head = swapped.to_le_bytes();
    } else if p.len() >= 12 {
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&p[..6]);
        p.copy_within(6..12, 0);
        p[6..12].copy_from_slice(&dst);
    }
}

#[inline]
fn swap_ranges(p: &mut [u8], a: usize, b: usize, len: usize) {
    if b + len <= p.len() {
        let mut tmp = [0u8; 16];
        tmp[..len].copy_from_slice(&p[a..a + len]);
        p.copy_within(b..b + len, a);
        p[b..b + len].copy_from_slice(&tmp[..len]);
    }
}

/// Swaps MACs, IP addresses and L4 ports (checksums stay valid: each sum is symmetric).
/// Reads only what it swaps: one optional VLAN tag, the IP header, the L4 ports.
#[inline]
pub fn swap_five_tuple(p: &mut [u8]) {
    swap_macs(p);
    swap_addresses_and_ports(p);
}

/// [`swap_five_tuple`] but the MACs: the IP addresses and L4 ports.
#[inline]
pub fn swap_addresses_and_ports(p: &mut [u8]) {
    let Some(mut ethertype) = be16(p, 12) else {
        return;
    };
    let mut l3 = 14;
    if ethertype == ETH_VLAN || ethertype == ETH_QINQ {
        let Some(inner) = be16(p, 16) else { return };
        ethertype = inner;
        l3 = 18;
    }
    let (proto, l4) = match ethertype {
        ETH_IPV4 if p.len() >= l3 + 20 => {
            swap_ranges(p, l3 + 12, l3 + 16, 4);
            let fragment_offset = be16(p, l3 + 6).unwrap_or(0) & 0x1fff;
            let ihl = usize::from(p[l3] & 0x0f) * 4;
            (
                p[l3 + 9],
                (fragment_offset == 0 && ihl >= 20).then_some(l3 + ihl),
            )
        }
        ETH_IPV6 if p.len() >= l3 + 40 => {
            swap_ranges(p, l3 + 8, l3 + 24, 16);
            (p[l3 + 6], Some(l3 + 40))
        }
        _ => return,
    };
    if let (6 | 17 | 132, Some(l4)) = (proto, l4) {
        swap_ranges(p, l4, l4 + 2, 2);
    }
}

/// The Internet checksum of `data` (RFC 1071), folded and complemented.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A UDP/IPv4 frame of `size` bytes (no FCS) with a valid IPv4 header checksum and a zero
/// (absent) UDP checksum. The payload carries nothing but zeros.
pub fn udp4_frame(
    size: usize,
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    let size = size.max(42);
    let mut f = vec![0u8; size];
    f[..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_IPV4.to_be_bytes());
    let ip_len = (size - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let udp = &mut f[34..42];
    udp[..2].copy_from_slice(&sport.to_be_bytes());
    udp[2..4].copy_from_slice(&dport.to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

/// Parses an IPv4 address for the generator.
pub fn parse_ipv4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse()
        .map_err(|_| format!("{} is not an IPv4 address", quote(text)))
}

/// Parses an IPv6 address (for tests and tools).
pub fn parse_ipv6(text: &str) -> Result<Ipv6Addr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IPv6 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_print() {
        assert_eq!(
            parse_mac("02:00:0a:FF:00:01").unwrap(),
            [2, 0, 10, 255, 0, 1]
        );
        assert_eq!(format_mac([2, 0, 10, 255, 0, 1]), "02:00:0a:ff:00:01");
        assert!(parse_mac("02:00:0a:ff:00")
            .unwrap_err()
            .contains("not a MAC address"));
        assert!(parse_mac("02:00:0a:ff:00:zz").is_err());
    }

    #[test]
    fn prefixes_check_their_length() {
        assert_eq!(
            Prefix::parse("10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" is not a valid IPv4 prefix"
        );
        assert!(Prefix::parse("2001:db8::/129").is_err());
        let p = Prefix::parse("10.1.0.0/16").unwrap();
        assert!(p.contains(Ip::V4(u32::from(Ipv4Addr::new(10, 1, 200, 3)))));
        assert!(!p.contains(Ip::V4(u32::from(Ipv4Addr::new(10, 2, 0, 1)))));
        let any = Prefix::parse("0.0.0.0/0").unwrap();
        assert!(any.contains(Ip::V4(0xdead_beef)) && !any.contains(Ip::V6(1)));
        let v6 = Prefix::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(Ip::V6(u128::from(parse_ipv6("2001:db8:1::5").unwrap()))));
        assert!(!v6.contains(Ip::V6(u128::from(parse_ipv6("2001:db9::5").unwrap()))));
    }

    #[test]
    fn headers_parse_through_vlan_tags() {
        let mut f = udp4_frame(
            64,
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            1234,
            53,
        );
        let h = parse(&f);
        assert_eq!(
            (h.ethertype, h.vlan, h.proto, h.ports),
            (ETH_IPV4, None, Some(17), Some((1234, 53)))
        );
        assert_eq!(checksum(&f[14..34]), 0, "the IPv4 header checksum verifies");
        let tag = [0x81, 0x00, 0x00, 0x64];
        f.splice(12..12, tag);
        let h = parse(&f);
        assert_eq!(
            (h.ethertype, h.vlan, h.ports),
            (ETH_IPV4, Some(100), Some((1234, 53)))
        );
    }

    #[test]
    fn five_tuple_swap_swaps_everything_and_keeps_the_checksum() {
        let mut f = udp4_frame(
            64,
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            1234,
            53,
        );
        swap_five_tuple(&mut f);
        let h = parse(&f);
        assert_eq!(&f[..12], &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
        assert_eq!(h.src, Some(Ip::V4(u32::from(Ipv4Addr::new(10, 0, 0, 2)))));
        assert_eq!(h.ports, Some((53, 1234)));
        assert_eq!(checksum(&f[14..34]), 0);
    }
}
