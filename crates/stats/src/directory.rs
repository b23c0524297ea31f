//! The segment's layout for a spec: where each block of data lies, and the directory entry
//! the writer puts for each [`crate::CATALOGUE`] entry (plus any extra counter). Pure
//! arithmetic, no mapping: the writer ([`crate::Segment`]) and the memory planner
//! ([`segment_size`]) share it.

use crate::catalogue::{EntryDef, CATALOGUE};
use crate::layout::{
    sample_stride, Kind, ACL_RULE_SLOTS, ACL_SLOTS, ELEMENT_SIZE, ENTRY_SIZE, FAILURE_LEN,
    HEADER_SIZE, HISTOGRAM_WORDS, LINE, MEMORY_RUNS, NEXT_HOP_SLOTS, PIPELINE_FIELDS,
    PIPELINE_SLOTS, QUEUE_SLOTS, ROUTE_FIELDS, ROUTE_SLOTS, RULE_SLOTS, SAMPLE_SLOTS,
};

/// Bytes of a histogram record.
pub(crate) const HISTOGRAM_BYTES: usize = HISTOGRAM_WORDS * 8;

pub(crate) fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Where each block of data starts (offsets from the segment start).
#[derive(Debug, Clone, Default)]
pub(crate) struct Blocks {
    pub(crate) port_names: usize,
    pub(crate) port_info: usize,
    pub(crate) lanes: usize,
    pub(crate) driver: usize,
    pub(crate) lcore_names: usize,
    pub(crate) loops: usize,
    pub(crate) queue_names: usize,
    pub(crate) queues: usize,
    pub(crate) pipeline_names: usize,
    pub(crate) pipeline_counters: usize,
    pub(crate) latency: usize,
    pub(crate) probes: usize,
    pub(crate) rule_names: usize,
    pub(crate) rule_counters: usize,
    pub(crate) route_names: usize,
    pub(crate) route_counters: usize,
    pub(crate) next_hop_names: usize,
    pub(crate) next_hop_counters: usize,
    pub(crate) acl_names: usize,
    pub(crate) acl_counters: usize,
    pub(crate) acl_rule_names: usize,
    pub(crate) acl_rule_counters: usize,
    pub(crate) run_names: usize,
    pub(crate) runs: usize,
    pub(crate) scalars: usize,
    pub(crate) failure: usize,
    pub(crate) samples: usize,
    /// Extra counters: (offset, elements per worker).
    pub(crate) extra: Vec<(usize, usize)>,
}

/// A directory entry as laid out: its definition and where its data lies.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) flags: u8,
    pub(crate) link: String,
    pub(crate) help: String,
    pub(crate) count: usize,
    pub(crate) stride: usize,
    pub(crate) copies: usize,
    pub(crate) offset: usize,
    pub(crate) copy_stride: usize,
}

/// The `port` element fields of the `port-info` and `driver` lines (u64 each).
pub(crate) mod port_line {
    pub(crate) const RX_QUEUES: usize = 0;
    pub(crate) const TX_QUEUES: usize = 8;
    pub(crate) const LINK_UP: usize = 16;
}

/// Byte offsets in a `lcore` loops line beyond the worker-written [`super::LOOP_FIELDS`].
pub(crate) mod loops_line {
    pub(crate) const TSC_HZ: usize = 32;
    pub(crate) const CPU: usize = 40;
}

/// Byte offsets in a `queue` line.
pub(crate) mod queue_line {
    pub(crate) const RX_LCORE: usize = 40;
}

/// The whole layout for a spec: blocks, entries, bytes used.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) blocks: Blocks,
    pub(crate) entries: Vec<Placed>,
    pub(crate) size: usize,
}

pub(crate) fn scalar_slot(name: &str) -> usize {
    CATALOGUE
        .iter()
        .filter(|d| d.kind == Kind::Scalar)
        .position(|d| d.name == name)
        .expect("every scalar is in the catalogue")
}

