//! `acl`: thousands of rules over the IP 5-tuple and the VLAN, first match wins, on DPDK's
//! `rte_acl`; a matching packet gets its rule's action (drop, count, forward, mirror: a
//! `match` stage's), the others the stage's default (pass or drop). Each rule counts its hits
//! under its name (`aclRule/hits`), the stage the packets no rule matched (`acl/unmatched`).
//!
//! Each packet's fields are put into a small key (protocol, addresses, ports, VLAN, whether
//! it has ports) and a whole burst of keys is classified in one call per family. The
//! classifiers are built at compile, off the data path, and never change while a program
//! runs: new rules are a new program, swapped in by the pipeline RCU without pausing a
//! worker. A family without rules has no classifier; its packets take the default.
//!
//! What a rule means, exactly (the tests hold the classifier to it, packet by packet):
//! every given field must hold; a prefix matches addresses of its family only; port ranges
//! other than `0-65535` match only packets with L4 ports (TCP, UDP, SCTP; not a later
//! fragment); `proto & mask` must equal the rule's; `vlan` the outer tag's id (untagged
//! packets never match it). Non-IP packets match no rule.

mod classify;
mod config;
mod rules_file;

pub use classify::{
    plain_v4_key, v4_key, v6_key, Classifiers, V4_FIELDS, V4_KEY, V6_FIELDS, V6_KEY,
};

pub use config::{
    default_trie_bytes, file_rules, parse_ports, parse_prefix, rules, AclConfig, AclPrefix,
    AclRuleConfig, DefaultAction, PortsForm, RuleSpec,
};

use super::r#match::{Action, ActionConfig};
use super::{bump, CompileContext, StageContext, StageRun, DROP};
use crate::error::EngineError;
use crate::net::Mac;
use crate::validate::StageCheck;

/// Bytes of tries a classifier of `rules` rules may take (`rte_acl_build`'s `max_size`:
/// DPDK splits rules over more tries to stay under it, and fails when they never fit):
/// `memoryMiB`, or [`default_trie_bytes`].
pub fn trie_bytes(config: &AclConfig, rules: usize) -> usize {
    config
        .memory_mib
        .map_or_else(|| default_trie_bytes(rules), |mib| (mib as usize) << 20)
}

/// Heap bytes the stage's classifiers take (what the memory plan counts before EAL starts):
/// one per family with rules, at most [`trie_bytes`] of tries each. Reads the rules file.
pub fn table_bytes(config: &AclConfig) -> u64 {
    let Ok(specs) = rules(config) else {
        return 0;
    };
    let v4 = specs.iter().filter(|s| s.family != Some(true)).count();
    let v6 = specs.iter().filter(|s| s.family != Some(false)).count();
    let bytes = |fields: usize, n: usize| match n {
        0 => 0,
        n => dpdk::Acl::<V4_KEY>::footprint(fields, n, trie_bytes(config, n)),
    };
    bytes(V4_FIELDS.len(), v4) + bytes(V6_FIELDS.len(), v6)
}

/// A compiled rule: what it does and where it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclAction {
    /// Its name.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// `aclRule/hits` slot.
    pub slot: usize,
}

/// The compiled `acl` stage.
#[derive(Debug)]
pub struct AclStage {
    /// The rules in check order (rule id − 1).
    pub rules: Vec<AclAction>,
    /// The classifiers.
    pub classifiers: Classifiers,
    /// Whether packets no rule matches are dropped.
    pub default_drop: bool,
    /// `acl/…` slot.
    pub slot: usize,
}

impl StageRun for AclStage {
    type Config = AclConfig;

    fn check(config: &AclConfig, cx: &mut StageCheck<'_>) {
        config::check(config, cx);
    }

    fn sends_to(config: &AclConfig) -> Vec<(&str, &'static str)> {
        config
            .rules
            .iter()
            .filter_map(|r| match &r.action {
                ActionConfig::Forward(port) => Some((port.as_str(), "rules[].action.forward")),
                ActionConfig::Mirror(port) => Some((port.as_str(), "rules[].action.mirror")),
                ActionConfig::Drop | ActionConfig::Count => None,
            })
            .collect()
    }

