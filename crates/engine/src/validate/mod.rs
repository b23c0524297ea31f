//! Every rule a well-formed config must follow, in one place: references (every port a
//! pipeline or a worker names exists), bounds (queues 1-64, lcore ids up to 127, packet
//! sizes 60-2048, ...), formats (MACs, prefixes, IPv4 addresses, vdev specs, PCI addresses,
//! interface names, file paths a driver is given, names), the layout rules (one source
//! per port, one pipeline per input port, one owner per rx queue, enough mbufs for the rings,
//! room in the stats segment), what DPDK's software drivers refuse of a port's fields (rx
//! queues, MTU, MAC: [`crate::plan::Driver`]), and that a `stats.group` name is a group.
//!
//! [`problems`] checks them all and returns every problem, never just the first, each at the
//! path the user wrote (`ports.b.mac`, `pipelines[0].stages[2].match.dst`,
//! `lcores.workers[1].rx[0]`), in config order: eal, memory, ports, lcores, pipelines,
//! stats, and within each in the order of its fields. It starts nothing, and of the machine
//! reads only its group database: what else depends on the machine (the CPUs this process
//! may use, hugepages) or on the rx queue layout (a tx queue for each sending worker) is
//! checked by the plan ([`crate::plan`], still before EAL); what only a probed device tells
//! (a PCI device's or another vdev's queue limits) at start ([`crate::compile`], bring-up).
//!
//! `Engine::start`, `Engine::apply` and `engine::check` refuse a config with problems
//! ([`check`]: `ERR_CONFIG`, the `path: reason` lines joined by `; `), and `@fastpath/control`
//! reports the same list through the binding's `configProblems` (TypeScript checks only the
//! shape, with zod). Messages quote strings as JavaScript's `JSON.stringify` does, and the
//! bounds that zod used to check keep zod's words, so that users read what they read before.

#[cfg(test)]
mod before_eal_tests;
mod lcores;
mod pipelines;
mod ports;
mod stage;
mod stats;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wire_tests;

/// The problems of a config whose one pipeline (two null ports, `a` in, `b` out) runs `stage`,
/// as `path: reason` lines: what a stage's rule tests check.
#[cfg(test)]
pub(crate) fn stage_problems(stage: &serde_json::Value) -> Vec<String> {
    let config = serde_json::json!({
        "ports": { "a": { "null": {} }, "b": { "null": {} } },
        "lcores": { "workers": [1] },
        "memory": { "hugepages": false },
        "pipelines": [{ "input": "a", "stages": [stage], "output": "b" }]
    });
    let bytes = rmp_serde::to_vec_named(
        &serde_json::json!({ "version": crate::SCHEMA_VERSION, "config": config }),
    )
    .unwrap();
    problems_in(&bytes).iter().map(Problem::line).collect()
}

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::net::quote;

/// One problem with a config: where (the path the user wrote) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `ports.b.mac`, `pipelines[0].stages[2].match.dst`, ...; empty when the bytes could not
    /// be read as a config at all.
    pub path: String,
    /// What is wrong, and what a good value looks like.
    pub message: String,
}

impl Problem {
    /// `path: message` (`config: message` for a problem with the whole config).
    pub fn line(&self) -> String {
        let path = if self.path.is_empty() {
            "config"
        } else {
            &self.path
        };
        format!("{path}: {}", self.message)
    }
}

/// Every problem with `config`, in config order (empty: the config follows every rule).
pub fn problems(config: &EngineConfig) -> Vec<Problem> {
    let mut report = Report::default();
    eal(&mut report, config);
    memory(&mut report, config);
    ports::check(&mut report, config);
    lcores::check(&mut report, config);
    pipelines::check(&mut report, config);
    stats::check(&mut report, &config.stats);
    report.0
}

/// The problems with msgpack config bytes: one problem if they cannot be decoded (the shape
/// is wrong, or the schema version), else [`problems`].
pub fn problems_in(bytes: &[u8]) -> Vec<Problem> {
    match EngineConfig::decode(bytes) {
        Ok(config) => problems(&config),
        Err(e) => vec![Problem {
            path: e.path,
            message: e.message,
        }],
    }
}

/// Refuses a config with problems: `ERR_CONFIG` listing every one as `path: reason`, joined
/// by `; ` (what `@fastpath/control` shows, one per line, as `problems`).
pub fn check(config: &EngineConfig) -> Result<(), EngineError> {
    let lines: Vec<String> = problems(config).iter().map(Problem::line).collect();
    if lines.is_empty() {
        Ok(())
    } else {
        Err(EngineError::config("", lines.join("; ")))
    }
}

