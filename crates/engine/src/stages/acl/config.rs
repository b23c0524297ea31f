//! The `acl` stage's config, its rules put in one form ([`RuleSpec`]) whether written inline
//! or read from a rules file, and its checks: every field of every rule, each problem at its
//! path (`rules[3].dstPorts`) or its file line (`rulesFile: line 12: dst: …`).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::rules_file;
use crate::config::forms;
use crate::net::quote;
use crate::stages::r#match::ActionConfig;
use crate::validate::StageCheck;

/// Rules over the IP 5-tuple and VLAN, first match wins: `{ kind: 'acl', name?, rules?:
/// [...], rulesFile?: path, default?: 'pass' | 'drop' }` (rules inline or from a file in
/// DPDK l3fwd's ACL format, not both).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AclConfig {
    /// A name for stats; defaults to `stage<i>`.
    #[serde(default)]
    pub name: Option<String>,
    /// The rules, inline.
    #[serde(default)]
    pub rules: Vec<AclRuleConfig>,
    /// A file of rules in l3fwd's ACL format (`@src/len dst/len sp : sp dp : dp proto/mask`),
    /// each a drop rule as in l3fwd; relative paths from the engine's working directory.
    #[serde(default)]
    pub rules_file: Option<String>,
    /// What happens to packets no rule matches (non-IP ones included): `pass` (default, on to
    /// the next stage) or `drop`.
    #[serde(default)]
    pub default: DefaultAction,
    /// The most memory, in MiB, each of the stage's classifiers (IPv4, IPv6) may take for
    /// its tries; default [`default_trie_bytes`]. Rules with many distinct port ranges need
    /// more.
    #[serde(default, rename = "memoryMiB")]
    pub memory_mib: Option<u32>,
}

/// Tries a classifier of `rules` rules may take by default: 4 MiB + 2 KiB per rule (10,000
/// rules of the usual kinds take 2 MiB; 10,000 rules of random port ranges on both ports,
/// 75 MiB: those need `memoryMiB`).
pub fn default_trie_bytes(rules: usize) -> usize {
    (4 << 20) + rules * 2048
}

/// Largest `memoryMiB`.
pub const MAX_MEMORY_MIB: u32 = 65_536;

/// What an ACL does with packets no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultAction {
    /// On to the next stage.
    #[default]
    Pass,
    /// Dropped (counted as the pipeline's drops).
    Drop,
}

/// One inline rule: every given field must hold; `action` as a `match` stage's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AclRuleConfig {
    /// A name for its counter; defaults to `rule<i>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Higher is checked first; equal priorities (default 0) go in list order.
    #[serde(default)]
    pub priority: Option<u32>,
    /// Source prefix, IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`, an address alone).
    #[serde(default)]
    pub src: Option<String>,
    /// Destination prefix.
    #[serde(default)]
    pub dst: Option<String>,
    /// Source L4 ports: a number or `'lo-hi'`.
    #[serde(default, deserialize_with = "ports_form")]
    pub src_ports: Option<PortsForm>,
    /// Destination L4 ports.
    #[serde(default, deserialize_with = "ports_form")]
    pub dst_ports: Option<PortsForm>,
    /// IP protocol, by number or name.
    #[serde(default, deserialize_with = "forms::protocol")]
    pub proto: Option<u8>,
    /// Bits of `proto` that must match (default 0xff: all).
    #[serde(default)]
    pub proto_mask: Option<u8>,
    /// Outer VLAN id.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// What a matching packet gets.
    pub action: ActionConfig,
}

/// L4 ports as written: a number, or text `lo-hi` (checked by [`parse_ports`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortsForm {
    /// One port.
    Number(u16),
    /// `'1024-65535'` or `'80'`.
    Text(String),
}

