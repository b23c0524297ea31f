//! Every entry the engine puts in its segment: name, kind, flags, link and help, written
//! once. The writer lays the segment out from this list, and the generated TypeScript module
//! carries it (with the snapshot types derived from it), so a quantity has one name in Rust,
//! TypeScript, `fastpath stats --json`, Prometheus and the docs.
//!
//! Names: `object` for a [`Kind::Names`] entry, `object/field` for a [`Kind::Counter`] over
//! its elements, `group/field` or `field` for a [`Kind::Scalar`], a plain name for the rest.
//! Fields are camelCase; Prometheus turns them into snake case.

use crate::layout::{
    flags::{BY_WORKER, GAUGE, OPTIONAL, REF, STATIC},
    Kind,
};

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryDef {
    /// Entry name (at most 31 bytes).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// [`crate::flags`].
    pub flags: u8,
    /// A names entry's parent object, or a [`REF`] entry's target ("" for none).
    pub link: &'static str,
    /// One line (at most 47 bytes).
    pub help: &'static str,
}

const fn def(
    name: &'static str,
    kind: Kind,
    flags: u8,
    link: &'static str,
    help: &'static str,
) -> EntryDef {
    EntryDef {
        name,
        kind,
        flags,
        link,
        help,
    }
}

const fn names(name: &'static str, link: &'static str, help: &'static str) -> EntryDef {
    def(name, Kind::Names, 0, link, help)
}

const fn counter(name: &'static str, help: &'static str) -> EntryDef {
    def(name, Kind::Counter, 0, "", help)
}

const fn gauge(name: &'static str, help: &'static str) -> EntryDef {
    def(name, Kind::Counter, GAUGE, "", help)
}

const fn histogram(name: &'static str, help: &'static str) -> EntryDef {
    def(name, Kind::Histogram, 0, "", help)
}

/// A scalar written once, at start (readers may decode it once).
const fn fixed(name: &'static str, help: &'static str) -> EntryDef {
    def(name, Kind::Scalar, GAUGE | STATIC, "", help)
}