impl Layout {
    #[allow(clippy::too_many_lines)] // a line per block, twice: where it lies, then rebased
    pub(crate) fn new(
        ports: usize,
        workers: usize,
        counting: bool,
        extra: &[(String, String)],
    ) -> Self {
        let mut at = 0;
        let mut block = |bytes: usize| {
            let offset = at;
            at = round_up(at + bytes, LINE);
            offset
        };
        let scalars = CATALOGUE.iter().filter(|d| d.kind == Kind::Scalar).count();
        let mut b = Blocks {
            port_names: block(ports * ELEMENT_SIZE),
            port_info: block(ports * LINE),
            lanes: block(workers * ports * LINE),
            driver: block(ports * LINE),
            lcore_names: block(workers * ELEMENT_SIZE),
            loops: block(workers * LINE),
            queue_names: block(ports * QUEUE_SLOTS * ELEMENT_SIZE),
            queues: block(ports * QUEUE_SLOTS * LINE),
            pipeline_names: block(PIPELINE_SLOTS * ELEMENT_SIZE),
            pipeline_counters: block(workers * PIPELINE_SLOTS * PIPELINE_FIELDS * 8),
            latency: block(workers * PIPELINE_SLOTS * HISTOGRAM_BYTES),
            probes: block(workers * PIPELINE_SLOTS * HISTOGRAM_BYTES),
            rule_names: block(RULE_SLOTS * ELEMENT_SIZE),
            rule_counters: block(workers * RULE_SLOTS * 8),
            route_names: block(ROUTE_SLOTS * ELEMENT_SIZE),
            route_counters: block(workers * ROUTE_SLOTS * ROUTE_FIELDS * 8),
            next_hop_names: block(NEXT_HOP_SLOTS * ELEMENT_SIZE),
            next_hop_counters: block(workers * NEXT_HOP_SLOTS * 8),
            acl_names: block(ACL_SLOTS * ELEMENT_SIZE),
            acl_counters: block(workers * ACL_SLOTS * 8),
            acl_rule_names: block(ACL_RULE_SLOTS * ELEMENT_SIZE),
            acl_rule_counters: block(workers * ACL_RULE_SLOTS * 8),
            run_names: block(MEMORY_RUNS * ELEMENT_SIZE),
            runs: block(MEMORY_RUNS * 32),
            scalars: block(scalars * 8),
            failure: block(FAILURE_LEN),
            samples: block(workers * SAMPLE_SLOTS * sample_stride(ports)),
            extra: Vec::new(),
        };
        let extra_blocks: Vec<(usize, usize)> = extra
            .iter()
            .map(|(name, _)| {
                let n = if name.starts_with("lcore/") {
                    workers
                } else {
                    ports
                };
                (block(workers * n * 8), n)
            })
            .collect();
        b.extra.clone_from(&extra_blocks);

        let mut entries: Vec<Placed> = CATALOGUE
            .iter()
            .filter_map(|d| Self::place(d, &b, ports, workers, counting))
            .collect();
        for ((name, help), (offset, n)) in extra.iter().zip(&extra_blocks) {
            entries.push(Placed {
                name: name.clone(),
                kind: Kind::Counter,
                flags: 0,
                link: String::new(),
                help: help.clone(),
                count: *n,
                stride: 8,
                copies: workers,
                offset: *offset,
                copy_stride: n * 8,
            });
        }
        // The data follows the header and the directory.
        let base = round_up(HEADER_SIZE + entries.len() * ENTRY_SIZE, LINE);
        for e in &mut entries {
            e.offset += base;
        }
        for o in [
            &mut b.port_names,
            &mut b.port_info,
            &mut b.lanes,
            &mut b.driver,
            &mut b.lcore_names,
            &mut b.loops,
            &mut b.queue_names,
            &mut b.queues,
            &mut b.pipeline_names,
            &mut b.pipeline_counters,
            &mut b.latency,
            &mut b.probes,
            &mut b.rule_names,
            &mut b.rule_counters,
            &mut b.route_names,
            &mut b.route_counters,
            &mut b.next_hop_names,
            &mut b.next_hop_counters,
            &mut b.acl_names,
            &mut b.acl_counters,
            &mut b.acl_rule_names,
            &mut b.acl_rule_counters,
            &mut b.run_names,
            &mut b.runs,
            &mut b.scalars,
            &mut b.failure,
            &mut b.samples,
        ] {
            *o += base;
        }
        for (o, _) in &mut b.extra {
            *o += base;
        }
        Self {
            blocks: b,
            entries,
            size: base + at,
        }
    }