fn ports_form<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PortsForm>, D::Error> {
    struct Form;
    impl Visitor<'_> for Form {
        type Value = PortsForm;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an L4 port or a range 'lo-hi'")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortsForm, E> {
            u16::try_from(v)
                .map(PortsForm::Number)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortsForm, E> {
            u64::try_from(v)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<PortsForm, E> {
            Ok(PortsForm::Text(v.to_owned()))
        }
    }
    d.deserialize_any(Form).map(Some)
}

/// An inclusive port range from its form: `80`, `'80'`, `'1024-65535'`.
pub fn parse_ports(form: &PortsForm) -> Result<(u16, u16), String> {
    let port = |text: &str| text.trim().parse::<u16>().ok();
    match form {
        PortsForm::Number(p) => Ok((*p, *p)),
        PortsForm::Text(text) => {
            let range = match text.split_once('-') {
                Some((lo, hi)) => port(lo).zip(port(hi)),
                None => port(text).map(|p| (p, p)),
            };
            match range {
                Some((lo, hi)) if lo <= hi => Ok((lo, hi)),
                Some((lo, hi)) => Err(format!(
                    "{} is an empty range (low {lo} above high {hi})",
                    quote(text)
                )),
                None => Err(format!(
                    "{} is not a port or a range lo-hi of ports 0-65535 (e.g. '1024-65535')",
                    quote(text)
                )),
            }
        }
    }
}

/// A rule's prefix: family, address (IPv4 in the low 32 bits), length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclPrefix {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// The address, host bits zero.
    pub addr: u128,
    /// Prefix length.
    pub len: u8,
}

impl AclPrefix {
    /// Whether the address `addr` (of this family, IPv4 in the low 32 bits) is inside.
    pub fn contains(&self, addr: u128) -> bool {
        let bits = if self.v6 { 128 } else { 32 };
        let shift = bits - u32::from(self.len);
        addr.checked_shr(shift).unwrap_or(0) == self.addr.checked_shr(shift).unwrap_or(0)
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or an address alone; bits set past the length are refused
/// (more often a typo than meant), with the prefix that was likely meant.
pub fn parse_prefix(text: &str) -> Result<AclPrefix, String> {
    crate::net::Prefix::parse(text)?;
    let (addr, len) = text
        .split_once('/')
        .map_or((text, None), |(a, l)| (a, Some(l)));
    let (v6, bits, value) = match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => (false, 32u8, u128::from(u32::from(a))),
        Ok(IpAddr::V6(a)) => (true, 128u8, u128::from(a)),
        Err(_) => return Err(format!("{} is not a valid prefix", quote(text))),
    };
    let len = len
        .map_or(Ok(bits), str::parse::<u8>)
        .map_err(|_| format!("{} is not a valid prefix", quote(text)))?;
    let width = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let host = width.checked_shr(u32::from(len)).unwrap_or(0);
    if value & host != 0 {
        let masked = value & !host;
        let addr = if v6 {
            std::net::Ipv6Addr::from(masked).to_string()
        } else {
            std::net::Ipv4Addr::from(masked as u32).to_string()
        };
        return Err(format!(
            "{} has host bits set; write {addr}/{len}",
            quote(text)
        ));
    }
    Ok(AclPrefix {
        v6,
        addr: value,
        len,
    })
}

/// A rule in the one form inline and file rules share, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Its counter's name.
    pub name: String,
    /// Its priority (higher first).
    pub priority: u32,
    /// Source prefix.
    pub src: Option<AclPrefix>,
    /// Destination prefix.
    pub dst: Option<AclPrefix>,
    /// Source ports, inclusive; `None`: any (also packets without ports).
    pub src_ports: Option<(u16, u16)>,
    /// Destination ports.
    pub dst_ports: Option<(u16, u16)>,
    /// Protocol value and mask; `None`: any.
    pub proto: Option<(u8, u8)>,
    /// Outer VLAN id.
    pub vlan: Option<u16>,
    /// The family it applies to: `Some(v6)`, or `None`: both (an inline rule without
    /// prefixes).
    pub family: Option<bool>,
    /// What it does.
    pub action: ActionConfig,
}

