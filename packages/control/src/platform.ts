/**
 * What this machine offers DPDK, before EAL starts: the doctor's report (IOMMU, VFIO/UIO,
 * privileges, hugepages, NICs with the driver each should use, the IOVA mode EAL will
 * pick), the memory a config needs, and devbind. All of it reads a filesystem root
 * (default `/`) so that it can be pointed at a fixture tree.
 */
import { FastpathError, type EngineConfig } from '@fastpath/types';

import { wire } from './engine.js';
import { native } from './native.js';

/** One line of the doctor's verdict. */
export interface DoctorCheck {
  ok: boolean;
  what: string;
  /** What to do, when not ok. */
  fix?: string;
}

/** A PCI network device and the driver it should use. */
export interface DoctorDevice {
  pci: string;
  vendor: string;
  device: string;
  driver: string | null;
  iommuGroup: number | null;
  /** Whether its IOMMU group is viable once it is bound to vfio-pci (null: no group). */
  groupViable: boolean | null;
  numaNode: number | null;
  interface: string | null;
  /** Its kernel interface is up with a route or a global address: never take it. */
  active: boolean;
  recommendedDriver: 'vfio-pci' | 'uio_pci_generic' | 'igb_uio' | 'af_packet' | 'af_xdp' | 'pcap';
  reasons: string[];
}

/** A PCI device named to EAL (`-a`): what it asks of the PCI bus, and whether a port opens on it. */
export interface DoctorVote {
  pci: string;
  /** `vendor:device`, when the device exists. */
  ids: string | null;
  driver: string | null;
  iommuGroup: number | null;
  /** What `pci_device_iova_mode()` asks for; `skipped`: not counted (kernel driver, no driver, absent). */
  vote: 'pa' | 'va' | 'dc' | 'skipped';
  /** Why, after DPDK's source. */
  reason: string;
  /** EAL will initialise it, so that a port opens on it. */
  usable: boolean;
  /** Why not, and what to do. */
  problem: string | null;
}

/** The doctor's report (`fastpath doctor --json`). */
export interface DoctorReport {
  options: { noHuge: boolean; hugeFallback: boolean; devices: string[]; iovaModeForced: 'va' | 'pa' | null };
  /** The DPDK build Fastpath links: the rules the prediction follows. */
  dpdk: { version: string; iovaAsPa: boolean; vfio: boolean; kni: boolean; netCnxk: boolean; netMlx4: boolean; netMlx5: boolean; archX86: boolean };
  iommu: { present: boolean; groups: number; addressWidth: number | null };
  vfio: { loaded: boolean; pciLoaded: boolean; noiommu: boolean };
  uio: { loaded: boolean; igbUio: boolean; uioPciGeneric: boolean };
  privileges: { uid: number | null; root: boolean; capSysAdmin: boolean; physAddrs: boolean };
  hugepages: { sizeKb: number; numaNode: number | null; total: number; free: number; reserved: number | null }[];
  hugetlbfs: { path: string; pageSizeKb: number | null }[];
  devices: DoctorDevice[];
  iova: {
    predicted: 'va' | 'pa';
    /** `rte_eal_init()` will fail: the warnings say why. */
    ealFails: boolean;
    /** What the buses ask for (`rte_bus_get_iommu_class()`). */
    bus: 'pa' | 'va' | 'dc';
    /** Each device named to EAL, in the order named. */
    votes: DoctorVote[];
    /** The DMA mask EAL keeps (the first device's IOMMU address width), in bits. */
    dmaMaskBits: number | null;
    reasons: string[];
    warnings: string[];
  };
  checks: DoctorCheck[];
  /** The readable report: one ✓ or ✗ line per check, with what to do. */
  text: string;
}

export interface DoctorOptions {
  /** A fixture tree with `sys/`, `proc/`, `dev/` (default `/`). */
  root?: string;
  /** Predict for `--no-huge`. */
  noHuge?: boolean;
  /** PCI devices EAL would be given (`-a`); none means vdevs only (`--no-pci`). */
  devices?: string[];
  /** Predict for `--iova-mode` (a config's `eal.iovaMode`). */
  iovaMode?: 'pa' | 'va';
  /** The config leaves hugepages to the engine (`memory.hugepages` absent): `--no-huge` when none is free. */
  hugeFallback?: boolean;
}

const call = <T>(f: () => T): T => {
  try {
    return f();
  } catch (error) {
    throw FastpathError.fromNative(error);
  }
};

