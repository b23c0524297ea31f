//! The shape of the traffic a generator's config asks for: its size mix as the order sizes
//! are made in, and its addresses and ports as spans to step through. Read by the
//! generator when it compiles and by validate, which reports a bad range before EAL starts.

use std::net::IpAddr;

use super::{GeneratorConfig, PortSpec, SizeItem, SizesConfig, DEFAULT_SIZE, IMIX};
use crate::net;

/// The sizes of `g` as (size, weight) pairs.
pub fn size_weights(g: &GeneratorConfig) -> Vec<(u64, u64)> {
    match &g.sizes {
        None => vec![(u64::from(g.packet_size.unwrap_or(DEFAULT_SIZE)), 1)],
        Some(SizesConfig::One(n)) => vec![(*n, 1)],
        Some(SizesConfig::Named(_)) => IMIX.iter().map(|&(s, w)| (u64::from(s), w)).collect(),
        Some(SizesConfig::List(items)) => items
            .iter()
            .map(|i| match i {
                SizeItem::Size(s) => (*s, 1),
                SizeItem::Weighted { size, weight } => (*size, *weight),
            })
            .collect(),
    }
}

/// Greatest common divisor.
pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The order sizes are made in: each size `weight / gcd` times per cycle, interleaved
/// smoothly (each next packet is the size furthest behind its share), so that a short run
/// already has the mix. Sizes are indices into `weights`.
pub fn schedule(weights: &[(u64, u64)]) -> Vec<usize> {
    let g = weights.iter().fold(0, |a, &(_, w)| gcd(a, w)).max(1);
    let shares: Vec<u64> = weights.iter().map(|&(_, w)| w / g).collect();
    let total: u64 = shares.iter().sum();
    let mut made = vec![0u64; shares.len()];
    let mut out = Vec::with_capacity(total as usize);
    for k in 1..=total {
        // The size whose share of k packets is furthest ahead of what it has had.
        let i = (0..shares.len())
            .rev()
            .max_by_key(|&i| (shares[i] * k).saturating_sub(made[i] * total))
            .unwrap_or(0);
        made[i] += 1;
        out.push(i);
    }
    out
}

/// A range of addresses or ports: its first value and how many (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First value.
    pub first: u128,
    /// Values in the range.
    pub len: u64,
}

/// `a` or `a-b` as a span of addresses (both of one family); whether it is IPv6.
pub fn ip_span(text: &str) -> Result<(Span, bool), String> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let parse = |t: &str| -> Result<IpAddr, String> {
        t.trim().parse().map_err(|_| {
            format!(
                "{} is not an IPv4 or IPv6 address, nor a range first-last of them",
                net::quote(text)
            )
        })
    };
    let (a, b) = (parse(a)?, parse(b)?);
    let num = |ip: IpAddr| match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    if a.is_ipv6() != b.is_ipv6() {
        return Err(format!(
            "{}: the range's ends are of two families",
            net::quote(text)
        ));
    }
    let (lo, hi) = (num(a), num(b));
    if hi < lo {
        return Err(format!(
            "{} is an empty range (its last address is below its first)",
            net::quote(text)
        ));
    }
    let len = u64::try_from(hi - lo + 1)
        .ok()
        .filter(|&n| n <= 1 << 32)
        .ok_or_else(|| {
            format!(
                "{} spans more than 2^32 addresses; narrow it",
                net::quote(text)
            )
        })?;
    Ok((Span { first: lo, len }, a.is_ipv6()))
}

/// A port or `"lo-hi"` as a span.
pub fn port_span(spec: &PortSpec) -> Result<Span, String> {
    let (lo, hi) = match spec {
        PortSpec::One(n) => (*n, *n),
        PortSpec::Range(text) => {
            let bad = || {
                format!(
                    "{} is not a port (0-65535) nor a range lo-hi of them",
                    net::quote(text)
                )
            };
            let (a, b) = text.split_once('-').unwrap_or((text, text));
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            (a, b)
        }
    };
    if lo > 65535 || hi > 65535 {
        return Err(format!("{} is not a port (0-65535)", lo.max(hi)));
    }
    if hi < lo {
        return Err(format!("{lo}-{hi} is an empty range (lo above hi)"));
    }
    Ok(Span {
        first: u128::from(lo),
        len: hi - lo + 1,
    })
}
