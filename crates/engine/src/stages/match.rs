//! `match`: a header match and what to do with the packets it matches (drop, count, forward
//! or mirror), counted per stage under a name kept across programs.
//!
//! The match is compiled once (prefixes parsed) so that the hot path compares integers;
//! packet headers are parsed only when a field needs them. Its rules (VLAN ids, prefixes,
//! ranges, unique names, known ports) are [`crate::validate`]'s.

use serde::Deserialize;

use super::{bump, CompileContext, StageContext, StageRun, DROP};
use crate::compile::unvalidated;
use crate::config::forms;
use crate::error::EngineError;
use crate::net::{self, Headers, Mac, Prefix};
use crate::validate::{Report, StageCheck};

/// A header match and what to do with matching packets (counted per stage):
/// `{ kind: 'match', name?, match, action }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A name for stats; defaults to `stage<i>`.
    #[serde(default)]
    pub name: Option<String>,
    /// What it matches (all given fields must hold).
    #[serde(rename = "match")]
    pub matches: MatchConfig,
    /// What it does.
    pub action: ActionConfig,
}

/// Header fields to match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchConfig {
    /// Ethertype after any VLAN tag, e.g. 0x0800.
    #[serde(default)]
    pub ethertype: Option<u16>,
    /// VLAN id of the outer tag.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Source IPv4/IPv6 prefix, `10.0.0.0/8` or `2001:db8::/32`.
    #[serde(default)]
    pub src: Option<String>,
    /// Destination prefix.
    #[serde(default)]
    pub dst: Option<String>,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 `ICMPv6`), given by name or number.
    #[serde(default, deserialize_with = "forms::protocol")]
    pub proto: Option<u8>,
    /// Source L4 port range, inclusive (one port `p` is the range `[p, p]`).
    #[serde(default, deserialize_with = "forms::l4_range")]
    pub src_port: Option<[u16; 2]>,
    /// Destination L4 port range, inclusive.
    #[serde(default, deserialize_with = "forms::l4_range")]
    pub dst_port: Option<[u16; 2]>,
}

/// What a matching rule does: `'drop'`, `'count'`, `{ forward: port }` or `{ mirror: port }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionConfig {
    /// Drop the packet (counted).
    Drop,
    /// Count it and go on to the next stage.
    Count,
    /// Send it out of this port (and go on to the next stage).
    Forward(String),
    /// Send a copy out of this port and go on with the original.
    Mirror(String),
}

/// A compiled header match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    ethertype: Option<u16>,
    vlan: Option<u16>,
    src: Option<Prefix>,
    dst: Option<Prefix>,
    proto: Option<u8>,
    src_port: Option<(u16, u16)>,
    dst_port: Option<(u16, u16)>,
}

impl Match {
    #[inline]
    fn matches(&self, h: &Headers) -> bool {
        self.ethertype.is_none_or(|e| e == h.ethertype)
            && self.vlan.is_none_or(|v| h.vlan == Some(v))
            && self
                .src
                .is_none_or(|p| h.src.is_some_and(|a| p.contains(a)))
            && self
                .dst
                .is_none_or(|p| h.dst.is_some_and(|a| p.contains(a)))
            && self.proto.is_none_or(|p| h.proto == Some(p))
            && self
                .src_port
                .is_none_or(|(lo, hi)| h.ports.is_some_and(|(s, _)| (lo..=hi).contains(&s)))
            && self
                .dst_port
                .is_none_or(|(lo, hi)| h.ports.is_some_and(|(_, d)| (lo..=hi).contains(&d)))
    }