pub use stage::StageCheck;
pub(crate) use stats::group_id;

/// The problems found so far, in order.
#[derive(Debug, Default)]
pub struct Report(Vec<Problem>);

impl Report {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Checks `min <= value <= max` (zod's words); true when it holds.
    pub fn range(&mut self, path: &str, value: impl Into<u64>, min: u64, max: u64) -> bool {
        let value = value.into();
        if value < min {
            self.push(
                path,
                format!("number {value} Too small: expected number to be >={min}"),
            );
        } else if value > max {
            self.push(
                path,
                format!("number {value} Too big: expected number to be <={max}"),
            );
        }
        (min..=max).contains(&value)
    }

    /// Checks that a name is not empty (zod's words); true when it is not.
    pub fn filled(&mut self, path: &str, text: &str) -> bool {
        if text.is_empty() {
            self.push(
                path,
                "\"\" Too small: expected string to have >=1 characters",
            );
        }
        !text.is_empty()
    }

    /// Reports `text` with `why` when `ok` is false (a format's message follows the value).
    fn format(&mut self, path: &str, text: &str, ok: bool, why: &str) -> bool {
        if !ok {
            self.push(path, format!("{} {why}", quote(text)));
        }
        ok
    }
}

/// `base.key`, or `base["key"]` for a key that is not a plain name (as TypeScript's
/// `formatPath` writes it, so that the path reads back).
fn key(base: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-'));
    match (plain, base.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{base}.{key}"),
        (false, _) => format!("{base}[{}]", quote(key)),
    }
}

/// `"c" is not a port (ports: a, b)`.
fn not_a_port(config: &EngineConfig, name: &str) -> String {
    let ports: Vec<&str> = config.ports.iter().map(|p| p.name.as_str()).collect();
    format!(
        "{} is not a port (ports: {})",
        quote(name),
        ports.join(", ")
    )
}

/// Whether `name` is a port of `config`.
fn is_port(config: &EngineConfig, name: &str) -> bool {
    config.ports.iter().any(|p| p.name == name)
}

fn eal(report: &mut Report, config: &EngineConfig) {
    let eal = &config.eal;
    if let Some(prefix) = &eal.file_prefix {
        let ok = !prefix.is_empty()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        report.format("eal.filePrefix", prefix, ok, "use letters, digits, _ . -");
    }
    if let Some(level) = &eal.log_level {
        report.filled("eal.logLevel", level);
    }
}

/// The most mbufs a pool may hold here (2^30 - 1).
const MAX_MBUFS: u64 = (1 << 30) - 1;
/// DPDK's cap on a per-lcore mempool cache.
const MAX_MBUF_CACHE: u64 = 512;

fn memory(report: &mut Report, config: &EngineConfig) {
    let memory = &config.memory;
    if memory.hugepages == Some(true) {
        if let Some(port) = crate::plan::shares_memory(config) {
            report.push("memory.hugepages", format!("port {} (virtioUser) cannot run on the engine's hugepages: {}; set memory.hugepages to false, or leave it out", quote(port), crate::plan::SHARED_MEMORY));
        }
    }
    let mbufs_ok = report.range("memory.mbufs", memory.mbufs, 1, MAX_MBUFS);
    let cache_ok = report.range("memory.mbufCache", memory.mbuf_cache, 0, MAX_MBUF_CACHE);
    if !(mbufs_ok && cache_ok) {
        return;
    }
    // Every rx ring full, every worker's tx ring, cache and tx buffers (a burst per port,
    // plus two for copies and generated packets) full, and the main lcore's cache.
    let workers = config.lcores.workers.len() as u64;
    let cache = u64::from(memory.mbuf_cache);
    let burst = dpdk::BURST_SIZE as u64;
    let rings: u64 = config
        .ports
        .iter()
        .map(|p| {
            u64::from(p.queues) * u64::from(p.rx_descriptors)
                + workers * u64::from(p.tx_descriptors)
        })
        .sum();
    let needed = rings + workers * (cache + burst * (config.ports.len() as u64 + 2)) + cache;
    if u64::from(memory.mbufs) < needed {
        report.push(
            "memory.mbufs",
            format!(
                "{} mbufs cannot fill every rx/tx ring and lcore cache; raise it to at least {needed} \
                 (or shrink rxDescriptors/txDescriptors)",
                memory.mbufs
            ),
        );
    }
}
