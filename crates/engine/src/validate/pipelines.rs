//! Pipelines: unique names, an input or a generator, ports that exist (one pipeline per
//! input), a generator's sizes and addresses, and room for their counters in the stats
//! segment; each stage's own fields are checked in the stage's file (`StageRun::check`,
//! through the registry).

use super::{is_port, not_a_port, Report, StageCheck};
use crate::config::{EngineConfig, GeneratorConfig, PipelineConfig, PortNames};
use crate::net::{parse_mac, quote};
use crate::stages::generator::{
    gcd, ip_span, payload_offset, port_span, size_weights, RateConfig, SizeItem, SizesConfig,
    MAX_SCHEDULE, PROBE_LEN,
};

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
    if let Some(size) = g.packet_size {
        report.range(&format!("{path}.packetSize"), size, 60, 2048);
        if g.sizes.is_some() {
            report.push(
                format!("{path}.packetSize"),
                "give packetSize or sizes, not both",
            );
        }
    }
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
    let mut families = Vec::new();
    let mut ranged = false;
    for (field, ip) in [("srcIp", &g.src_ip), ("dstIp", &g.dst_ip)] {
        match ip_span(ip) {
            Ok((span, v6)) => {
                families.push(v6);
                ranged |= span.len > 1;
            }
            Err(why) => report.push(format!("{path}.{field}"), why),
        }
    }
    if families.len() == 2 && families[0] != families[1] {
        report.push(
            format!("{path}.dstIp"),
            format!(
                "{} is {} but srcIp is {}: both addresses are of one family",
                quote(&g.dst_ip),
                if families[1] { "IPv6" } else { "IPv4" },
                if families[0] { "IPv6" } else { "IPv4" }
            ),
        );
    }
    for (field, spec) in [("srcPort", &g.src_port), ("dstPort", &g.dst_port)] {
        if let Some(spec) = spec {
            match port_span(spec) {
                Ok(span) => ranged |= span.len > 1,
                Err(why) => report.push(format!("{path}.{field}"), why),
            }
        }
    }
    if ranged && g.flows > 1 {
        report.push(
            format!("{path}.flows"),
            "flows varies the source address and port itself: give flows or address and port ranges, not both",
        );
    }
    if let Some(count) = g.count {
        report.range(&format!("{path}.count"), count, 1, u64::MAX);
    }
    sizes(report, path, g, families.first().copied().unwrap_or(false));
    if let Some(rate) = &g.rate {
        rate_rules(report, &format!("{path}.rate"), rate);
    }
}

/// The size mix: each size 60-2048 (a probe's stamp must fit), weights that reduce to a
/// cycle of at most `MAX_SCHEDULE` packets.
fn sizes(report: &mut Report, path: &str, g: &GeneratorConfig, v6: bool) {
    let at = format!("{path}.sizes");
    match &g.sizes {
        Some(SizesConfig::Named(name)) if name != "imix" => {
            report.push(&at, format!("{} is not a size mix; the one named mix is \"imix\" (7:4:1 of 60, 566 and 1514 bytes)", quote(name)));
            return;
        }
        Some(SizesConfig::List(items)) if items.is_empty() => {
            report.push(&at, "an empty list: give at least one size");
            return;
        }
        _ => {}
    }
    let least = if g.probe {
        (payload_offset(v6) + PROBE_LEN) as u64
    } else {
        60
    };
    let weights = size_weights(g);
    let list = matches!(g.sizes, Some(SizesConfig::List(_)));
    for (i, &(size, weight)) in weights.iter().enumerate() {
        let here = if list {
            format!("{at}[{i}]")
        } else {
            at.clone()
        };
        let size_at = if list
            && matches!(&g.sizes, Some(SizesConfig::List(l)) if matches!(l[i], SizeItem::Weighted { .. }))
        {
            format!("{here}.size")
        } else {
            here.clone()
        };
        if size < least && size >= 60 {
            report.push(&size_at, format!("{size} bytes cannot hold a probe's stamp over {}: a probe needs at least {least} bytes", if v6 { "IPv6" } else { "IPv4" }));
        } else if g.packet_size.is_none() || g.sizes.is_some() {
            report.range(&size_at, size, 60, 2048);
        }
        if weight == 0 {
            report.push(
                format!("{here}.weight"),
                "number 0 Too small: expected number to be >=1",
            );
        }
    }
    if g.packet_size
        .is_some_and(|s| u64::from(s) < least && s >= 60)
    {
        report.push(
            format!("{path}.packetSize"),
            format!(
                "a probe needs at least {least} bytes over {}",
                if v6 { "IPv6" } else { "IPv4" }
            ),
        );
    }
    let g_all = weights.iter().fold(0, |a, &(_, w)| gcd(a, w)).max(1);
    let cycle: u64 = weights
        .iter()
        .map(|&(_, w)| w / g_all)
        .fold(0u64, u64::saturating_add);
    if cycle > MAX_SCHEDULE {
        report.push(&at, format!("the weights make a cycle of {cycle} packets (after dividing by their greatest common divisor); at most {MAX_SCHEDULE}: round them"));
    }
}

/// `rate`: exactly one of pps, bps and percent, each a finite number above 0 (percent at
/// most 100).
fn rate_rules(report: &mut Report, path: &str, rate: &RateConfig) {
    let given: Vec<(&str, f64)> = [
        ("pps", rate.pps),
        ("bps", rate.bps),
        ("percent", rate.percent),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    if given.len() != 1 {
        report.push(path, "give exactly one of pps, bps and percent");
    }
    for (key, v) in given {
        let max = match key {
            "pps" => 1e9,
            "bps" => 1e13,
            _ => 100.0,
        };
        if !v.is_finite() || v <= 0.0 || v > max {
            report.push(
                format!("{path}.{key}"),
                format!("{v} is out of range: above 0 and at most {max}"),
            );
        }
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
