//! NUMA nodes: the CPUs of each and its own hugepage pools, from
//! `/sys/devices/system/node/node<N>/`. EAL gives the main lcore's node the memory the plan
//! counts (`--socket-mem 0,…,MB`) and the packet pool is created there, so its pages must be
//! free on that node, not somewhere on the machine.

use std::io;
use std::path::Path;

use crate::fsutil::{dir_names, read_opt};
use crate::hugepages::{read_pool, HugepagePool};

/// One NUMA node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaNode {
    /// Its number.
    pub id: u32,
    /// Its CPUs, ascending.
    pub cpus: Vec<u32>,
    /// Its share of each hugepage pool, smallest page size first.
    pub pools: Vec<HugepagePool>,
}

/// The nodes under `root`, by number; none on a kernel without NUMA support.
pub fn read_nodes(root: &Path) -> io::Result<Vec<NumaNode>> {
    let dir = root.join("sys/devices/system/node");
    let mut ids: Vec<u32> = dir_names(&dir)?
        .iter()
        .filter_map(|n| n.strip_prefix("node")?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| {
            let node = dir.join(format!("node{id}"));
            let cpus = read_opt(&node.join("cpulist"))?
                .map(|text| parse_cpu_list(&text))
                .unwrap_or_default();
            let mut pools = Vec::new();
            for name in dir_names(&node.join("hugepages"))? {
                let Some(size_kb) = name
                    .strip_prefix("hugepages-")
                    .and_then(|s| s.strip_suffix("kB"))
                    .and_then(|s| s.parse().ok())
                else {
                    continue;
                };
                pools.push(read_pool(&node.join("hugepages").join(&name), size_kb)?);
            }
            pools.sort_by_key(|p| p.size_kb);
            Ok(NumaNode { id, cpus, pools })
        })
        .collect()
}

/// `0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11]; what does not parse is left out.
pub fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut cpus: Vec<u32> = text
        .trim()
        .split(',')
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            let (low, high) = part.split_once('-').unwrap_or((part, part));
            match (low.parse::<u32>(), high.parse::<u32>()) {
                (Ok(low), Ok(high)) if low <= high => (low..=high).collect(),
                _ => Vec::new(),
            }
        })
        .collect();
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_read_with_their_cpus_and_pools_and_reserve_on_one() {
        let root = std::env::temp_dir().join(format!("fastpath-numa-{}", std::process::id()));
        for (id, cpus, free) in [(0, "0-1", "7"), (1, "2-3", "0")] {
            let pool = root.join(format!(
                "sys/devices/system/node/node{id}/hugepages/hugepages-2048kB"
            ));
            std::fs::create_dir_all(&pool).unwrap();
            std::fs::write(pool.join("nr_hugepages"), "8\n").unwrap();
            std::fs::write(pool.join("free_hugepages"), free).unwrap();
            std::fs::write(
                root.join(format!("sys/devices/system/node/node{id}/cpulist")),
                cpus,
            )
            .unwrap();
        }
        let nodes = read_nodes(&root).unwrap();
        assert_eq!(
            nodes
                .iter()
                .map(|n| (n.id, n.cpus.clone()))
                .collect::<Vec<_>>(),
            [(0, vec![0, 1]), (1, vec![2, 3])]
        );
        assert_eq!((nodes[1].pools[0].total, nodes[1].pools[0].free), (8, 0));
        // Reserving on node 1 raises node 1's share by its shortfall, and no other pool.
        let r = crate::hugepages::reserve(&root, Some(1), 2048, 5).unwrap();
        assert_eq!((r.total_before, r.total_after), (8, 13));
        let node0 =
            root.join("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages");
        assert_eq!(std::fs::read_to_string(node0).unwrap(), "8\n");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn cpu_lists_parse_ranges_and_singles() {
        assert_eq!(parse_cpu_list("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
        assert_eq!(parse_cpu_list("3-1,x,5"), [5]);
    }
}
