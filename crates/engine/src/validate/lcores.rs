//! Lcores: ids DPDK has (up to 127), CPUs (up to 1023), workers distinct from each other and
//! from the main lcore, and the rx queues: each one that exists, polled by one worker, and
//! every queue of every pipeline input polled by someone. Whether this process may use the
//! CPUs is the machine's to say (see [`crate::plan`]).

use super::ports::MAX_QUEUES;
use super::{not_a_port, Report};
use crate::config::EngineConfig;
use crate::net::quote;

/// The highest lcore id (`RTE_MAX_LCORE` is 128).
const MAX_LCORE: u64 = 127;
/// The highest CPU id an lcore may be pinned to.
const MAX_CPU: u64 = 1023;
/// The highest rx queue index.
const MAX_QUEUE: u64 = MAX_QUEUES - 1;

/// Whether `port` is some pipeline's input.
fn is_input(config: &EngineConfig, port: &str) -> bool {
    config
        .pipelines
        .iter()
        .any(|p| p.input.iter().any(|n| n == port))
}

/// The (port, queue) pairs listed so far, each with the index of the worker listing it.
type Owners<'a> = Vec<((&'a str, u16), usize)>;

pub(super) fn check(report: &mut Report, config: &EngineConfig) {
    let lcores = &config.lcores;
    if let Some(main) = lcores.main {
        report.range("lcores.main", main, 0, MAX_LCORE);
    }
    if let Some(cpu) = lcores.main_cpu {
        report.range("lcores.mainCpu", cpu, 0, MAX_CPU);
    }
    let workers = &lcores.workers;
    if workers.is_empty() {
        report.push(
            "lcores.workers",
            "no worker lcores: the poll loops need at least one, e.g. workers: [1]",
        );
    }
    let mut owners = Owners::new();
    for (i, w) in workers.iter().enumerate() {
        let path = format!("lcores.workers[{i}]");
        let lcore_path = if w.bare {
            path.clone()
        } else {
            format!("{path}.lcore")
        };
        report.range(&lcore_path, w.lcore, 0, MAX_LCORE);
        if workers[..i].iter().any(|v| v.lcore == w.lcore) {
            report.push(&path, format!("lcore {} is listed twice", w.lcore));
        }
        if lcores.main == Some(w.lcore) {
            report.push(
                &path,
                format!(
                    "lcore {} is the main lcore; workers need lcores of their own",
                    w.lcore
                ),
            );
        }
        if let Some(cpu) = w.cpu {
            report.range(&format!("{path}.cpu"), cpu, 0, MAX_CPU);
        }
        rx(report, config, i, &mut owners);
    }
    unpolled(report, config, &owners);
}

/// Worker `w`'s rx list: ports that exist, queues they have, one owner each, inputs only.
fn rx<'a>(report: &mut Report, config: &'a EngineConfig, w: usize, owners: &mut Owners<'a>) {
    let workers = &config.lcores.workers;
    for (k, q) in workers[w].rx.iter().flatten().enumerate() {
        let path = format!("lcores.workers[{w}].rx[{k}]");
        let port = config.ports.iter().find(|p| p.name == q.port);
        if port.is_none() {
            report.push(format!("{path}.port"), not_a_port(config, &q.port));
        }
        let queue_ok = report.range(&format!("{path}.queue"), q.queue, 0, MAX_QUEUE);
        // A queue count out of its own bounds is reported at the port; no second problem here.
        if let Some(port) = port.filter(|p| queue_ok && (1..=MAX_QUEUES).contains(&p.queues.into()))
        {
            if q.queue >= port.queues {
                report.push(
                    format!("{path}.queue"),
                    format!(
                        "port {} has {} rx queue(s), so queue {} does not exist",
                        quote(&q.port),
                        port.queues,
                        q.queue
                    ),
                );
            }
        }
        let key = (q.port.as_str(), q.queue);
        if let Some((_, other)) = owners.iter().rev().find(|(k, _)| *k == key) {
            report.push(
                &path,
                format!(
                    "queue {} of port {} is already polled by lcore {}; a queue has one owner",
                    q.queue,
                    quote(&q.port),
                    workers[*other].lcore
                ),
            );
        }
        owners.push((key, w));
        if port.is_some() && !is_input(config, &q.port) {
            report.push(
                &path,
                format!(
                    "queue {} of port {} is polled but the port is no pipeline's input",
                    q.queue,
                    quote(&q.port)
                ),
            );
        }
    }
}

/// Workers without an rx list share the queues nobody listed; without any such worker,
/// every queue of every input port must be listed.
fn unpolled(report: &mut Report, config: &EngineConfig, owners: &Owners<'_>) {
    let workers = &config.lcores.workers;
    if workers.is_empty() || workers.iter().any(|w| w.rx.is_none()) {
        return;
    }
    for port in &config.ports {
        if !is_input(config, &port.name) || !(1..=MAX_QUEUES).contains(&port.queues.into()) {
            continue;
        }
        for queue in 0..port.queues {
            if !owners
                .iter()
                .any(|(key, _)| *key == (port.name.as_str(), queue))
            {
                report.push(
                    "lcores.workers",
                    format!(
                        "queue {queue} of port {} (an input of a pipeline) is polled by no worker; list it in a worker's rx",
                        quote(&port.name)
                    ),
                );
            }
        }
    }
}
