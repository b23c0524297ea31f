/** What a running engine reports. Counts are integers below 2^53. */

/** A worker lcore and what it polls. */
export interface WorkerInfo {
  lcore: number;
  cpu: number;
  /** `"port:queue"` per rx queue it alone polls. */
  rxQueues: string[];
  /** Pipelines whose generator it runs. */
  generators: string[];
}

/** The packet pool. */
export interface MempoolInfo {
  name: string;
  capacity: number;
  elementSize: number;
  cache: number;
}

/** One port. */
export interface PortSummary {
  name: string;
  id: number;
  /** DPDK device name, e.g. net_pcap0. */
  device: string;
  driver: string;
  mac: string;
  linkUp: boolean;
  rxQueues: number;
  txQueues: number;
  /** Whether rx is spread over the queues by RSS. */
  rss: boolean;
}

/** Facts fixed when the engine started. */
export interface EngineInfo {
  /** The IOVA mode DPDK selected. */
  iovaMode: 'PA' | 'VA';
  mainLcore: number;
  workers: WorkerInfo[];
  /** Whether hugepages back packet memory. */
  hugepages: boolean;
  /** Why hugepages are not used, when the engine chose. */
  hugepagesNote?: string;
  mempool: MempoolInfo;
  ports: PortSummary[];
  /** The argv EAL was started with. */
  ealArgs: string[];
  dpdkVersion: string;
  /** The shared-memory stats segment any process may read (StatsReader, fastpath stats). */
  statsPath: string;
  /** EAL's memory once the ports and the pool were set up. */
  memory: MemoryInfo;
  /** What this start found and cleared (left by a killed engine of the same name). */
  notes: string[];
}

/** EAL's memory as the engine came up (the same as `fastpath mem map`). */
export interface MemoryInfo {
  /** Bytes EAL mapped, in how many memsegs (pages) of what size. */
  bytes: number;
  segments: number;
  pageSize: number;
  /** Runs contiguous in both virtual and IO address space (hex addresses), in address order. */
  runs: { va: string; iova: string; bytes: number; pageSize: number; socket: number; segments: number }[];
  /** Each NUMA socket's malloc heap. */
  heaps: { socket: number; totalBytes: number; allocatedBytes: number; largestFreeBytes: number }[];
  /** What the memory planner counted on before EAL started (`fastpath mem plan`). */
  plan: { pageSize: number; mempoolBytes: number; portBytes: number; ealBytes: number; heapBytes: number; heapPages: number; statsPages: number; pages: number };
}

/** Counters of one port. */
export interface PortCounters {
  name: string;
  /** Packets the engine received on this port. */
  rxPackets: number;
  /** Packets the engine sent out of this port. */
  txPackets: number;
  /** Packets for this port dropped because its tx queue was full. */
  txDropped: number;
  /** Packets received here that no pipeline takes. */
  unrouted: number;
  rxBytes: number;
  txBytes: number;
  /** Packets the driver missed or had no buffer for. */
  rxMissed: number;
  rxErrors: number;
  txErrors: number;
}

/** Counters of one worker lcore. */
export interface LcoreCounters {
  lcore: number;
  rxPackets: number;
  txPackets: number;
  txDropped: number;
}

/** Counters of one match stage. */
export interface RuleCounters {
  name: string;
  matched: number;
}

/** Counters of one pipeline, carried across live changes by name. */
export interface PipelineCounters {
  name: string;
  /** Packets that entered (received or generated). */
  inPackets: number;
  /** Packets handed to outputs (copies included). */
  outPackets: number;
  /** Packets its stages dropped. */
  dropped: number;
  /** Packets its generator made. */
  generated: number;
  rules: RuleCounters[];
}

/** A snapshot of every counter. */
export interface EngineStats {
  uptimeNs: number;
  /** Pipeline generation: 1 at start, +1 per apply(). */
  generation: number;
  ports: PortCounters[];
  lcores: LcoreCounters[];
  pipelines: PipelineCounters[];
  mempoolAvailable: number;
  mempoolInUse: number;
  /**
   * Set once a worker's poll loop has failed (a panic, caught at the lcore): what happened
   * and what to do. The engine keeps running on its other workers; stop it.
   */
  failure?: string;
  /**
   * 10 ms samples that found fewer free mbufs than a burst: the pool ran dry, so receiving
   * and generating stall until packets leave (software PMDs count no rxNombuf). Raise
   * `memory.mbufs`.
   */
  mempoolDrySamples: number;
}