    fn table_bytes(config: &AclConfig) -> u64 {
        table_bytes(config)
    }

    fn compile(
        config: &AclConfig,
        cx: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
        // The rules file may have changed since the config was checked: its problems now
        // are the config's.
        let specs = rules(config).map_err(|problems| {
            let (field, why) = problems.into_iter().next().unwrap_or_default();
            let path = if field.is_empty() {
                cx.path.clone()
            } else {
                format!("{}.{field}", cx.path)
            };
            EngineError::config(&path, why)
        })?;
        let full = |what: &str, room: usize| {
            EngineError::config(
                &cx.path,
                format!("the stats segment has room for {room} {what} over the engine's life; restart the engine"),
            )
        };
        let name = config::stage_name(config, cx.stage);
        let slot = cx
            .segment
            .acl_slot(cx.pipeline_slot, &name)
            .ok_or_else(|| full("ACL stages", stats::ACL_SLOTS))?;
        let mut actions = Vec::with_capacity(specs.len());
        for spec in &specs {
            let action = match &spec.action {
                ActionConfig::Drop => Action::Drop,
                ActionConfig::Count => Action::Count,
                ActionConfig::Forward(p) => Action::Forward(cx.port(p)?),
                ActionConfig::Mirror(p) => Action::Mirror(cx.port(p)?),
            };
            actions.push(AclAction {
                name: spec.name.clone(),
                action,
                slot: cx
                    .segment
                    .acl_rule_slot(slot, &spec.name)
                    .ok_or_else(|| full("ACL rules", stats::ACL_RULE_SLOTS))?,
            });
        }
        let classifiers = Classifiers::build(&specs, |n| trie_bytes(config, n)).map_err(|e| {
            let why = if e.errno == libc::ERANGE {
                format!(
                    "{e}: the rules need more than {} MiB of tries per classifier (rules with many distinct port ranges do); raise memoryMiB",
                    trie_bytes(config, specs.len()).div_ceil(1 << 20)
                )
            } else {
                format!(
                    "{e}: the stage's classifiers need {} MiB of EAL's memory, and the engine planned room for its first config's (twice, for live changes); restart the engine with this config",
                    table_bytes(config).div_ceil(1 << 20)
                )
            };
            EngineError::config(&cx.path, why)
        })?;
        Ok(Some(Self {
            rules: actions,
            classifiers,
            default_drop: config.default == DefaultAction::Drop,
            slot,
        }))
    }

    #[inline]
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        _port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    ) {
        let mut unmatched = 0u64;
        let mut ids = [0u32; dpdk::BURST_SIZE];
        for (pkts, verdict) in pkts
            .chunks_mut(dpdk::BURST_SIZE)
            .zip(verdict.chunks_mut(dpdk::BURST_SIZE))
        {
            // Dropped packets are not classified: their headers are never read.
            self.classifiers.classify_burst(
                pkts.len(),
                |i| (verdict[i] != DROP).then(|| pkts[i].data()),
                &mut ids,
            );
            for (i, (m, v)) in pkts.iter().zip(verdict.iter_mut()).enumerate() {
                if *v == DROP {
                    continue;
                }
                let Some(rule) = (ids[i] as usize)
                    .checked_sub(1)
                    .and_then(|r| self.rules.get(r))
                else {
                    unmatched += 1;
                    if self.default_drop {
                        *v = DROP;
                    }
                    continue;
                };
                if ctx.counting {
                    bump(ctx.segment.acl_rule_counter(ctx.worker, rule.slot), 1);
                }
                match rule.action {
                    Action::Drop => *v = DROP,
                    Action::Count => {}
                    Action::Forward(p) => *v = p,
                    Action::Mirror(p) => ctx.copy_to(p, m),
                }
            }
        }
        if ctx.counting && unmatched > 0 {
            bump(
                ctx.segment.acl_unmatched_counter(ctx.worker, self.slot),
                unmatched,
            );
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod plan_tests;
