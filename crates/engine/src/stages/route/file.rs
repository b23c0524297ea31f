//! Route files, read line by line with every problem named by its line: DPDK l3fwd's format
//! (`R198.18.0.0/24 0`: `R`, a prefix, an output port number 0-255; IPv6 the same; `#` starts a
//! comment line) and a plain one (`198.18.0.0/24 uplink`: a prefix and a next hop's name). Lines
//! of both formats may mix; blank lines are skipped. A prefix with bits set past its length is
//! refused rather than masked: it is more often a typo than meant (`10.0.0.1/24`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::{quote, Prefix};

/// Where a route sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// An output port by number (l3fwd's format).
    Port(u8),
    /// A next hop by name (the plain format).
    NextHop(String),
}

/// One route of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLine {
    /// Its line, from 1.
    pub line: usize,
    /// The prefix as written (checked).
    pub prefix: String,
    /// Whether it is an IPv6 prefix.
    pub v6: bool,
    /// Where it sends.
    pub target: RouteTarget,
}

/// The routes of `text`, or every problem as `line N: what is wrong`.
pub fn parse(text: &str) -> Result<Vec<RouteLine>, Vec<String>> {
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed) {
            Ok((prefix, v6, target)) => routes.push(RouteLine {
                line,
                prefix: prefix.to_owned(),
                v6,
                target,
            }),
            Err(why) => problems.push(format!("line {line}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(routes)
    } else {
        Err(problems)
    }
}

fn parse_line(line: &str) -> Result<(&str, bool, RouteTarget), String> {
    let (l3fwd, rest) = match line.strip_prefix('R') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [prefix, target] = fields[..] else {
        return Err(format!(
            "{} has {} field(s); a route is {}",
            quote(line),
            fields.len(),
            if l3fwd {
                "R<prefix> <port>, e.g. R198.18.0.0/24 0"
            } else {
                "<prefix> <next hop>, e.g. 198.18.0.0/24 uplink (or l3fwd's R198.18.0.0/24 0)"
            }
        ));
    };
    let v6 = check_prefix(prefix)?;
    let target = if l3fwd {
        RouteTarget::Port(target.parse().map_err(|_| {
            format!(
                "{} is not a port number (0-255, as l3fwd's routes give them)",
                quote(target)
            )
        })?)
    } else if next_hop_name(target) {
        RouteTarget::NextHop(target.to_owned())
    } else {
        return Err(format!(
            "{} is not a next hop name (a letter, then letters, digits, _ or -)",
            quote(target)
        ));
    };
    Ok((prefix, v6, target))
}

/// Checks `prefix` (with its length: a route file names networks) and says whether it is IPv6.
fn check_prefix(prefix: &str) -> Result<bool, String> {
    // The engine's own prefix rules first (address, length within its width).
    let v6 = Prefix::parse(prefix)?.v6;
    let Some((addr, len)) = prefix.split_once('/') else {
        return Err(format!(
            "{} has no length: write a prefix such as 198.18.0.0/24",
            quote(prefix)
        ));
    };
    let len: u32 = len.parse().unwrap_or(0);
    let (value, bits): (u128, u32) = match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => (u128::from(u32::from(a)), 32),
        Ok(IpAddr::V6(a)) => (u128::from(a), 128),
        Err(_) => return Err(format!("{} is not a valid prefix", quote(prefix))),
    };
    // The bits past the length (all of them for /0: a shift by 128 would overflow).
    let host = 1u128
        .checked_shl(bits - len.min(bits))
        .map_or(u128::MAX, |v| v - 1);
    if value & host != 0 {
        let network = value & !host;
        let suggestion = if v6 {
            Ipv6Addr::from(network).to_string()
        } else {
            Ipv4Addr::from(u32::try_from(network).unwrap_or(0)).to_string()
        };
        return Err(format!(
            "{} has bits set past its length: did you mean {suggestion}/{len}?",
            quote(prefix)
        ));
    }
    Ok(v6)
}

fn next_hop_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_mix_with_comments_and_blank_lines() {
        let text = "# l3fwd's routes\nR198.18.0.0/24 0\n\nR2001:db8::/32 1\n198.18.1.0/24 uplink\n  # indented comment\n";
        let routes = parse(text).unwrap();
        assert_eq!(
            routes,
            [
                RouteLine {
                    line: 2,
                    prefix: "198.18.0.0/24".into(),
                    v6: false,
                    target: RouteTarget::Port(0)
                },
                RouteLine {
                    line: 4,
                    prefix: "2001:db8::/32".into(),
                    v6: true,
                    target: RouteTarget::Port(1)
                },
                RouteLine {
                    line: 5,
                    prefix: "198.18.1.0/24".into(),
                    v6: false,
                    target: RouteTarget::NextHop("uplink".into())
                },
            ]
        );
    }

    #[test]
    fn every_bad_line_is_named_with_what_is_wrong() {
        let text = "R198.18.0.0/24\nR198.18.0.0/33 0\nR10.0.0.1/24 0\nR10.0.0.0/8 256\n10.0.0.0/8 9up\n10.0.0.0 up\nR2001:db8::1/32 0\n";
        assert_eq!(
            parse(text).unwrap_err(),
            [
                "line 1: \"R198.18.0.0/24\" has 1 field(s); a route is R<prefix> <port>, e.g. R198.18.0.0/24 0",
                "line 2: \"198.18.0.0/33\" is not a valid IPv4 prefix",
                "line 3: \"10.0.0.1/24\" has bits set past its length: did you mean 10.0.0.0/24?",
                "line 4: \"256\" is not a port number (0-255, as l3fwd's routes give them)",
                "line 5: \"9up\" is not a next hop name (a letter, then letters, digits, _ or -)",
                "line 6: \"10.0.0.0\" has no length: write a prefix such as 198.18.0.0/24",
                "line 7: \"2001:db8::1/32\" has bits set past its length: did you mean 2001:db8::/32?",
            ]
        );
    }

    #[test]
    fn a_default_route_and_host_routes_are_prefixes_too() {
        let routes = parse("R0.0.0.0/0 3\nR192.0.2.7/32 1\n::/0 fallback\n").unwrap();
        assert_eq!(routes.len(), 3);
        assert!(routes[2].v6);
    }
}
