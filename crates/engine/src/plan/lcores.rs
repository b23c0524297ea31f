//! Lcores: the main lcore and the workers (which CPU each runs on), and which worker alone
//! polls each rx queue of the pipelines' input ports.

use std::collections::{BTreeSet, HashMap};

use super::{PortPlan, WorkerPlan};
use crate::config::EngineConfig;
use crate::error::EngineError;

/// Picks the main lcore and its CPU, and checks the lcores' CPUs against the ones this
/// process may use (the machine's part; the config's own lcore rules are
/// [`crate::validate`]'s): (main lcore, its CPU, the workers without queues yet).
pub(super) fn plan_lcores(
    config: &EngineConfig,
    cpus: &[u32],
) -> Result<(u32, u32, Vec<WorkerPlan>), EngineError> {
    let allowed = cpu_list(cpus);
    let workers = &config.lcores.workers;
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
    let mut plans = Vec::with_capacity(workers.len());
    for (i, w) in workers.iter().enumerate() {
        let path = format!("lcores.workers[{i}]");
        // A main lcore the config names is checked against the workers by validate; the one
        // picked here from the allowed CPUs may still be a worker's when every CPU is one.
        if config.lcores.main.is_none() && w.lcore == main {
            return Err(EngineError::config(
                &path,
                format!("lcore {main} is the main lcore; workers need lcores of their own"),
            ));
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
/// workers without a list, round-robin. The config's queue rules (known ports, queues that
/// exist, one owner each, every input queue polled) are [`crate::validate`]'s.
pub(super) fn assign_rx_queues(
    config: &EngineConfig,
    ports: &[PortPlan],
    names: &HashMap<&str, usize>,
    workers: &mut [WorkerPlan],
) {
    let mut owned: BTreeSet<(usize, u16)> = BTreeSet::new();
    for (w, wc) in config.lcores.workers.iter().enumerate() {
        for q in wc.rx.iter().flatten() {
            if let Some(&port) = names.get(q.port.as_str()) {
                owned.insert((port, q.queue));
                workers[w].rx.push((port, q.queue));
            }
        }
    }
    let inputs: BTreeSet<usize> = config
        .pipelines
        .iter()
        .flat_map(|p| {
            p.input
                .iter()
                .filter_map(|n| names.get(n.as_str()).copied())
        })
        .collect();
    let auto: Vec<usize> = config
        .lcores
        .workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.rx.is_none())
        .map(|(i, _)| i)
        .collect();
    if auto.is_empty() {
        return;
    }
    let mut next = 0;
    for &port in &inputs {
        for queue in 0..ports[port].rx_queues {
            if owned.contains(&(port, queue)) {
                continue;
            }
            let w = auto[next % auto.len()];
            next += 1;
            workers[w].rx.push((port, queue));
        }
    }
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