/**
 * Probes the machine and says what DPDK can use, and what to do about what it cannot: the IOVA
 * mode EAL will pick for `devices` as DPDK 22.11 (the build Fastpath links) decides it.
 */
export function doctor(options: DoctorOptions = {}): DoctorReport {
  const { noHuge, hugeFallback, devices, iovaMode } = options;
  const { json, text } = call(() => native().doctor(options.root, { noHuge, hugeFallback, devices, iovaMode }));
  return { ...(JSON.parse(json) as Omit<DoctorReport, 'text'>), text };
}

/** The memory a config needs on this machine (hugepages as they are now). */
export interface MemoryPlan {
  /** Page size the heap gets: the hugepage size, or 4096 without hugepages. */
  pageSize: number;
  mempoolBytes: number;
  portBytes: number;
  ealBytes: number;
  /** Route stages' tables (DPDK FIBs: 2^24 first-level entries per family with routes) and ACL stages' classifiers, twice (a live apply builds new ones first). */
  tableBytes: number;
  heapBytes: number;
  /** Heap pages (what `--socket-mem` asks for). */
  heapPages: number;
  /** Pages the stats segment takes in hugetlbfs. */
  statsPages: number;
  /** Pages to reserve in all. */
  pages: number;
  /** Whether the engine would run on hugepages here. */
  hugepages: boolean;
  hugepagesNote?: string | null;
  /** The EAL memory arguments it would start with. */
  ealArgs: string[];
  /** The plan on hugepages, when the config left them to the engine and too few are usable. */
  onHugepages?: { pages: number; pageSize: number; freePages: number } | null;
}

/** Plans `config`'s memory without starting DPDK. Throws ERR_CONFIG for a bad config. */
export function planMemory(config: EngineConfig): MemoryPlan {
  const bytes = wire(config);
  return call(() => native().planMemory(bytes));
}

export type { HugepageReservation } from '../native/binding.js';

/**
 * Raises this machine's hugepage pool until the pages `config` needs on hugepages are free
 * (however many are free now; never lowering it), and mounts hugetlbfs where none is. Needs
 * root (ERR_PERMISSION otherwise); ERR_NO_HUGEPAGES when the kernel cannot make them free.
 */
export function reserveHugepages(config: EngineConfig) {
  const bytes = wire(config);
  return call(() => native().reserveHugepages(bytes));
}

/**
 * The runtime directory EAL keeps for file prefix `prefix` (`/var/run/dpdk/<prefix>` as
 * root, else under $XDG_RUNTIME_DIR or /tmp): an engine's, or another DPDK program's, such
 * as testpmd's, which EAL leaves behind when it exits.
 */
export function ealRuntimeDir(prefix: string): string {
  return native().ealRuntimeDir(prefix);
}

/** A file devbind writes (or, in a dry run, would write). */
export interface DevbindWrite {
  path: string;
  value: string;
}

/** A network device and its driver (`fastpath devbind --status`). */
export interface DevbindStatus {
  pci: string;
  ids: string;
  driver: string | null;
  /** Bound to a driver DPDK uses (vfio-pci, uio_pci_generic, igb_uio). */
  dpdk: boolean;
  interface: string | null;
  active: boolean;
}

export interface DevbindOptions {
  /** A fixture tree (default `/`). */
  root?: string;
  /** Perform the writes; without it, only plan them (a dry run). */
  apply?: boolean;
}

/** Every PCI network device with its driver. */
export function devbindStatus(options: DevbindOptions = {}): DevbindStatus[] {
  const result = call(() => native().devbind(options.root, 'status', undefined, [], false));
  return JSON.parse(result.status ?? '[]') as DevbindStatus[];
}

/**
 * Binds `devices` to `driver` through `driver_override`, or plans it (the default). Refuses
 * with ERR_DEVBIND a bad address, a missing device or driver module, a device whose kernel
 * interface is active, and an IOMMU group that would not be viable.
 */
export function devbind(driver: string, devices: string[], options: DevbindOptions = {}): DevbindWrite[] {
  return call(() => native().devbind(options.root, 'bind', driver, devices, options.apply ?? false)).writes;
}

/** Unbinds `devices` from their drivers and clears their `driver_override` (planned by default). */
export function devunbind(devices: string[], options: DevbindOptions = {}): DevbindWrite[] {
  return call(() => native().devbind(options.root, 'unbind', undefined, devices, options.apply ?? false)).writes;
}
