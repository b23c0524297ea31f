//! The `route` stage's config and its rules: prefixes well formed and without host bits, each
//! once (inline and in the routes file together), every `via` and `default` naming a next hop,
//! every next hop a known port and MACs, room for the routes the config gives.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use super::table::Capacity;
use crate::net::{quote, Prefix};
use crate::validate::StageCheck;

/// Longest-prefix-match routing (RFC 1812 forwarding): `{ kind: 'route', name?, routes:
/// [{ prefix, via }], routesFile?, nextHops: { name: { port, dstMac, srcMac? } }, default?,
/// maxRoutes?: { ipv4?, ipv6? } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteConfig {
    /// A name for stats; defaults to `stage<i>`.
    #[serde(default)]
    pub name: Option<String>,
    /// IPv4 and IPv6 routes, in one list.
    #[serde(default)]
    pub routes: Vec<RouteEntryConfig>,
    /// A file of more routes (l3fwd's format or `prefix nextHop` lines: [`super::file`]),
    /// read when the config is checked and compiled; relative to the working directory.
    #[serde(default)]
    pub routes_file: Option<String>,
    /// Next hops by name.
    pub next_hops: BTreeMap<String, NextHopConfig>,
    /// The next hop of packets no route covers; absent: they are dropped (`noRoute`).
    #[serde(default)]
    pub default: Option<String>,
    /// Routes each family's table has room for, for routes added live; see [`capacity`].
    #[serde(default)]
    pub max_routes: MaxRoutes,
}

/// Room for routes, per family: `{ ipv4?, ipv6? }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxRoutes {
    /// IPv4 routes.
    #[serde(default)]
    pub ipv4: Option<u32>,
    /// IPv6 routes.
    #[serde(default)]
    pub ipv6: Option<u32>,
}

impl MaxRoutes {
    fn of(self, v6: bool) -> Option<u32> {
        if v6 {
            self.ipv6
        } else {
            self.ipv4
        }
    }
}

/// The most routes a family's table may be given room for (DPDK counts a table's trie nodes
/// in an `i32`, two per route).
pub const MAX_ROUTES: u32 = 1 << 24;

/// Room a family's table gets without `maxRoutes`: the config's routes of that family rounded
/// up to a power of two, and at least this, so that routes can be added live.
pub const DEFAULT_ROOM: u32 = 1024;

/// One route: `{ prefix: '198.18.0.0/24', via: 'hopName' }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntryConfig {
    /// `198.18.0.0/24`, `2001:db8::/32`, or an address alone (a host route).
    pub prefix: String,
    /// The next hop's name.
    pub via: String,
}

/// Where a next hop is: the port to send on and the MACs to put on the frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NextHopConfig {
    /// Output port name.
    pub port: String,
    /// The next hop's MAC.
    pub dst_mac: String,
    /// Source MAC; absent means the port's own.
    #[serde(default)]
    pub src_mac: Option<String>,
}

/// A route's prefix, parsed: family, address (IPv4 in the low 32 bits), length. Ordered IPv4
/// first, then by address, then by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutePrefix {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// The address, host bits zero.
    pub addr: u128,
    /// Prefix length.
    pub len: u8,
}

impl RoutePrefix {
    /// The IPv4 address (for an IPv4 prefix).
    pub fn v4(self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr as u32)
    }

    /// The IPv6 address (for an IPv6 prefix).
    pub fn v6(self) -> Ipv6Addr {
        Ipv6Addr::from(self.addr)
    }
}

impl std::fmt::Display for RoutePrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.v6 {
            write!(f, "{}/{}", self.v6(), self.len)
        } else {
            write!(f, "{}/{}", self.v4(), self.len)
        }
    }
}

/// Where a route was written: `routes[i]`, or a line of the routes file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// `routes[i]`.
    Inline(usize),
    /// The routes file's line (from 1).
    File(usize),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(i) => write!(f, "routes[{i}]"),
            Self::File(line) => write!(f, "routesFile line {line}"),
        }
    }
}

/// A route the config gives, inline or in its file: where it was written, its prefix and its
/// next hop's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Where it was written.
    pub origin: Origin,
    /// The prefix.
    pub prefix: RoutePrefix,
    /// The next hop's name.
    pub via: String,
}

