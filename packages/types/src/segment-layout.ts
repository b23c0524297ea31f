/**
 * The stats segment's byte layout and entry catalogue, generated from crates/stats
 * (src/typescript.rs). Do not edit: `cargo test -p stats` fails when this file is stale and
 * `FASTPATH_WRITE_LAYOUT=1 cargo test -p stats` rewrites it. docs/stats-layout.md explains it.
 */

export const MAGIC = 'FPSTATS1';
export const LAYOUT_VERSION = 3;
export const HEADER_SIZE = 256;
export const ENTRY_SIZE = 128;
export const ENGINE_NAME_LEN = 64;
export const ELEMENT_NAME_LEN = 56;
export const ELEMENT_PARENT = 56;
export const ELEMENT_SIZE = 64;
export const MAX_ENTRIES = 1024;
export const FLAG_STOPPED = 1;
export const FLAG_FAILED = 2;
export const SAMPLE_HEADER = 16;
export const SAMPLE_PORT = 24;
export const SAMPLE_PERIOD_MS = 10;
export const HISTOGRAM_SUB_BITS = 4;
export const HISTOGRAM_HEADER = 4;
export const HISTOGRAM_BUCKETS = 464;
/** The object whose elements are the worker lcores (copy w of a per-worker entry is its element w). */
export const WORKER_OBJECT = 'lcore';

/** Header field offsets. */
export const header = {
  MAGIC: 0,
  VERSION: 8,
  HEADER_SIZE: 12,
  SEGMENT_SIZE: 16,
  PID: 24,
  FLAGS: 28,
  START_NS: 32,
  HEARTBEAT_NS: 40,
  STRUCTURE_SEQ: 48,
  DIRECTORY_OFFSET: 56,
  DIRECTORY_COUNT: 60,
  WORKERS: 64,
  PORTS: 68,
  SAMPLES_WRITTEN: 72,
  NAME: 80,
} as const;

/** Directory entry field offsets. */
export const entry = {
  NAME: 0,
  NAME_LEN: 32,
  KIND: 32,
  FLAGS: 33,
  COUNT: 36,
  STRIDE: 40,
  COPIES: 44,
  OFFSET: 48,
  COPY_STRIDE: 56,
  LINK: 64,
  LINK_LEN: 16,
  HELP: 80,
  HELP_LEN: 48,
  SIZE: 128,
} as const;

/** Sample slot field offsets: the header's from the slot, a port's from its triple. */
export const sample = {
  SEQUENCE: 0,
  TIME: 8,
  RX: 0,
  TX: 8,
  DROPS: 16,
} as const;

/** Entry kinds: how a reader decodes an entry. */
export const Kind = {
  Scalar: 1,
  Counter: 2,
  Names: 3,
  Histogram: 4,
  Ring: 5,
  Text: 6,
} as const;

/** Entry flags. */
export const flags = {
  GAUGE: 1,
  BY_WORKER: 2,
  REF: 4,
  OPTIONAL: 8,
  STATIC: 16,
} as const;

