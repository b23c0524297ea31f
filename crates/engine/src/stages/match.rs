//! `match`: a header match and what to do with the packets it matches (drop, count, forward
//! or mirror), counted per stage under a name kept across programs.
//!
//! The match is compiled once (prefixes parsed, ranges checked) so that the hot path compares
//! integers; packet headers are parsed only when a field needs them.

use serde::Deserialize;

use super::{bump, CompileContext, StageContext, StageRun, DROP};
use crate::error::EngineError;
use crate::net::{self, Headers, Mac, Prefix};

/// A header match and what to do with matching packets (counted per stage):
/// `{ kind: 'match', name?, match, action }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
// `expecting` keeps serde's messages what they were when this was a struct variant of
// `StageConfig` (they name the variant and its field count).
#[serde(
    deny_unknown_fields,
    expecting = "struct variant StageConfig::Match with 3 elements"
)]
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
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 `ICMPv6`).
    #[serde(default)]
    pub proto: Option<u8>,
    /// Source L4 port range, inclusive.
    #[serde(default)]
    pub src_port: Option<[u16; 2]>,
    /// Destination L4 port range, inclusive.
    #[serde(default)]
    pub dst_port: Option<[u16; 2]>,
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum ActionConfig {
    /// Drop the packet (counted).
    Drop,
    /// Count it and go on to the next stage.
    Count,
    /// Send it out of `port` (and go on to the next stage).
    Forward {
        /// Port name.
        port: String,
    },
    /// Send a copy out of `port` and go on with the original.
    Mirror {
        /// Port name.
        port: String,
    },
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

fn compile_match(path: &str, m: &MatchConfig) -> Result<Match, EngineError> {
    let prefix = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(Prefix::parse)
            .transpose()
            .map_err(|e| EngineError::config(&format!("{path}.{field}"), e))
    };
    let range = |field: &str, r: Option<[u16; 2]>| match r {
        Some([lo, hi]) if lo > hi => Err(EngineError::config(
            &format!("{path}.{field}"),
            format!("[{lo}, {hi}] is an empty range (low above high)"),
        )),
        Some([lo, hi]) => Ok(Some((lo, hi))),
        None => Ok(None),
    };
    if let Some(vlan) = m.vlan.filter(|v| *v > 4095) {
        return Err(EngineError::config(
            &format!("{path}.vlan"),
            format!("{vlan} is not a VLAN id (0-4095)"),
        ));
    }
    Ok(Match {
        ethertype: m.ethertype,
        vlan: m.vlan,
        src: prefix("src", &m.src)?,
        dst: prefix("dst", &m.dst)?,
        proto: m.proto,
        src_port: range("srcPort", m.src_port)?,
        dst_port: range("dstPort", m.dst_port)?,
    })
}

impl StageRun for Rules {
    type Config = RuleConfig;

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
            ActionConfig::Forward { port: p } | ActionConfig::Mirror { port: p } => {
                let pi = cx.port(&format!("{spath}.action.port"), p)?;
                cx.sends_to.push((pi, format!("{spath}.action.port")));
                if matches!(action, ActionConfig::Forward { .. }) {
                    Action::Forward(pi)
                } else {
                    Action::Mirror(pi)
                }
            }
        };
        let name = name.clone().unwrap_or_else(|| format!("stage{}", cx.stage));
        if cx
            .rule_names
            .iter()
            .any(|(p, n, _)| *p == cx.pipeline && *n == name)
        {
            return Err(EngineError::config(
                &format!("{spath}.name"),
                format!("{name:?} already names another match stage of this pipeline; counters are kept by name"),
            ));
        }
        let slot = cx.segment.rule_slot(cx.pipeline_slot, &name).ok_or_else(|| {
            EngineError::config(spath, format!("the stats segment has room for {} match stages over the engine's life; restart the engine", stats::RULE_SLOTS))
        })?;
        let rule = Rule {
            name: name.clone(),
            matches: compile_match(&format!("{spath}.match"), matches)?,
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