/// The catalogue, in directory order (parents before their children).
pub const CATALOGUE: &[EntryDef] = &[
    names("port", "", "Ports, in port order."),
    def(
        "port/rxPackets",
        Kind::Counter,
        BY_WORKER,
        "",
        "Packets received on the port.",
    ),
    def(
        "port/txPackets",
        Kind::Counter,
        BY_WORKER,
        "",
        "Packets sent out of the port.",
    ),
    def(
        "port/txDropped",
        Kind::Counter,
        BY_WORKER,
        "",
        "Packets dropped at a full tx queue.",
    ),
    def(
        "port/txLinkDown",
        Kind::Counter,
        BY_WORKER,
        "",
        "Packets dropped: the port's link was down.",
    ),
    counter("port/unrouted", "Packets received that no pipeline takes."),
    counter("port/busyPolls", "Rx polls that returned packets."),
    counter("port/driverRxPackets", "Packets the driver received."),
    counter("port/driverTxPackets", "Packets the driver sent."),
    counter("port/rxBytes", "Bytes the driver received."),
    counter("port/txBytes", "Bytes the driver sent."),
    counter("port/rxMissed", "Packets the device missed (rx ring full)."),
    counter("port/rxErrors", "Erroneous packets the driver received."),
    counter("port/txErrors", "Packets the driver failed to send."),
    counter("port/rxNombuf", "Rx mbuf allocation failures."),
    gauge("port/rxQueues", "Rx queues the port came up with."),
    gauge("port/txQueues", "Tx queues the port came up with."),
    def(
        "port/linkUp",
        Kind::Counter,
        GAUGE | OPTIONAL,
        "",
        "1 link up, 0 down (null: driver cannot tell).",
    ),
    names("lcore", "", "Worker lcores, by lcore id."),
    gauge("lcore/cpu", "The CPU the worker runs on."),
    counter("lcore/loops", "Poll-loop iterations."),
    counter(
        "lcore/idleLoops",
        "Poll-loop iterations that found nothing.",
    ),
    counter(
        "lcore/busyCycles",
        "TSC cycles in iterations that did work.",
    ),
    counter(
        "lcore/idleCycles",
        "TSC cycles in iterations that found nothing.",
    ),
    gauge("lcore/tscHz", "TSC ticks per second."),
    names("queue", "port", "Queue pairs of a port (its first 16)."),
    counter(
        "queue/rxPackets",
        "Packets the driver received on the queue.",
    ),
    counter("queue/rxBytes", "Bytes the driver received on the queue."),
    counter("queue/txPackets", "Packets the driver sent on the queue."),
    counter("queue/txBytes", "Bytes the driver sent on the queue."),
    counter(
        "queue/errors",
        "Packets the driver dropped on the rx queue.",
    ),
    def(
        "queue/rxLcore",
        Kind::Counter,
        GAUGE | REF,
        "lcore",
        "The worker lcore polling the rx queue.",
    ),
    names("pipeline", "", "Pipelines by name, over the engine's life."),
    counter("pipeline/inPackets", "Packets that entered the pipeline."),
    counter(
        "pipeline/outPackets",
        "Packets the pipeline handed to outputs.",
    ),
    counter("pipeline/dropped", "Packets the pipeline's stages dropped."),
    counter(
        "pipeline/generated",
        "Packets the pipeline's generator made.",
    ),
    counter(
        "pipeline/probesLost",
        "Probes missing among those seen (seq gaps).",
    ),
    counter(
        "pipeline/probesReordered",
        "Probes that came after a later one.",
    ),
    counter(
        "pipeline/paceMissed",
        "Packets the rate asked for, not made in time.",
    ),
    histogram(
        "pipeline/latency",
        "Time from rx burst to tx in the engine (ns).",
    ),
    histogram(
        "pipeline/probes",
        "Round trip of the generator's probes (ns).",
    ),
    names("rule", "pipeline", "Match stages of a pipeline, by name."),
    counter("rule/matched", "Packets the match stage matched."),
    names("route", "pipeline", "Route stages of a pipeline, by name."),
    counter("route/noRoute", "Packets dropped: no route, no default."),
    counter(
        "route/ttlExpired",
        "Packets dropped: TTL or hop limit <= 1.",
    ),
    counter("route/badHeader", "Packets dropped: bad IP header."),
    counter("route/notIp", "Packets dropped: neither IPv4 nor IPv6."),
    names("nextHop", "route", "Next hops of a route stage, by name."),
    counter("nextHop/forwarded", "Packets routed to the next hop."),
    names("acl", "pipeline", "ACL stages of a pipeline, by name."),
    counter("acl/unmatched", "Packets no rule matched (the default's)."),
    names("aclRule", "acl", "Rules of an ACL stage, by name."),
    counter("aclRule/hits", "Packets the rule matched first."),
    names("memoryRun", "", "IOVA-contiguous memory runs, by address."),
    def(
        "memoryRun/iova",
        Kind::Counter,
        GAUGE | OPTIONAL | STATIC,
        "",
        "IO address of the run (null: unknown).",
    ),
    def(
        "memoryRun/bytes",
        Kind::Counter,
        GAUGE | STATIC,
        "",
        "Bytes in the run.",
    ),
    def(
        "memoryRun/segments",
        Kind::Counter,
        GAUGE | STATIC,
        "",
        "Memsegs (pages) in the run.",
    ),
    def(
        "memoryRun/socket",
        Kind::Counter,
        GAUGE | OPTIONAL | STATIC,
        "",
        "NUMA socket of the run (null: any).",
    ),
    def(
        "generation",
        Kind::Scalar,
        GAUGE,
        "",
        "Pipeline generation: 1, then +1 per apply.",
    ),
    def(
        "mempool/capacity",
        Kind::Scalar,
        GAUGE,
        "",
        "Mbufs in the packet pool.",
    ),
    def(
        "mempool/available",
        Kind::Scalar,
        GAUGE,
        "",
        "Mbufs free in the packet pool.",
    ),
    def("mempool/inUse", Kind::Scalar, GAUGE, "", "Mbufs in use."),
    def(
        "mempool/drySamples",
        Kind::Scalar,
        0,
        "",
        "10 ms samples that found the pool dry.",
    ),
    fixed("memory/iovaMode", "IOVA mode: 1 = PA, 2 = VA, 0 = unknown."),
    fixed("memory/bytes", "Bytes EAL mapped."),
    fixed("memory/segments", "Memsegs (pages) EAL mapped."),
    fixed("memory/pageSize", "Page size of EAL's memory."),
    fixed("memory/heapTotal", "Bytes the malloc heaps hold."),
    fixed(
        "memory/heapAllocated",
        "Bytes allocated from the malloc heaps.",
    ),
    fixed("memory/planned", "Heap bytes the memory plan asked for."),
    fixed("memory/runs", "IOVA-contiguous runs in all."),
    def(
        "failure",
        Kind::Text,
        0,
        "",
        "Why a worker failed (absent: none did).",
    ),
    def(
        "samples",
        Kind::Ring,
        0,
        "",
        "Per-worker rings of 10 ms samples.",
    ),
];

/// The catalogue entry named `name`.
pub fn find(name: &str) -> Option<&'static EntryDef> {
    CATALOGUE.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::entry;

    #[test]
    fn every_entry_fits_its_fields_and_names_its_object_first() {
        for (i, d) in CATALOGUE.iter().enumerate() {
            assert!(d.name.len() < entry::NAME_LEN, "{} is too long", d.name);
            assert!(
                d.link.len() < entry::LINK_LEN,
                "{}'s link is too long",
                d.name
            );
            assert!(
                d.help.len() < entry::HELP_LEN,
                "{}'s help is too long ({} bytes)",
                d.name,
                d.help.len()
            );
            assert_eq!(
                CATALOGUE.iter().filter(|o| o.name == d.name).count(),
                1,
                "{} twice",
                d.name
            );
            if matches!(d.kind, Kind::Counter | Kind::Histogram) {
                let object = d.name.split('/').next().unwrap_or_default();
                let at = CATALOGUE
                    .iter()
                    .position(|o| o.kind == Kind::Names && o.name == object);
                assert!(
                    at.is_some_and(|at| at < i),
                    "{}: no names entry {object} before it",
                    d.name
                );
            }
            if !d.link.is_empty() {
                assert!(
                    find(d.link).is_some_and(|o| o.kind == Kind::Names),
                    "{} links to {}",
                    d.name,
                    d.link
                );
            }
        }
    }
}