impl Declared {
    /// Where a problem with its `field` (`prefix`, `via`) is reported (relative to the stage),
    /// and what the message starts with.
    pub fn at(&self, field: &str) -> (String, String) {
        match self.origin {
            Origin::File(line) => ("routesFile".to_owned(), format!("line {line}: ")),
            Origin::Inline(i) => (format!("routes[{i}].{field}"), String::new()),
        }
    }
}

/// Every route `config` gives (inline ones first, then the file's), and every problem reading
/// them as (path, reason): prefixes that do not parse, a file that cannot be read or has bad
/// lines.
pub fn declared(config: &RouteConfig) -> (Vec<Declared>, Vec<(String, String)>) {
    let mut routes = Vec::with_capacity(config.routes.len());
    let mut problems = Vec::new();
    for (i, route) in config.routes.iter().enumerate() {
        match parse_prefix(&route.prefix) {
            Ok(prefix) => routes.push(Declared {
                origin: Origin::Inline(i),
                prefix,
                via: route.via.clone(),
            }),
            Err(why) => problems.push((format!("routes[{i}].prefix"), why)),
        }
    }
    if let Some(file) = &config.routes_file {
        match std::fs::read_to_string(file) {
            Err(e) => problems.push((
                "routesFile".to_owned(),
                format!(
                    "could not read {}: {e}; give a path relative to the directory the engine runs in, or an absolute one",
                    quote(file)
                ),
            )),
            Ok(text) => match super::file::parse(&text) {
                Ok(lines) => routes.extend(lines.into_iter().map(|l| Declared {
                    origin: Origin::File(l.line),
                    prefix: l.prefix,
                    via: l.via,
                })),
                Err(lines) => {
                    problems.extend(lines.into_iter().map(|l| ("routesFile".to_owned(), l)));
                }
            },
        }
    }
    (routes, problems)
}

/// The room each family's table gets: `maxRoutes` where given, else the config's routes of
/// that family rounded up to a power of two and at least [`DEFAULT_ROOM`]; a family with
/// neither gets no table (0).
pub fn capacity(config: &RouteConfig, routes: &[Declared]) -> Capacity {
    let v6 = routes.iter().filter(|r| r.prefix.v6).count();
    room(config, [routes.len() - v6, v6])
}

/// How many routes of each family (IPv4, IPv6) `config` gives, counted without parsing them
/// (for a config that was checked: the memory plan's estimate), and the room they get.
pub fn counted_capacity(config: &RouteConfig) -> Capacity {
    let mut n = [0usize; 2];
    for r in &config.routes {
        n[usize::from(r.prefix.contains(':'))] += 1;
    }
    if let Some(text) = config
        .routes_file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
    {
        let [v4, v6] = super::file::families(&text);
        n[0] += v4;
        n[1] += v6;
    }
    room(config, n)
}

fn room(config: &RouteConfig, [v4, v6]: [usize; 2]) -> Capacity {
    let room = |v6: bool, n: usize| {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match config.max_routes.of(v6) {
            Some(max) => max.max(n),
            None if n == 0 => 0,
            None => n.next_power_of_two().clamp(DEFAULT_ROOM, MAX_ROUTES.max(n)),
        }
    };
    Capacity {
        v4: room(false, v4),
        v6: room(true, v6),
    }
}

/// Parses a route prefix: the syntax of `match`'s prefixes, and no host bits set (a route
/// with them is almost always a typo for another route).
pub fn parse_prefix(text: &str) -> Result<RoutePrefix, String> {
    let (v6, value, len) = Prefix::parts(text)?;
    let width = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let host = width.checked_shr(len).unwrap_or(0);
    if value & host != 0 {
        let masked = value & !host;
        let addr = if v6 {
            Ipv6Addr::from(masked).to_string()
        } else {
            Ipv4Addr::from(masked as u32).to_string()
        };
        return Err(format!(
            "{} has host bits set; write {addr}/{len}",
            quote(text)
        ));
    }
    Ok(RoutePrefix {
        v6,
        addr: value,
        // At most 128: `parts` checked it against the family's width.
        len: len as u8,
    })
}

