//! Pipelines: unique names, an input or a generator, ports that exist (one pipeline per
//! input), a generator's sizes and addresses, and room for their counters in the stats
//! segment; each stage's own fields are checked in the stage's file (`StageRun::check`,
//! through the registry).

use super::{is_port, not_a_port, Report, StageCheck};
use crate::config::{EngineConfig, GeneratorConfig, PipelineConfig, PortNames};
use crate::net::{parse_ipv4, parse_mac, quote};

pub(super) fn check(report: &mut Report, config: &EngineConfig) {
    // (port, pipeline) of the inputs seen so far.
    let mut inputs: Vec<(&str, usize)> = Vec::new();
    // Counters the stages of the pipelines so far take (match stages), each a segment slot.
    let mut counters = 0;
    for (i, p) in config.pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        if i == stats::PIPELINE_SLOTS {
            report.push(&path, format!("the stats segment counts at most {} pipelines, and this is one more; merge some, or run them in another engine", stats::PIPELINE_SLOTS));
        }
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
        }
        if let Some(g) = &p.generator {
            generator(report, &format!("{path}.generator"), g);
        }
        for (_, s) in stages(report, config, &path, p) {
            counters += 1;
            if counters == stats::RULE_SLOTS + 1 {
                report.push(format!("{path}.stages[{s}]"), format!("the stats segment counts at most {} match stages in all, and this is one more; merge some, or run them in another engine", stats::RULE_SLOTS));
            }
        }
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

/// Checks pipeline `p`'s stages; returns the counter names they take (match stages), each
/// with its stage.
fn stages(
    report: &mut Report,
    config: &EngineConfig,
    path: &str,
    p: &PipelineConfig,
) -> Vec<(String, usize)> {
    // Counter names the pipeline's stages take: kept by name, so unique.
    let mut counter_names = Vec::new();
    for (s, stage) in p.stages.iter().enumerate() {
        stage.check(&mut StageCheck {
            report,
            config,
            pipeline: p,
            pipeline_path: path,
            path: format!("{path}.stages[{s}]"),
            stage: s,
            counter_names: &mut counter_names,
        });
    }
    counter_names
}
