/**
 * What a running engine reports about itself at start. Its counters are the stats segment's
 * (`EngineStats` and friends, generated from the Rust catalogue in segment-layout.ts).
 */

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
  plan: { pageSize: number; mempoolBytes: number; portBytes: number; ealBytes: number; tableBytes: number; heapBytes: number; heapPages: number; statsPages: number; pages: number };
}