/// Ranges covering every port are no condition: l3fwd's files write `0 : 65535` for "any".
fn ports_condition(range: (u16, u16)) -> Option<(u16, u16)> {
    (range != (0, u16::MAX)).then_some(range)
}

/// The stage's name: its own, or `stage<i>`.
pub fn stage_name(config: &AclConfig, stage: usize) -> String {
    config
        .name
        .clone()
        .unwrap_or_else(|| format!("stage{stage}"))
}

/// An inline rule in its common form, or its problems as (field, message).
fn inline_rule(i: usize, rule: &AclRuleConfig) -> Result<RuleSpec, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut prefix = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(parse_prefix)
            .transpose()
            .unwrap_or_else(|why| {
                problems.push((field.to_owned(), why));
                None
            })
    };
    let src = prefix("src", &rule.src);
    let dst = prefix("dst", &rule.dst);
    let mut ports = |field: &str, form: &Option<PortsForm>| {
        form.as_ref()
            .map(parse_ports)
            .transpose()
            .unwrap_or_else(|why| {
                problems.push((field.to_owned(), why));
                None
            })
    };
    let src_ports = ports("srcPorts", &rule.src_ports);
    let dst_ports = ports("dstPorts", &rule.dst_ports);
    if let (Some(s), Some(d)) = (src, dst) {
        if s.v6 != d.v6 {
            problems.push((
                "dst".into(),
                format!(
                    "{} is not of src's family ({}); a rule matches IPv4 or IPv6 packets, not both",
                    quote(rule.dst.as_deref().unwrap_or_default()),
                    if s.v6 { "IPv6" } else { "IPv4" }
                ),
            ));
        }
    }
    if let Some(vlan) = rule.vlan.filter(|v| *v > 4095) {
        problems.push((
            "vlan".into(),
            format!("number {vlan} Too big: expected number to be <=4095"),
        ));
    }
    if rule.proto_mask.is_some() && rule.proto.is_none() {
        problems.push((
            "protoMask".into(),
            "a protoMask needs a proto to mask".into(),
        ));
    }
    if let Some(name) = &rule.name {
        if name.is_empty() {
            problems.push((
                "name".into(),
                "\"\" Too small: expected string to have >=1 characters".into(),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(RuleSpec {
        name: rule.name.clone().unwrap_or_else(|| format!("rule{i}")),
        priority: rule.priority.unwrap_or(0),
        src,
        dst,
        src_ports: src_ports.and_then(ports_condition),
        dst_ports: dst_ports.and_then(ports_condition),
        proto: rule.proto.map(|p| (p, rule.proto_mask.unwrap_or(0xff))),
        vlan: rule.vlan,
        family: src.or(dst).map(|p| p.v6),
        action: rule.action.clone(),
    })
}

/// The rules of a file's text in their common form (each a drop rule named `line<N>`, of the
/// family its prefixes are written in, as in l3fwd: `0.0.0.0/0` is IPv4's "any"), or every
/// problem as `line N: field: why`.
pub fn file_rules(text: &str) -> Result<Vec<RuleSpec>, Vec<String>> {
    let lines = rules_file::parse(text)?;
    Ok(lines
        .into_iter()
        .map(|l| RuleSpec {
            name: format!("line{}", l.line),
            priority: 0,
            src: (l.src.len > 0).then_some(l.src),
            dst: (l.dst.len > 0).then_some(l.dst),
            src_ports: ports_condition(l.src_ports),
            dst_ports: ports_condition(l.dst_ports),
            proto: (l.proto.1 != 0).then_some(l.proto),
            vlan: None,
            family: Some(if l.src.len == 0 { l.dst.v6 } else { l.src.v6 }),
            action: ActionConfig::Drop,
        })
        .collect())
}

/// Why the stage's rules could not be had: problems at (field path, message).
pub type RuleProblems = Vec<(String, String)>;

/// The stage's rules in the order they are checked (priority, then as written), or the
/// problems found. Reads the rules file, if any.
pub fn rules(config: &AclConfig) -> Result<Vec<RuleSpec>, RuleProblems> {
    let mut problems = Vec::new();
    let mut specs = Vec::with_capacity(config.rules.len());
    match (&config.rules_file, config.rules.is_empty()) {
        (Some(_), false) => problems.push((
            "rulesFile".into(),
            "give rules inline or in a rulesFile, not both".into(),
        )),
        (None, true) => problems.push((
            "rules".into(),
            "an acl stage needs rules: rules: [{ ..., action }] or rulesFile: PATH".into(),
        )),
        (Some(path), true) => match std::fs::read_to_string(path) {
            Err(e) => problems.push((
                "rulesFile".into(),
                format!("cannot read {}: {e}", quote(path)),
            )),
            Ok(text) => match file_rules(&text) {
                Ok(rules) if rules.is_empty() => problems.push((
                    "rulesFile".into(),
                    format!("{} holds no rules (lines @src/len dst/len sp_lo : sp_hi dp_lo : dp_hi proto/mask)", quote(path)),
                )),
                Ok(rules) => specs = rules,
                Err(lines) => problems.extend(
                    lines
                        .into_iter()
                        .map(|l| ("rulesFile".to_owned(), format!("{} {l}", quote(path)))),
                ),
            },
        },
        (None, false) => {
            for (i, rule) in config.rules.iter().enumerate() {
                match inline_rule(i, rule) {
                    Ok(spec) => specs.push(spec),
                    Err(found) => problems.extend(
                        found
                            .into_iter()
                            .map(|(field, why)| (format!("rules[{i}].{field}"), why)),
                    ),
                }
            }
        }
    }
    let mut named: HashMap<&str, usize> = HashMap::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        if spec.name.len() > stats::ELEMENT_NAME_LEN {
            problems.push((
                format!("rules[{i}].name"),
                format!(
                    "{} is longer than {} bytes, the longest counter name",
                    quote(&spec.name),
                    stats::ELEMENT_NAME_LEN
                ),
            ));
        }
        if let Some(first) = named.insert(&spec.name, i) {
            let field = if config.rules_file.is_some() {
                "rulesFile".to_owned()
            } else {
                format!("rules[{i}].name")
            };
            problems.push((
                field,
                format!(
                    "{} already names rules[{first}]; counters are kept by name",
                    quote(&spec.name)
                ),
            ));
        }
    }
    if specs.len() > stats::ACL_RULE_SLOTS {
        problems.push((
            String::new(),
            format!(
                "{} rules: the stats segment counts at most {} ACL rules; split them over engines",
                specs.len(),
                stats::ACL_RULE_SLOTS
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Stable: equal priorities keep their order.
    specs.sort_by_key(|s| std::cmp::Reverse(s.priority));
    Ok(specs)
}

/// Every rule of the stage, each problem at its path.
pub fn check(config: &AclConfig, cx: &mut StageCheck<'_>) {
    if let Some(name) = &config.name {
        let path = cx.at("name");
        cx.report.filled(&path, name);
    }
    cx.counter_name("name", stage_name(config, cx.stage));
    if let Some(mib) = config.memory_mib {
        let path = cx.at("memoryMiB");
        cx.report.range(&path, mib, 1, u64::from(MAX_MEMORY_MIB));
    }
    for (i, rule) in config.rules.iter().enumerate() {
        match &rule.action {
            ActionConfig::Forward(port) => cx.port(&format!("rules[{i}].action.forward"), port),
            ActionConfig::Mirror(port) => cx.port(&format!("rules[{i}].action.mirror"), port),
            ActionConfig::Drop | ActionConfig::Count => {}
        }
    }
    if let Err(problems) = rules(config) {
        for (field, why) in problems {
            cx.push(&field, why);
        }
    }
}

#[cfg(test)]
mod tests;