/// The stage's name: its own, or `stage<i>`.
pub fn stage_name(config: &RouteConfig, stage: usize) -> String {
    config
        .name
        .clone()
        .unwrap_or_else(|| format!("stage{stage}"))
}

/// Every rule of the stage, each problem at its path.
pub fn check(config: &RouteConfig, cx: &mut StageCheck<'_>) {
    if let Some(name) = &config.name {
        let path = cx.at("name");
        cx.report.filled(&path, name);
    }
    cx.counter_name("name", stage_name(config, cx.stage));
    if config.next_hops.is_empty() {
        cx.push(
            "nextHops",
            "a route stage needs at least one next hop: { name: { port, dstMac } }",
        );
    }
    for (name, hop) in &config.next_hops {
        if name.is_empty() {
            cx.push("nextHops", "a next hop's name must not be empty");
        }
        cx.port(&format!("nextHops.{name}.port"), &hop.port);
        cx.mac(&format!("nextHops.{name}.dstMac"), &hop.dst_mac);
        if let Some(src) = &hop.src_mac {
            cx.mac(&format!("nextHops.{name}.srcMac"), src);
        }
    }
    let known = |via: &str| config.next_hops.contains_key(via);
    let unknown =
        |via: &str| {
            let names: Vec<&str> = config.next_hops.keys().map(String::as_str).collect();
            format!(
            "{} is not a next hop of this stage (nextHops: {}); add it to nextHops or fix the name",
            quote(via),
            if names.is_empty() { "none".into() } else { names.join(", ") }
        )
        };
    if let Some(default) = config.default.as_deref().filter(|d| !known(d)) {
        cx.push("default", unknown(default));
    }
    let (routes, problems) = declared(config);
    // Every problem of the routes in config order: inline ones by index, then the file's.
    // Problems in config order: inline routes by index, then the routes file by line.
    let order = |path: &str, why: &str| {
        let number = |text: Option<&str>| text.and_then(|t| t.parse::<usize>().ok());
        match number(
            path.strip_prefix("routes[")
                .and_then(|r| r.split(']').next()),
        ) {
            Some(i) => (i, 0),
            None => (
                usize::MAX,
                number(why.strip_prefix("line ").and_then(|r| r.split(':').next())).unwrap_or(0),
            ),
        }
    };
    let mut found: Vec<((usize, usize), String, String)> = problems
        .into_iter()
        .map(|(path, why)| (order(&path, &why), path, why))
        .collect();
    // Each prefix once: sorted by prefix (then as written), a prefix equal to the one before
    // it repeats the first of its run. (A sort, not a hash set: a routes file may hold millions.)
    let mut by_prefix: Vec<(RoutePrefix, u32)> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| (r.prefix, i as u32))
        .collect();
    by_prefix.sort_unstable();
    for pair in by_prefix.chunk_by(|a, b| a.0 == b.0) {
        let first = &routes[pair[0].1 as usize];
        for &(_, i) in &pair[1..] {
            let route = &routes[i as usize];
            let (path, line) = route.at("prefix");
            let why = format!(
                "{line}{} is routed already by {}; keep one of them",
                route.prefix, first.origin
            );
            found.push((order(&path, &why), path, why));
        }
    }
    for route in &routes {
        if !known(&route.via) {
            let (path, line) = route.at("via");
            let why = format!("{line}{}", unknown(&route.via));
            found.push((order(&path, &why), path, why));
        }
    }
    found.sort_by_key(|(order, ..)| *order);
    for (_, path, why) in found {
        cx.push(&path, why);
    }
    for (v6, field) in [(false, "ipv4"), (true, "ipv6")] {
        let Some(max) = config.max_routes.of(v6) else {
            continue;
        };
        let given = routes.iter().filter(|r| r.prefix.v6 == v6).count();
        if max == 0 || max > MAX_ROUTES {
            cx.push(
                &format!("maxRoutes.{field}"),
                format!("{max} is out of range: a table holds 1 to {MAX_ROUTES} routes"),
            );
        } else if (max as usize) < given {
            cx.push(
                &format!("maxRoutes.{field}"),
                format!("{max} is fewer than the {given} {} routes the config gives; raise it or leave it out", if v6 { "IPv6" } else { "IPv4" }),
            );
        }
    }
}

#[cfg(test)]
mod tests;
