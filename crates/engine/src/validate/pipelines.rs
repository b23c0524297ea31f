//! Pipelines: unique names, an input or a generator, ports that exist (one pipeline per
//! input), a generator's sizes and addresses, and each stage's fields: MACs, a match's VLAN
//! id, prefixes and ranges, unique match names, and a bridge's ports.

use super::{is_port, not_a_port, Report};
use crate::config::{
    ActionConfig, EngineConfig, GeneratorConfig, MatchConfig, PipelineConfig, PortNames,
    StageConfig,
};
use crate::net::{parse_ipv4, parse_mac, quote, Prefix};

pub(super) fn check(report: &mut Report, config: &EngineConfig) {
    // (port, pipeline) of the inputs seen so far.
    let mut inputs: Vec<(&str, usize)> = Vec::new();
    for (i, p) in config.pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        if p.input.is_empty() && p.generator.is_none() {
            report.push(&path, "needs an input port or a generator");
        }
        if let Some(name) = &p.name {
            report.filled(&format!("{path}.name"), name);
        }
        let name = config.pipeline_name(i);
        if !name.is_empty() {
            let earlier = (0..i).rev().find(|&j| config.pipeline_name(j) == name);
            if let Some(j) = earlier {
                report.push(
                    format!("{path}.name"),
                    format!("{} is already pipelines[{j}]", quote(&name)),
                );
            }
        }
        let bridged = p.stages.iter().any(|s| matches!(s, StageConfig::Bridge(_)));
        for (k, port) in p.input.iter().enumerate() {
            let at = p.input.path(&format!("{path}.input"), k);
            port_ref(report, config, &at, port);
            if let Some((_, j)) = inputs.iter().rev().find(|(q, _)| q == port) {
                report.push(
                    &at,
                    format!(
                        "port {} is already the input of pipelines[{j}]; a port feeds one pipeline",
                        quote(port)
                    ),
                );
            }
            inputs.push((port, i));
            if bridged && !p.output.contains(port) {
                report.push(
                    &at,
                    format!(
                        "port {} is bridged, so it must be an output too",
                        quote(port)
                    ),
                );
            }
        }
        if let Some(g) = &p.generator {
            generator(report, &format!("{path}.generator"), g);
        }
        stages(report, config, &path, p);
        if p.generator.is_some() && p.output.is_empty() {
            report.push(format!("{path}.output"), "a generator needs an output port");
        }
        ports(report, config, &format!("{path}.output"), &p.output);
    }
}

/// A port name at `path`: not empty, and a port of the config.
fn port_ref(report: &mut Report, config: &EngineConfig, path: &str, name: &str) {
    if report.filled(path, name) && !is_port(config, name) {
        report.push(path, not_a_port(config, name));
    }
}

fn ports(report: &mut Report, config: &EngineConfig, base: &str, names: &PortNames) {
    for (k, name) in names.iter().enumerate() {
        port_ref(report, config, &names.path(base, k), name);
    }
}

fn mac(report: &mut Report, path: &str, text: &str) {
    if let Err(why) = parse_mac(text) {
        report.push(path, why);
    }
}

fn generator(report: &mut Report, path: &str, g: &GeneratorConfig) {
    report.range(&format!("{path}.packetSize"), g.packet_size, 60, 2048);
    report.range(&format!("{path}.flows"), g.flows, 1, 65536);
    report.range(
        &format!("{path}.burst"),
        g.burst,
        1,
        dpdk::BURST_SIZE as u64,
    );
    if let Some(src) = &g.src_mac {
        mac(report, &format!("{path}.srcMac"), src);
    }
    mac(report, &format!("{path}.dstMac"), &g.dst_mac);
    for (field, ip) in [("srcIp", &g.src_ip), ("dstIp", &g.dst_ip)] {
        if let Err(why) = parse_ipv4(ip) {
            report.push(format!("{path}.{field}"), why);
        }
    }
    if let Some(count) = g.count {
        report.range(&format!("{path}.count"), count, 1, u64::MAX);
    }
}

fn stages(report: &mut Report, config: &EngineConfig, path: &str, p: &PipelineConfig) {
    // (name, stage) of the match stages seen so far: their counters are kept by name.
    let mut rules: Vec<(String, usize)> = Vec::new();
    for (s, stage) in p.stages.iter().enumerate() {
        let path = format!("{path}.stages[{s}]");
        match stage {
            StageConfig::MacRewrite(m) => {
                mac(report, &format!("{path}.dst"), &m.dst);
                if let Some(src) = &m.src {
                    mac(report, &format!("{path}.src"), src);
                }
            }
            StageConfig::Match(rule) => {
                if let Some(name) = &rule.name {
                    report.filled(&format!("{path}.name"), name);
                }
                let name = rule.name.clone().unwrap_or_else(|| format!("stage{s}"));
                if !name.is_empty() {
                    if let Some((_, j)) = rules.iter().rev().find(|(n, _)| *n == name) {
                        report.push(
                            format!("{path}.name"),
                            format!(
                                "{} already names stages[{j}]; counters are kept by name",
                                quote(&name)
                            ),
                        );
                    }
                    rules.push((name, s));
                }
                matches(report, &format!("{path}.match"), &rule.matches);
                match &rule.action {
                    ActionConfig::Forward(port) => {
                        port_ref(report, config, &format!("{path}.action.forward"), port);
                    }
                    ActionConfig::Mirror(port) => {
                        port_ref(report, config, &format!("{path}.action.mirror"), port);
                    }
                    ActionConfig::Drop | ActionConfig::Count => {}
                }
            }
            StageConfig::Bridge(b) => {
                report.range(&format!("{path}.agingS"), b.aging_s, 1, 86_400);
                if p.output.len() < 2 {
                    report.push(
                        &path,
                        "a bridge forwards between the pipeline's output ports; give at least two",
                    );
                }
            }
            StageConfig::Io(_)
            | StageConfig::MacSwap(_)
            | StageConfig::FiveTupleSwap(_)
            | StageConfig::Drop(_) => {}
        }
    }
}

fn matches(report: &mut Report, path: &str, m: &MatchConfig) {
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
