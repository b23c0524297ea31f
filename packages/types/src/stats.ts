/** What a running engine reports. Counts are integers below 2^53. */

/** A worker lcore and the directions it forwards (`net_null0→net_null1`). */
export interface WorkerInfo {
  lcore: number;
  directions: string[];
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
  driver: string;
  mac: string;
  linkUp: boolean;
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
}

/** Counters of one port. */
export interface PortCounters {
  name: string;
  /** Packets the engine received on this port. */
  rxPackets: number;
  /** Packets the engine sent out of this port. */
  txPackets: number;
  /** Packets received here and dropped because their output queue was full. */
  rxDropped: number;
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
  dropped: number;
  busyPolls: number;
}

/** A snapshot of every counter. */
export interface EngineStats {
  uptimeNs: number;
  ports: PortCounters[];
  lcores: LcoreCounters[];
  mempoolAvailable: number;
  mempoolInUse: number;
}