    /// Where catalogue entry `d` lies: (offset, count, stride, copies, copy stride).
    #[allow(clippy::too_many_lines)] // one arm per entry: the catalogue's other half
    fn place(
        d: &EntryDef,
        b: &Blocks,
        ports: usize,
        workers: usize,
        counting: bool,
    ) -> Option<Placed> {
        let lanes = |field: usize| (b.lanes + field, ports, LINE, workers, ports * LINE);
        let driver = |field: usize| (b.driver + field, ports, LINE, 1, 0);
        let loops = |field: usize| (b.loops + field, workers, LINE, 1, 0);
        let queues = |field: usize| (b.queues + field, ports * QUEUE_SLOTS, LINE, 1, 0);
        let pipeline_line = PIPELINE_FIELDS * 8;
        let pipelines = |field: usize| {
            (
                b.pipeline_counters + field,
                PIPELINE_SLOTS,
                pipeline_line,
                workers,
                PIPELINE_SLOTS * pipeline_line,
            )
        };
        let histograms = |offset: usize| {
            (
                offset,
                PIPELINE_SLOTS,
                HISTOGRAM_BYTES,
                workers,
                PIPELINE_SLOTS * HISTOGRAM_BYTES,
            )
        };
        let route_line = ROUTE_FIELDS * 8;
        let routes = |field: usize| {
            (
                b.route_counters + field,
                ROUTE_SLOTS,
                route_line,
                workers,
                ROUTE_SLOTS * route_line,
            )
        };
        let runs = |field: usize| (b.runs + field, MEMORY_RUNS, 32, 1, 0);
        let names = |offset: usize, count: usize| (offset, count, ELEMENT_SIZE, 1, 0);
        let mut flags = d.flags;
        let (offset, count, stride, copies, copy_stride) = match d.name {
            "port" => names(b.port_names, ports),
            // Without software counters, the port's packet counts are the driver's.
            "port/rxPackets" if !counting => {
                flags &= !crate::layout::flags::BY_WORKER;
                driver(0)
            }
            "port/txPackets" if !counting => {
                flags &= !crate::layout::flags::BY_WORKER;
                driver(8)
            }
            "port/rxPackets" => lanes(0),
            "port/txPackets" => lanes(8),
            "port/txDropped" => lanes(16),
            "port/unrouted" => lanes(24),
            "port/busyPolls" => lanes(32),
            "port/txLinkDown" => lanes(40),
            "port/driverRxPackets" => driver(0),
            "port/driverTxPackets" => driver(8),
            "port/rxBytes" => driver(16),
            "port/txBytes" => driver(24),
            "port/rxMissed" => driver(32),
            "port/rxErrors" => driver(40),
            "port/txErrors" => driver(48),
            "port/rxNombuf" => driver(56),
            "port/rxQueues" => (b.port_info + port_line::RX_QUEUES, ports, LINE, 1, 0),
            "port/txQueues" => (b.port_info + port_line::TX_QUEUES, ports, LINE, 1, 0),
            "port/linkUp" => (b.port_info + port_line::LINK_UP, ports, LINE, 1, 0),
            "lcore" => names(b.lcore_names, workers),
            "lcore/cpu" => loops(loops_line::CPU),
            "lcore/loops" => loops(0),
            "lcore/idleLoops" => loops(8),
            "lcore/busyCycles" => loops(16),
            "lcore/idleCycles" => loops(24),
            "lcore/tscHz" => loops(loops_line::TSC_HZ),
            "queue" => names(b.queue_names, ports * QUEUE_SLOTS),
            "queue/rxPackets" => queues(0),
            "queue/rxBytes" => queues(8),
            "queue/txPackets" => queues(16),
            "queue/txBytes" => queues(24),
            "queue/errors" => queues(32),
            "queue/rxLcore" => queues(queue_line::RX_LCORE),
            "pipeline" => names(b.pipeline_names, PIPELINE_SLOTS),
            "pipeline/inPackets" => pipelines(0),
            "pipeline/outPackets" => pipelines(8),
            "pipeline/dropped" => pipelines(16),
            "pipeline/generated" => pipelines(24),
            "pipeline/probesLost" => pipelines(32),
            "pipeline/probesReordered" => pipelines(40),
            "pipeline/paceMissed" => pipelines(48),
            "pipeline/latency" => histograms(b.latency),
            "pipeline/probes" => histograms(b.probes),
            "rule" => names(b.rule_names, RULE_SLOTS),
            "rule/matched" => (b.rule_counters, RULE_SLOTS, 8, workers, RULE_SLOTS * 8),
            "route" => names(b.route_names, ROUTE_SLOTS),
            "route/noRoute" => routes(0),
            "route/ttlExpired" => routes(8),
            "route/badHeader" => routes(16),
            "route/notIp" => routes(24),
            "nextHop" => names(b.next_hop_names, NEXT_HOP_SLOTS),
            "nextHop/forwarded" => (
                b.next_hop_counters,
                NEXT_HOP_SLOTS,
                8,
                workers,
                NEXT_HOP_SLOTS * 8,
            ),
            "acl" => names(b.acl_names, ACL_SLOTS),
            "acl/unmatched" => (b.acl_counters, ACL_SLOTS, 8, workers, ACL_SLOTS * 8),
            "aclRule" => names(b.acl_rule_names, ACL_RULE_SLOTS),
            "aclRule/hits" => (
                b.acl_rule_counters,
                ACL_RULE_SLOTS,
                8,
                workers,
                ACL_RULE_SLOTS * 8,
            ),
            "memoryRun" => names(b.run_names, MEMORY_RUNS),
            "memoryRun/iova" => runs(0),
            "memoryRun/bytes" => runs(8),
            "memoryRun/segments" => runs(16),
            "memoryRun/socket" => runs(24),
            "failure" => (b.failure, FAILURE_LEN, 1, 1, 0),
            "samples" => (
                b.samples,
                SAMPLE_SLOTS,
                sample_stride(ports),
                workers,
                SAMPLE_SLOTS * sample_stride(ports),
            ),
            scalar if d.kind == Kind::Scalar => (b.scalars + 8 * scalar_slot(scalar), 1, 8, 1, 0),
            _ => return None,
        };
        Some(Placed {
            name: d.name.to_owned(),
            kind: d.kind,
            flags,
            link: d.link.to_owned(),
            help: d.help.to_owned(),
            count,
            stride,
            copies,
            offset,
            copy_stride,
        })
    }
}

/// Bytes a segment for `ports` ports and `lcores` workers takes in pages of `page_size`
/// (what a hugepage plan must count).
pub fn segment_size(ports: usize, lcores: usize, page_size: usize) -> usize {
    round_up(
        Layout::new(ports, lcores, true, &[]).size,
        page_size.max(4096),
    )
}