    /// Whether any field needs the IP/L4 headers parsed.
    fn needs_headers(&self) -> bool {
        self != &Self {
            ethertype: None,
            vlan: None,
            src: None,
            dst: None,
            proto: None,
            src_port: None,
            dst_port: None,
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Drop.
    Drop,
    /// Count and go on.
    Count,
    /// Send out of a port.
    Forward(u16),
    /// Copy out of a port.
    Mirror(u16),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Display name.
    pub name: String,
    /// Match.
    pub matches: Match,
    /// Action.
    pub action: Action,
    /// Counter slot in the stats segment (stable for this pipeline and rule name).
    pub slot: usize,
}

/// The compiled `match` stage: first-match rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Rules in order.
    pub rules: Vec<Rule>,
}

/// Compiles a validated match: prefixes parsed, ranges as pairs.
fn compile_match(m: &MatchConfig) -> Result<Match, EngineError> {
    let prefix = |text: &Option<String>| {
        text.as_deref()
            .map(Prefix::parse)
            .transpose()
            .map_err(|e| unvalidated(&e))
    };
    Ok(Match {
        ethertype: m.ethertype,
        vlan: m.vlan,
        src: prefix(&m.src)?,
        dst: prefix(&m.dst)?,
        proto: m.proto,
        src_port: m.src_port.map(|[lo, hi]| (lo, hi)),
        dst_port: m.dst_port.map(|[lo, hi]| (lo, hi)),
    })
}

/// A match's fields: the VLAN id, the prefixes, the port ranges.
fn check_match(report: &mut Report, path: &str, m: &MatchConfig) {
    if let Some(vlan) = m.vlan {
        report.range(&format!("{path}.vlan"), vlan, 0, 4095);
    }
    for (field, prefix) in [("src", &m.src), ("dst", &m.dst)] {
        if let Some(Err(why)) = prefix.as_deref().map(Prefix::parse) {
            report.push(format!("{path}.{field}"), why);
        }
    }
    for (field, range) in [("srcPort", m.src_port), ("dstPort", m.dst_port)] {
        if let Some([lo, hi]) = range.filter(|[lo, hi]| lo > hi) {
            report.push(
                format!("{path}.{field}"),
                format!("[{lo}, {hi}] is an empty range (low above high)"),
            );
        }
    }
}

impl StageRun for Rules {
    type Config = RuleConfig;

    fn check(config: &Self::Config, cx: &mut StageCheck<'_>) {
        if let Some(name) = &config.name {
            let path = cx.at("name");
            cx.report.filled(&path, name);
        }
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| format!("stage{}", cx.stage));
        cx.counter_name("name", name);
        let path = cx.at("match");
        check_match(cx.report, &path, &config.matches);
        match &config.action {
            ActionConfig::Forward(port) => cx.port("action.forward", port),
            ActionConfig::Mirror(port) => cx.port("action.mirror", port),
            ActionConfig::Drop | ActionConfig::Count => {}
        }
    }

    fn sends_to(config: &RuleConfig) -> Vec<(&str, &'static str)> {
        match &config.action {
            ActionConfig::Forward(port) => vec![(port.as_str(), "action.forward")],
            ActionConfig::Mirror(port) => vec![(port.as_str(), "action.mirror")],
            ActionConfig::Drop | ActionConfig::Count => Vec::new(),
        }
    }

    fn compile(
        config: &RuleConfig,
        cx: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
        let RuleConfig {
            name,
            matches,
            action,
        } = config;
        let spath = &cx.path;
        let action = match action {
            ActionConfig::Drop => Action::Drop,
            ActionConfig::Count => Action::Count,
            ActionConfig::Forward(p) => Action::Forward(cx.port(p)?),
            ActionConfig::Mirror(p) => Action::Mirror(cx.port(p)?),
        };
        let name = name.clone().unwrap_or_else(|| format!("stage{}", cx.stage));
        let slot = cx.segment.rule_slot(cx.pipeline_slot, &name).ok_or_else(|| {
            EngineError::config(spath, format!("the stats segment has room for {} match stages over the engine's life; restart the engine", stats::RULE_SLOTS))
        })?;
        let rule = Rule {
            name: name.clone(),
            matches: compile_match(matches)?,
            action,
            slot,
        };
        cx.rule_names.push((cx.pipeline, name, slot));
        Ok(Some(Self { rules: vec![rule] }))
    }

    #[inline]
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        _port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    ) {
        let rules = &self.rules;
        let parse = rules.iter().any(|r| r.matches.needs_headers());
        for (m, v) in pkts.iter_mut().zip(verdict.iter_mut()) {
            if *v == DROP {
                continue;
            }
            let headers = if parse {
                net::parse(m.data())
            } else {
                Headers::default()
            };
            let Some(rule) = rules.iter().find(|r| r.matches.matches(&headers)) else {
                continue;
            };
            if ctx.counting {
                bump(ctx.segment.rule_counter(ctx.worker, rule.slot), 1);
            }
            match rule.action {
                Action::Drop => *v = DROP,
                Action::Count => {}
                Action::Forward(p) => *v = p,
                Action::Mirror(p) => ctx.copy_to(p, m),
            }
        }
    }
}
