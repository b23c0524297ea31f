//! Lcores: the main lcore and the workers (which CPU each runs on), and which worker alone
//! polls each rx queue of the pipelines' input ports.

use std::collections::{BTreeSet, HashMap};

use super::{PortPlan, WorkerPlan};
use crate::config::EngineConfig;
use crate::error::EngineError;

/// Picks the main lcore and its CPU, and checks the workers' lcores and CPUs against the
/// ones this process may use: (main lcore, its CPU, the workers without queues yet).
pub(super) fn plan_lcores(
    config: &EngineConfig,
    cpus: &[u32],
) -> Result<(u32, u32, Vec<WorkerPlan>), EngineError> {
    let allowed = cpu_list(cpus);
    let workers = &config.lcores.workers;
    if workers.is_empty() {
        return Err(EngineError::config(
            "lcores.workers",
            format!("no worker lcores: the poll loops need at least one, e.g. workers: [1] (this process may use CPUs {allowed})"),
        ));
    }
    let lcores: Vec<u32> = workers.iter().map(|w| w.lcore).collect();
    // By default the first CPU this process may use that no worker runs on (or at least no
    // worker's lcore id), so that `taskset -c 2,3` with `workers: [3]` picks 2.
    let worker_cpus: Vec<u32> = workers.iter().map(|w| w.cpu.unwrap_or(w.lcore)).collect();
    let free = |c: &u32| !lcores.contains(c);
    let main = config.lcores.main.unwrap_or_else(|| {
        cpus.iter()
            .copied()
            .find(|c| free(c) && !worker_cpus.contains(c))
            .or_else(|| cpus.iter().copied().find(free))
            .unwrap_or(0)
    });
    let main_cpu = config.lcores.main_cpu.unwrap_or(main);
    let check_cpu = |path: &str, cpu: u32| {
        if cpus.contains(&cpu) {
            Ok(())
        } else {
            Err(EngineError::config(
                path,
                format!("CPU {cpu} is not one this process may run on (allowed: {allowed})"),
            ))
        }
    };
    check_cpu(
        if config.lcores.main_cpu.is_some() {
            "lcores.mainCpu"
        } else {
            "lcores.main"
        },
        main_cpu,
    )?;
    if main >= 128 {
        return Err(EngineError::config("lcores.main", "lcore ids go up to 127"));
    }
    let mut plans = Vec::with_capacity(workers.len());
    for (i, w) in workers.iter().enumerate() {
        let path = format!("lcores.workers[{i}]");
        if w.lcore == main {
            return Err(EngineError::config(
                &path,
                format!("lcore {main} is the main lcore; workers need lcores of their own"),
            ));
        }
        if lcores[..i].contains(&w.lcore) {
            return Err(EngineError::config(
                &path,
                format!("lcore {} is listed twice", w.lcore),
            ));
        }
        if w.lcore >= 128 {
            return Err(EngineError::config(&path, "lcore ids go up to 127"));
        }
        let cpu = w.cpu.unwrap_or(w.lcore);
        check_cpu(
            &if w.cpu.is_some() {
                format!("{path}.cpu")
            } else {
                path.clone()
            },
            cpu,
        )?;
        plans.push(WorkerPlan {
            lcore: w.lcore,
            cpu,
            rx: Vec::new(),
        });
    }
    Ok((main, main_cpu, plans))
}

/// Gives every rx queue of every input port one owner: the worker that lists it, else the
/// workers without a list, round-robin.
pub(super) fn assign_rx_queues(
    config: &EngineConfig,
    ports: &[PortPlan],
    names: &HashMap<&str, usize>,
    workers: &mut [WorkerPlan],
) -> Result<(), EngineError> {
    let mut owner: HashMap<(usize, u16), usize> = HashMap::new();
    for (w, wc) in config.lcores.workers.iter().enumerate() {
        for (k, q) in wc.rx.iter().flatten().enumerate() {
            let path = format!("lcores.workers[{w}].rx[{k}]");
            let port = *names.get(q.port.as_str()).ok_or_else(|| {
                EngineError::config(
                    &format!("{path}.port"),
                    format!("{:?} is not a port", q.port),
                )
            })?;
            if q.queue >= ports[port].rx_queues {
                return Err(EngineError::config(
                    &format!("{path}.queue"),
                    format!(
                        "port {:?} has {} rx queue(s), so queue {} does not exist",
                        q.port, ports[port].rx_queues, q.queue
                    ),
                ));
            }
            if let Some(other) = owner.insert((port, q.queue), w) {
                return Err(EngineError::config(
                    &path,
                    format!("queue {} of port {:?} is already polled by lcore {}; a queue has one owner", q.queue, q.port, workers[other].lcore),
                ));
            }
            workers[w].rx.push((port, q.queue));
        }
    }
    // Every queue of every input port needs an owner; auto workers share the rest round-robin.
    let inputs: BTreeSet<usize> = config
        .pipelines
        .iter()
        .flat_map(|p| p.input.iter().map(|n| names[n.as_str()]))
        .collect();
    let auto: Vec<usize> = config
        .lcores
        .workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.rx.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut next = 0;
    for &port in &inputs {
        for queue in 0..ports[port].rx_queues {
            if owner.contains_key(&(port, queue)) {
                continue;
            }
            let Some(&w) = auto
                .get(next % auto.len().max(1))
                .filter(|_| !auto.is_empty())
            else {
                return Err(EngineError::config(
                    "lcores.workers",
                    format!("queue {queue} of port {:?} (an input of a pipeline) is polled by no worker; list it in a worker's rx", ports[port].name),
                ));
            };
            next += 1;
            owner.insert((port, queue), w);
            workers[w].rx.push((port, queue));
        }
    }
    for (&(port, queue), &w) in &owner {
        if !inputs.contains(&port) {
            return Err(EngineError::config(
                &format!("lcores.workers[{w}].rx"),
                format!(
                    "queue {queue} of port {:?} is polled but the port is no pipeline's input",
                    ports[port].name
                ),
            ));
        }
    }
    Ok(())
}

/// `[0, 1, 2, 5]` → `"0-2,5"`.
pub fn cpu_list(cpus: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    out.join(",")
}