/** Every entry an engine writes (crates/stats/src/catalogue.rs). */
export const CATALOGUE = [
  { name: "port", kind: Kind.Names, flags: 0, link: "", help: "Ports, in port order." },
  { name: "port/rxPackets", kind: Kind.Counter, flags: 2, link: "", help: "Packets received on the port." },
  { name: "port/txPackets", kind: Kind.Counter, flags: 2, link: "", help: "Packets sent out of the port." },
  { name: "port/txDropped", kind: Kind.Counter, flags: 2, link: "", help: "Packets dropped at a full tx queue." },
  { name: "port/txLinkDown", kind: Kind.Counter, flags: 2, link: "", help: "Packets dropped: the port's link was down." },
  { name: "port/unrouted", kind: Kind.Counter, flags: 0, link: "", help: "Packets received that no pipeline takes." },
  { name: "port/busyPolls", kind: Kind.Counter, flags: 0, link: "", help: "Rx polls that returned packets." },
  { name: "port/driverRxPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver received." },
  { name: "port/driverTxPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver sent." },
  { name: "port/rxBytes", kind: Kind.Counter, flags: 0, link: "", help: "Bytes the driver received." },
  { name: "port/txBytes", kind: Kind.Counter, flags: 0, link: "", help: "Bytes the driver sent." },
  { name: "port/rxMissed", kind: Kind.Counter, flags: 0, link: "", help: "Packets the device missed (rx ring full)." },
  { name: "port/rxErrors", kind: Kind.Counter, flags: 0, link: "", help: "Erroneous packets the driver received." },
  { name: "port/txErrors", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver failed to send." },
  { name: "port/rxNombuf", kind: Kind.Counter, flags: 0, link: "", help: "Rx mbuf allocation failures." },
  { name: "port/rxQueues", kind: Kind.Counter, flags: 1, link: "", help: "Rx queues the port came up with." },
  { name: "port/txQueues", kind: Kind.Counter, flags: 1, link: "", help: "Tx queues the port came up with." },
  { name: "port/linkUp", kind: Kind.Counter, flags: 9, link: "", help: "1 link up, 0 down (null: driver cannot tell)." },
  { name: "lcore", kind: Kind.Names, flags: 0, link: "", help: "Worker lcores, by lcore id." },
  { name: "lcore/cpu", kind: Kind.Counter, flags: 1, link: "", help: "The CPU the worker runs on." },
  { name: "lcore/loops", kind: Kind.Counter, flags: 0, link: "", help: "Poll-loop iterations." },
  { name: "lcore/idleLoops", kind: Kind.Counter, flags: 0, link: "", help: "Poll-loop iterations that found nothing." },
  { name: "lcore/busyCycles", kind: Kind.Counter, flags: 0, link: "", help: "TSC cycles in iterations that did work." },
  { name: "lcore/idleCycles", kind: Kind.Counter, flags: 0, link: "", help: "TSC cycles in iterations that found nothing." },
  { name: "lcore/tscHz", kind: Kind.Counter, flags: 1, link: "", help: "TSC ticks per second." },
  { name: "queue", kind: Kind.Names, flags: 0, link: "port", help: "Queue pairs of a port (its first 16)." },
  { name: "queue/rxPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver received on the queue." },
  { name: "queue/rxBytes", kind: Kind.Counter, flags: 0, link: "", help: "Bytes the driver received on the queue." },
  { name: "queue/txPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver sent on the queue." },
  { name: "queue/txBytes", kind: Kind.Counter, flags: 0, link: "", help: "Bytes the driver sent on the queue." },
  { name: "queue/errors", kind: Kind.Counter, flags: 0, link: "", help: "Packets the driver dropped on the rx queue." },
  { name: "queue/rxLcore", kind: Kind.Counter, flags: 5, link: "lcore", help: "The worker lcore polling the rx queue." },
  { name: "pipeline", kind: Kind.Names, flags: 0, link: "", help: "Pipelines by name, over the engine's life." },
  { name: "pipeline/inPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets that entered the pipeline." },
  { name: "pipeline/outPackets", kind: Kind.Counter, flags: 0, link: "", help: "Packets the pipeline handed to outputs." },
  { name: "pipeline/dropped", kind: Kind.Counter, flags: 0, link: "", help: "Packets the pipeline's stages dropped." },
  { name: "pipeline/generated", kind: Kind.Counter, flags: 0, link: "", help: "Packets the pipeline's generator made." },
  { name: "pipeline/probesLost", kind: Kind.Counter, flags: 0, link: "", help: "Probes missing among those seen (seq gaps)." },
  { name: "pipeline/probesReordered", kind: Kind.Counter, flags: 0, link: "", help: "Probes that came after a later one." },
  { name: "pipeline/paceMissed", kind: Kind.Counter, flags: 0, link: "", help: "Packets the rate asked for, not made in time." },
  { name: "pipeline/latency", kind: Kind.Histogram, flags: 0, link: "", help: "Time from rx burst to tx in the engine (ns)." },
  { name: "pipeline/probes", kind: Kind.Histogram, flags: 0, link: "", help: "Round trip of the generator's probes (ns)." },
  { name: "rule", kind: Kind.Names, flags: 0, link: "pipeline", help: "Match stages of a pipeline, by name." },
  { name: "rule/matched", kind: Kind.Counter, flags: 0, link: "", help: "Packets the match stage matched." },
  { name: "route", kind: Kind.Names, flags: 0, link: "pipeline", help: "Route stages of a pipeline, by name." },
  { name: "route/noRoute", kind: Kind.Counter, flags: 0, link: "", help: "Packets dropped: no route, no default." },
  { name: "route/ttlExpired", kind: Kind.Counter, flags: 0, link: "", help: "Packets dropped: TTL or hop limit <= 1." },
  { name: "route/badHeader", kind: Kind.Counter, flags: 0, link: "", help: "Packets dropped: bad IP header." },
  { name: "route/notIp", kind: Kind.Counter, flags: 0, link: "", help: "Packets dropped: neither IPv4 nor IPv6." },
  { name: "nextHop", kind: Kind.Names, flags: 0, link: "route", help: "Next hops of a route stage, by name." },
  { name: "nextHop/forwarded", kind: Kind.Counter, flags: 0, link: "", help: "Packets routed to the next hop." },
  { name: "acl", kind: Kind.Names, flags: 0, link: "pipeline", help: "ACL stages of a pipeline, by name." },
  { name: "acl/unmatched", kind: Kind.Counter, flags: 0, link: "", help: "Packets no rule matched (the default's)." },
  { name: "aclRule", kind: Kind.Names, flags: 0, link: "acl", help: "Rules of an ACL stage, by name." },
  { name: "aclRule/hits", kind: Kind.Counter, flags: 0, link: "", help: "Packets the rule matched first." },
  { name: "memoryRun", kind: Kind.Names, flags: 0, link: "", help: "IOVA-contiguous memory runs, by address." },
  { name: "memoryRun/iova", kind: Kind.Counter, flags: 25, link: "", help: "IO address of the run (null: unknown)." },
  { name: "memoryRun/bytes", kind: Kind.Counter, flags: 17, link: "", help: "Bytes in the run." },
  { name: "memoryRun/segments", kind: Kind.Counter, flags: 17, link: "", help: "Memsegs (pages) in the run." },
  { name: "memoryRun/socket", kind: Kind.Counter, flags: 25, link: "", help: "NUMA socket of the run (null: any)." },
  { name: "generation", kind: Kind.Scalar, flags: 1, link: "", help: "Pipeline generation: 1, then +1 per apply." },
  { name: "mempool/capacity", kind: Kind.Scalar, flags: 1, link: "", help: "Mbufs in the packet pool." },
  { name: "mempool/available", kind: Kind.Scalar, flags: 1, link: "", help: "Mbufs free in the packet pool." },
  { name: "mempool/inUse", kind: Kind.Scalar, flags: 1, link: "", help: "Mbufs in use." },
  { name: "mempool/drySamples", kind: Kind.Scalar, flags: 0, link: "", help: "10 ms samples that found the pool dry." },
  { name: "memory/iovaMode", kind: Kind.Scalar, flags: 17, link: "", help: "IOVA mode: 1 = PA, 2 = VA, 0 = unknown." },
  { name: "memory/bytes", kind: Kind.Scalar, flags: 17, link: "", help: "Bytes EAL mapped." },
  { name: "memory/segments", kind: Kind.Scalar, flags: 17, link: "", help: "Memsegs (pages) EAL mapped." },
  { name: "memory/pageSize", kind: Kind.Scalar, flags: 17, link: "", help: "Page size of EAL's memory." },
  { name: "memory/heapTotal", kind: Kind.Scalar, flags: 17, link: "", help: "Bytes the malloc heaps hold." },
  { name: "memory/heapAllocated", kind: Kind.Scalar, flags: 17, link: "", help: "Bytes allocated from the malloc heaps." },
  { name: "memory/planned", kind: Kind.Scalar, flags: 17, link: "", help: "Heap bytes the memory plan asked for." },
  { name: "memory/runs", kind: Kind.Scalar, flags: 17, link: "", help: "IOVA-contiguous runs in all." },
  { name: "failure", kind: Kind.Text, flags: 0, link: "", help: "Why a worker failed (absent: none did)." },
  { name: "samples", kind: Kind.Ring, flags: 0, link: "", help: "Per-worker rings of 10 ms samples." },
] as const;

/** A histogram entry's value in a row: nanoseconds (nulls when nothing was counted). */
export interface HistogramSummary {
  count: number;
  minNs: number | null;
  p50Ns: number | null;
  p90Ns: number | null;
  p99Ns: number | null;
  p999Ns: number | null;
  maxNs: number | null;
}

/** Ports, in port order. */
export interface PortStats {
  name: string;
  /** Packets received on the port. */
  rxPackets: number;
  /** Packets sent out of the port. */
  txPackets: number;
  /** Packets dropped at a full tx queue. */
  txDropped: number;
  /** Packets dropped: the port's link was down. */
  txLinkDown: number;
  /** Packets received that no pipeline takes. */
  unrouted: number;
  /** Rx polls that returned packets. */
  busyPolls: number;
  /** Packets the driver received. */
  driverRxPackets: number;
  /** Packets the driver sent. */
  driverTxPackets: number;
  /** Bytes the driver received. */
  rxBytes: number;
  /** Bytes the driver sent. */
  txBytes: number;
  /** Packets the device missed (rx ring full). */
  rxMissed: number;
  /** Erroneous packets the driver received. */
  rxErrors: number;
  /** Packets the driver failed to send. */
  txErrors: number;
  /** Rx mbuf allocation failures. */
  rxNombuf: number;
  /** Rx queues the port came up with. */
  rxQueues: number;
  /** Tx queues the port came up with. */
  txQueues: number;
  /** 1 link up, 0 down (null: driver cannot tell). */
  linkUp: number | null;
  queues: QueueStats[];
}

/** Worker lcores, by lcore id. */
export interface LcoreStats {
  name: string;
  /** Packets received on the port (summed over this worker's ports; absent when workers do not count). */
  rxPackets?: number;
  /** Packets sent out of the port (summed over this worker's ports; absent when workers do not count). */
  txPackets?: number;
  /** Packets dropped at a full tx queue (summed over this worker's ports; absent when workers do not count). */
  txDropped?: number;
  /** Packets dropped: the port's link was down (summed over this worker's ports; absent when workers do not count). */
  txLinkDown?: number;
  /** The CPU the worker runs on. */
  cpu: number;
  /** Poll-loop iterations. */
  loops: number;
  /** Poll-loop iterations that found nothing. */
  idleLoops: number;
  /** TSC cycles in iterations that did work. */
  busyCycles: number;
  /** TSC cycles in iterations that found nothing. */
  idleCycles: number;
  /** TSC ticks per second. */
  tscHz: number;
}

/** Queue pairs of a port (its first 16). */
export interface QueueStats {
  name: string;
  /** Packets the driver received on the queue. */
  rxPackets: number;
  /** Bytes the driver received on the queue. */
  rxBytes: number;
  /** Packets the driver sent on the queue. */
  txPackets: number;
  /** Bytes the driver sent on the queue. */
  txBytes: number;
  /** Packets the driver dropped on the rx queue. */
  errors: number;
  /** The worker lcore polling the rx queue. */
  rxLcore: string | null;
}

/** Pipelines by name, over the engine's life. */
export interface PipelineStats {
  name: string;
  /** Packets that entered the pipeline. */
  inPackets: number;
  /** Packets the pipeline handed to outputs. */
  outPackets: number;
  /** Packets the pipeline's stages dropped. */
  dropped: number;
  /** Packets the pipeline's generator made. */
  generated: number;
  /** Probes missing among those seen (seq gaps). */
  probesLost: number;
  /** Probes that came after a later one. */
  probesReordered: number;
  /** Packets the rate asked for, not made in time. */
  paceMissed: number;
  /** Time from rx burst to tx in the engine (ns). */
  latency: HistogramSummary;
  /** Round trip of the generator's probes (ns). */
  probes: HistogramSummary;
  rules: RuleStats[];
  routes: RouteStats[];
  acls: AclStats[];
}

/** Match stages of a pipeline, by name. */
export interface RuleStats {
  name: string;
  /** Packets the match stage matched. */
  matched: number;
}

/** Route stages of a pipeline, by name. */
export interface RouteStats {
  name: string;
  /** Packets dropped: no route, no default. */
  noRoute: number;
  /** Packets dropped: TTL or hop limit <= 1. */
  ttlExpired: number;
  /** Packets dropped: bad IP header. */
  badHeader: number;
  /** Packets dropped: neither IPv4 nor IPv6. */
  notIp: number;
  nextHops: NextHopStats[];
}

/** Next hops of a route stage, by name. */
export interface NextHopStats {
  name: string;
  /** Packets routed to the next hop. */
  forwarded: number;
}

/** ACL stages of a pipeline, by name. */
export interface AclStats {
  name: string;
  /** Packets no rule matched (the default's). */
  unmatched: number;
  aclRules: AclRuleStats[];
}

/** Rules of an ACL stage, by name. */
export interface AclRuleStats {
  name: string;
  /** Packets the rule matched first. */
  hits: number;
}

/** IOVA-contiguous memory runs, by address. */
export interface MemoryRunStats {
  name: string;
  /** IO address of the run (null: unknown). */
  iova: number | null;
  /** Bytes in the run. */
  bytes: number;
  /** Memsegs (pages) in the run. */
  segments: number;
  /** NUMA socket of the run (null: any). */
  socket: number | null;
}

/** The `mempool/…` scalars. */
export interface MempoolScalars {
  /** Mbufs in the packet pool. */
  capacity: number;
  /** Mbufs free in the packet pool. */
  available: number;
  /** Mbufs in use. */
  inUse: number;
  /** 10 ms samples that found the pool dry. */
  drySamples: number;
}

/** The `memory/…` scalars. */
export interface MemoryScalars {
  /** IOVA mode: 1 = PA, 2 = VA, 0 = unknown. */
  iovaMode: number;
  /** Bytes EAL mapped. */
  bytes: number;
  /** Memsegs (pages) EAL mapped. */
  segments: number;
  /** Page size of EAL's memory. */
  pageSize: number;
  /** Bytes the malloc heaps hold. */
  heapTotal: number;
  /** Bytes allocated from the malloc heaps. */
  heapAllocated: number;
  /** Heap bytes the memory plan asked for. */
  planned: number;
  /** IOVA-contiguous runs in all. */
  runs: number;
}

/**
 * Every quantity an engine's segment holds, decoded by kind: what `engine.stats()`,
 * `StatsReader.snapshot()` and `fastpath stats --json` report.
 */
export interface EngineStats {
  /** The engine's name (its EAL file prefix). */
  name: string;
  pid: number;
  /** Not stopped, and its heartbeat is under 2 s old. */
  alive: boolean;
  /** A worker's loop failed (see `failure`): the engine runs on without it; stop it. */
  failed: boolean;
  /** From the workers' start to the last heartbeat (10 ms steps; frozen once stopped). */
  uptimeNs: number;
  /** Pipeline generation: 1, then +1 per apply. */
  generation: number;
  /** Why a worker failed (absent: none did). */
  failure?: string;
  mempool: MempoolScalars;
  memory: MemoryScalars;
  /** Ports, in port order. */
  ports: PortStats[];
  /** Worker lcores, by lcore id. */
  lcores: LcoreStats[];
  /** Pipelines by name, over the engine's life. */
  pipelines: PipelineStats[];
  /** IOVA-contiguous memory runs, by address. */
  memoryRuns: MemoryRunStats[];
}
