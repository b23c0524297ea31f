/**
 * Reads an engine's shared-memory stats segment (docs/stats-layout.md) from any process.
 * The segment is mapped once, read-only, through the binding; after that every read is
 * plain JavaScript on one ArrayBuffer: no native call, no socket, no copy.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCode, FastpathError } from '@fastpath/types';

import { native } from './native.js';

const MAGIC = 'FPSTATS1';
const LAYOUT_VERSION = 1;
const HEADER_SIZE = 256;
const ENTRY_SIZE = 64;
const NAME_LEN = 40;
const FLAG_STOPPED = 1;
const FLAG_FAILED = 2;
const LANE_RETRIES = 64;
/** A `queues` entry's rx owner when no worker polls the queue. */
const NO_OWNER = 0xffffffff;
const HEARTBEAT_STALE_MS = 2000;

/** An engine's segment on this machine. */
export interface EngineListing {
  name: string;
  pid: number;
  /** The pid lives, the heartbeat is under 2 s old and the engine has not stopped. */
  alive: boolean;
  path: string;
}

/** Counters of one port, summed over lcores. */
export interface SegmentPortCounters {
  name: string;
  rxPackets: number;
  txPackets: number;
  /** Packets no pipeline took (the segment's share of the demo's rxDropped). */
  rxDropped: number;
  txDropped: number;
  busyPolls: number;
  /** The driver's own counters (rte_eth_stats), refreshed with every 10 ms sample. */
  driver: { rxPackets: number; txPackets: number; rxBytes: number; txBytes: number; rxMissed: number; rxErrors: number; txErrors: number; rxNombuf: number };
  /**
   * Per queue, as the driver counts them (its per-queue rte_eth_stats, first 16 queues),
   * with the worker lcore that polls the rx queue (tx queue q is worker q's). Empty until
   * the port is up.
   */
  queues: QueueCounters[];
}

/** One queue pair of a port: rx queue `queue` and tx queue `queue`, where they exist. */
export interface QueueCounters {
  queue: number;
  /** The lcore id polling this rx queue, or null (no such rx queue, or nobody polls it). */
  rxLcore: number | null;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Packets the driver dropped on this rx queue. */
  errors: number;
}

/** One sample from the segment's ring: every port's totals at one moment. */
export interface Sample {
  /** Sample number since the engine started (0, 1, 2, ...). */
  index: number;
  /** When the engine took it, Unix time in nanoseconds. */
  timeNs: bigint;
  /** Per port, summed over lcores. */
  ports: { rxPackets: number; txPackets: number; dropped: number }[];
  /** Per worker lcore (from its own ring), summed over ports. */
  lcores: { lcore: number; rxPackets: number; txPackets: number; dropped: number }[];
}

/** Packet rates per port over a window of samples. */
export interface PortRates {
  name: string;
  rxPps: number;
  txPps: number;
  dropPps: number;
}

/** One read of every counter in a segment. */
export interface SegmentSnapshot {
  name: string;
  pid: number;
  alive: boolean;
  /** A worker's loop failed (panicked): the engine runs on without it and should be stopped. */
  failed: boolean;
  /** When it was read, Unix time in nanoseconds (from the reader's clock). */
  readAtNs: bigint;
  ports: SegmentPortCounters[];
  /** Every pipeline the engine has run (by name, carried across live changes). */
  pipelines: { name: string; inPackets: number; outPackets: number; dropped: number; generated: number; rules: { name: string; matched: number }[] }[];
  /** Per worker: totals, poll-loop iterations and TSC cycles (busy: found work; idle: not). */
  lcores: LcoreLoad[];
}

/** One worker lcore's load. Busy share = busyCycles / (busyCycles + idleCycles) over a window. */
export interface LcoreLoad {
  lcore: number;
  cpu: number;
  rxPackets: number;
  txPackets: number;
  /** Poll-loop iterations, and those that found nothing. */
  loops: number;
  idleLoops: number;
  /** TSC cycles spent in iterations that found work, and in those that did not. */
  busyCycles: number;
  idleCycles: number;
  /** TSC ticks per second (0 if the engine did not say). */
  tscHz: number;
}

/** EAL's memory as the engine found it after start (`fastpath mem map`). */
export interface MemoryMap {
  /** The IOVA mode EAL selected (null: not yet published). */
  iovaMode: 'PA' | 'VA' | null;
  /** Bytes EAL mapped, in how many memsegs (pages) of what size. */
  bytes: number;
  segments: number;
  pageSize: number;
  /** The malloc heaps: bytes held and bytes allocated, and what the memory plan asked for. */
  heapTotal: number;
  heapAllocated: number;
  planned: number;
  /**
   * Runs of memory contiguous in both virtual and IO address space, in address order: one
   * run per block a device can DMA without scatter-gather. Addresses are hex strings.
   */
  runs: { va: string; iova: string; bytes: number; segments: number; socket: number }[];
  /** Runs in all (the segment keeps the first 1024). */
  runsTotal: number;
  largestRun: number;
}

/** Whether a process exists (signal 0 only checks; EPERM means it exists but is not ours). */
function processExists(pid: number): boolean {
  // 0 and -1 would ask about a process group or every process: never an engine's pid.
  if (!(pid > 1 && pid <= 0x7fffffff)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const fail = (message: string): never => {
  throw new FastpathError(ErrorCode.Stats, message);
};

export class StatsReader {
  readonly #view: DataView;
  readonly #path: string;
  readonly #ports: { name: string }[];
  readonly #lcores: { lcore: number; cpu: number }[];
  readonly #lanes: number;
  readonly #samples: { offset: number; count: number; stride: number };
  readonly #name: string;
  readonly #driver: number;
  readonly #loops: number;
  readonly #queues: { offset: number; slots: number; counts: number };
  readonly #memory: { summary: number; runs: number; slots: number };
  readonly #counters: { pipelineNames: number; ruleNames: number; pipelines: number; rules: number; pipelineSlots: number; ruleSlots: number };
  #names: { seq: number; pipelines: string[]; rules: { pipeline: number; name: string }[] } | undefined;

  private constructor(buffer: ArrayBuffer, path: string) {
    this.#path = path;
    const view = new DataView(buffer);
    this.#view = view;
    if (buffer.byteLength < HEADER_SIZE) fail(`${path} is ${buffer.byteLength} bytes, shorter than a stats header: corrupt or truncated`);
    const magic = new TextDecoder().decode(new Uint8Array(buffer, 0, 8));
    if (magic !== MAGIC) fail(`${path} is not a Fastpath stats segment (bad magic)`);
    const version = view.getUint32(8, true);
    if (version !== LAYOUT_VERSION) fail(`${path} has stats layout version ${version}; this reader reads version ${LAYOUT_VERSION}: use matching @fastpath/control and engine`);
    const size = view.getBigUint64(16, true);
    if (size > BigInt(buffer.byteLength)) fail(`${path} says it is ${size} bytes but ${buffer.byteLength} are mapped: truncated`);
    const ports = this.#entry('ports');
    const lcores = this.#entry('lcores');
    const lanes = this.#entry('lanes');
    if (ports.count === 0 || lanes.count !== ports.count * lcores.count) fail(`${path}: ${lanes.count} counter lanes do not match ${ports.count} ports × ${lcores.count} lcores`);
    this.#ports = Array.from({ length: ports.count }, (_, i) => ({ name: this.#decode(ports.offset + i * ports.stride, NAME_LEN) }));
    this.#lcores = Array.from({ length: lcores.count }, (_, i) => ({
      lcore: view.getUint32(lcores.offset + i * lcores.stride, true),
      cpu: view.getUint32(lcores.offset + i * lcores.stride + 4, true),
    }));
    this.#lanes = lanes.offset;
    this.#samples = this.#entry('samples');
    const driver = this.#entry('driver');
    if (driver.count !== ports.count || driver.stride < 64) fail(`${path}: the driver block does not match the ports: corrupt`);
    this.#driver = driver.offset;
    const loops = this.#entry('lcore-loops');
    if (loops.count !== lcores.count || loops.stride < 40) fail(`${path}: the lcore loop block does not match the lcores: corrupt`);
    this.#loops = loops.offset;
    const queues = this.#entry('queues');
    if (queues.count % ports.count !== 0 || queues.stride < 48) fail(`${path}: the queue block does not match the ports: corrupt`);
    this.#queues = { offset: queues.offset, slots: queues.count / ports.count, counts: ports.offset };
    if (ports.stride < 56) fail(`${path}: the port block is too small: corrupt`);
    const memory = this.#entry('memory');
    const memoryRuns = this.#entry('memory-runs');
    if (memory.count !== 1 || memory.stride < 64 || memoryRuns.stride < 32) fail(`${path}: the memory block is malformed: corrupt`);
    this.#memory = { summary: memory.offset, runs: memoryRuns.offset, slots: memoryRuns.count };
    const pipelineNames = this.#entry('pipeline-names');
    const ruleNames = this.#entry('rule-names');
    const pipelineCounters = this.#entry('pipeline-counters');
    const ruleCounters = this.#entry('rule-counters');
    if (pipelineCounters.count !== lcores.count * pipelineNames.count || ruleCounters.count !== lcores.count * ruleNames.count) {
      fail(`${path}: the pipeline counters do not match their names: corrupt`);
    }
    this.#counters = {
      pipelineNames: pipelineNames.offset,
      ruleNames: ruleNames.offset,
      pipelines: pipelineCounters.offset,
      rules: ruleCounters.offset,
      pipelineSlots: pipelineNames.count,
      ruleSlots: ruleNames.count,
    };
    this.#name = this.#decode(80, 64);
    if (lcores.count === 0 || this.#samples.count % lcores.count !== 0 || this.#samples.stride < 16 + 24 * ports.count) {
      fail(`${path}: the sample rings do not match the lcores and ports: corrupt`);
    }
  }

  /** Every engine segment on this machine, with whether its engine is alive. */
  static list(): EngineListing[] {
    return native().listEngines();
  }

  /**
   * Maps the segment of the engine called `name` (its EAL file prefix); without a name, the
   * only live engine on this machine. Throws ERR_STATS saying what is missing or wrong.
   */
  static attach(name?: string): StatsReader {
    const engines = StatsReader.list();
    const found = name === undefined ? engines.filter((e) => e.alive) : engines.filter((e) => e.name === name);
    if (found.length === 0 && name !== undefined) {
      // Listed engines are the ones this user can read: a segment it may not read exists
      // all the same, and opening it says why.
      for (const dir of native().statsDirs()) {
        const path = join(dir, `fastpath-stats.${name}`);
        if (existsSync(path)) return StatsReader.open(path);
      }
    }
    if (found.length === 0) {
      fail(name === undefined ? 'no Fastpath engine is running on this machine (fastpath ls lists them)' : `no stats segment for an engine named ${JSON.stringify(name)} (fastpath ls lists them)`);
    }
    if (found.length > 1) fail(`${found.length} engines are running (${found.map((e) => e.name).join(', ')}): name one`);
    const engine = found[0]!;
    const reader = StatsReader.open(engine.path);
    if (!reader.alive) fail(`the engine ${JSON.stringify(engine.name)} (pid ${engine.pid}) is stale: its process is gone or stopped beating; its segment is ${engine.path}`);
    return reader;
  }

  /** Maps the segment at `path` (checked before any counter is read). */
  static open(path: string): StatsReader {
    let buffer: ArrayBuffer;
    try {
      buffer = native().mapStats(path);
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
    return new StatsReader(buffer, path);
  }

  #entry(name: string): { offset: number; count: number; stride: number } {
    const view = this.#view;
    const dir = view.getUint32(56, true);
    const count = view.getUint32(60, true);
    if (dir + Math.min(count, 1024) * ENTRY_SIZE > view.byteLength) fail(`${this.#path}: the directory runs past the end: corrupt`);
    for (let i = 0; i < Math.min(count, 1024); i++) {
      const at = dir + i * ENTRY_SIZE;
      if (this.#decode(at, NAME_LEN) !== name) continue;
      const n = view.getUint32(at + 40, true);
      const stride = view.getUint32(at + 44, true);
      const offset = Number(view.getBigUint64(at + 48, true));
      if (stride < 8 || !Number.isSafeInteger(offset) || offset + n * stride > view.byteLength) fail(`${this.#path}: entry ${JSON.stringify(name)} runs past the end: corrupt`);
      return { offset, count: n, stride };
    }
    return fail(`${this.#path}: no ${JSON.stringify(name)} entry: corrupt`);
  }

  #decode(at: number, len: number): string {
    const bytes = new Uint8Array(this.#view.buffer, at, len);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.subarray(0, end < 0 ? len : end));
  }

  /** The segment file. */
  get path(): string {
    return this.#path;
  }

  /** The engine's name (its EAL file prefix). */
  get name(): string {
    return this.#name;
  }

  /** The engine's pid. */
  get pid(): number {
    return this.#view.getUint32(24, true);
  }

  /** Whether the engine has not stopped, its process exists and its heartbeat is under 2 s old. */
  get alive(): boolean {
    return this.#beating() && processExists(this.pid);
  }

  /** The cheap half of `alive` (no system call): not stopped, heartbeat recent. */
  #beating(): boolean {
    const stopped = (this.#view.getUint32(28, true) & FLAG_STOPPED) !== 0;
    const heartbeatMs = this.#u64(40) / 1e6;
    return !stopped && Date.now() - heartbeatMs < HEARTBEAT_STALE_MS;
  }

  /** A u64 field as a number (exact below 2^53: counters, and Unix ns until 2255). */
  #u64(at: number): number {
    return this.#view.getUint32(at, true) + this.#view.getUint32(at + 4, true) * 4294967296;
  }

  /** Samples the engine has written so far. */
  get samplesWritten(): number {
    const written = this.#view.getBigUint64(72, true);
    // Beyond 2^53 a count cannot be stepped through as a number: only a corrupt segment says so.
    if (written > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${this.#path}: ${written} samples written is impossible: corrupt`);
    return Number(written);
  }

  /** Slots per lcore ring. */
  get #slots(): number {
    return this.#samples.count / this.#lcores.length;
  }

  /**
   * Sample `index` from every lcore's ring (summed per port), or undefined if it is not (or
   * no longer) in the rings, or a slot was being rewritten while read.
   */
  sample(index: number): Sample | undefined {
    const { offset, stride } = this.#samples;
    const slots = this.#slots;
    const written = this.samplesWritten;
    if (index < 0 || index >= written || index < written - slots) return undefined;
    const view = this.#view;
    const expected = BigInt(index) * 2n + 2n;
    const ports = this.#ports.map(() => ({ rxPackets: 0, txPackets: 0, dropped: 0 }));
    const lcores = this.#lcores.map((l) => ({ lcore: l.lcore, rxPackets: 0, txPackets: 0, dropped: 0 }));
    let timeNs = 0n;
    for (let l = 0; l < lcores.length; l++) {
      const at = offset + (l * slots + (index % slots)) * stride;
      if (view.getBigUint64(at, true) !== expected) return undefined;
      timeNs = view.getBigUint64(at + 8, true);
      const lcore = lcores[l]!;
      ports.forEach((port, p) => {
        const rx = this.#u64(at + 16 + p * 24);
        const tx = this.#u64(at + 24 + p * 24);
        const dropped = this.#u64(at + 32 + p * 24);
        port.rxPackets += rx;
        port.txPackets += tx;
        port.dropped += dropped;
        lcore.rxPackets += rx;
        lcore.txPackets += tx;
        lcore.dropped += dropped;
      });
      // Seqlock: the slot is good only if nobody started rewriting it while we read.
      if (view.getBigUint64(at, true) !== expected) return undefined;
    }
    return { index, timeNs, ports, lcores };
  }

  /** The newest `n` complete samples, oldest first. */
  recent(n: number): Sample[] {
    const written = this.samplesWritten;
    const out: Sample[] = [];
    for (let i = Math.max(0, written - n); i < written; i++) {
      const s = this.sample(i);
      if (s) out.push(s);
    }
    return out;
  }

  /** Rates per port over the last `windowMs` of samples (default 1 s). */
  rates(windowMs = 1000): PortRates[] {
    const samples = this.recent(Math.max(2, Math.ceil(windowMs / 10) + 1));
    const first = samples[0];
    const last = samples.at(-1);
    const seconds = first && last ? Number(last.timeNs - first.timeNs) / 1e9 : 0;
    return this.#ports.map((p, i) => {
      const rate = (pick: (s: Sample) => number) => (seconds > 0 ? (pick(last!) - pick(first!)) / seconds : 0);
      return {
        name: p.name,
        rxPps: rate((s) => s.ports[i]!.rxPackets),
        txPps: rate((s) => s.ports[i]!.txPackets),
        dropPps: rate((s) => s.ports[i]!.dropped),
      };
    });
  }

  /**
   * Every new sample as the engine writes it (polled every `pollMs`, default 5 ms), until
   * the engine stops or the consumer breaks out. Samples overwritten before they were read
   * (a consumer slower than the ring) are skipped; `missed` on each yielded item counts them.
   */
  async *watch(pollMs = 5): AsyncGenerator<Sample & { missed: number }> {
    let next = this.samplesWritten;
    let missed = 0;
    while (this.alive) {
      const written = this.samplesWritten;
      const oldest = written - this.#slots;
      if (next < oldest) {
        missed += oldest - next;
        next = oldest;
      }
      for (; next < written; next++) {
        const s = this.sample(next);
        if (s) {
          yield { ...s, missed };
          missed = 0;
        } else {
          missed += 1;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Port names, in port order. */
  get ports(): string[] {
    return this.#ports.map((p) => p.name);
  }

  /**
   * Reads one lane as a consistent block (its seqlock: the same even sequence before and
   * after), retrying a bounded number of times; the writer holds it for a few stores only.
   */
  #readLane(at: number, out: number[]): void {
    for (let attempt = 0; attempt < LANE_RETRIES; attempt++) {
      const before = this.#u64(at + 40);
      for (let k = 0; k < 5; k++) out[k] = this.#u64(at + k * 8);
      if (before % 2 === 0 && this.#u64(at + 40) === before) return;
    }
    this.torn += 1;
  }

  /** Lane reads that stayed inconsistent after every retry (their last read was used). */
  torn = 0;

  /** Pipeline and rule names by slot, re-read only when the engine has named new ones. */
  #slotNames(): { pipelines: string[]; rules: { pipeline: number; name: string }[] } {
    for (let attempt = 0; attempt < 100; attempt++) {
      const seq = this.#u64(48);
      if (this.#names?.seq === seq) return this.#names;
      if (seq % 2 === 1) continue; // being written: try again
      const c = this.#counters;
      const pipelines: string[] = [];
      for (let i = 0; i < c.pipelineSlots; i++) {
        const name = this.#decode(c.pipelineNames + i * 64, NAME_LEN);
        if (name === '') break;
        pipelines.push(name);
      }
      const rules: { pipeline: number; name: string }[] = [];
      for (let i = 0; i < c.ruleSlots; i++) {
        const full = this.#decode(c.ruleNames + i * 64, NAME_LEN);
        if (full === '') break;
        const pipeline = this.#view.getUint32(c.ruleNames + i * 64 + NAME_LEN, true);
        rules.push({ pipeline, name: full.slice((pipelines[pipeline]?.length ?? -1) + 1) });
      }
      if (this.#u64(48) === seq) {
        this.#names = { seq, pipelines, rules };
        return this.#names;
      }
    }
    return this.#names ?? { pipelines: [], rules: [] };
  }

  /**
   * EAL's memory: the IOVA mode, the memsegs' runs of IOVA-contiguous memory and the heap's
   * use, as the engine published them once its ports and pool were up.
   */
  memoryMap(): MemoryMap {
    const view = this.#view;
    const m = this.#memory;
    for (let attempt = 0; attempt < 100; attempt++) {
      const seq = this.#u64(48);
      if (seq % 2 === 1) continue; // being written
      const mode = view.getUint32(m.summary, true);
      const count = Math.min(view.getUint32(m.summary + 4, true), m.slots);
      const hex = (at: number) => {
        const v = view.getBigUint64(at, true);
        return v === 0xffffffffffffffffn ? 'unknown' : `0x${v.toString(16)}`;
      };
      const runs = Array.from({ length: count }, (_, i) => {
        const at = m.runs + i * 32;
        return { va: hex(at), iova: hex(at + 8), bytes: this.#u64(at + 16), segments: view.getUint32(at + 24, true), socket: view.getInt32(at + 28, true) };
      });
      const map: MemoryMap = {
        iovaMode: mode === 1 ? 'PA' : mode === 2 ? 'VA' : null,
        bytes: this.#u64(m.summary + 8),
        segments: this.#u64(m.summary + 16),
        pageSize: this.#u64(m.summary + 24),
        heapTotal: this.#u64(m.summary + 32),
        heapAllocated: this.#u64(m.summary + 40),
        planned: this.#u64(m.summary + 48),
        runs,
        runsTotal: this.#u64(m.summary + 56),
        largestRun: Math.max(0, ...runs.map((r) => r.bytes)),
      };
      if (this.#u64(48) === seq) return map;
    }
    return fail(`${this.#path}: the memory map kept changing while read`);
  }

  /** Port `p`'s queue pairs (as many as its larger queue count, at most the slots carried). */
  #queueCounters(p: number): QueueCounters[] {
    const view = this.#view;
    const q = this.#queues;
    const rxQueues = view.getUint32(q.counts + p * 64 + 48, true);
    const txQueues = view.getUint32(q.counts + p * 64 + 52, true);
    const n = Math.min(Math.max(rxQueues, txQueues), q.slots);
    // A plain loop: this runs in every snapshot (Array.from with a callback costs more).
    const out: QueueCounters[] = [];
    for (let queue = 0; queue < n; queue++) {
      const at = q.offset + (p * q.slots + queue) * 64;
      const owner = view.getUint32(at + 40, true);
      out.push({
        queue,
        rxLcore: queue < rxQueues && owner !== NO_OWNER ? (this.#lcores[owner]?.lcore ?? null) : null,
        rxPackets: this.#u64(at),
        rxBytes: this.#u64(at + 8),
        txPackets: this.#u64(at + 16),
        txBytes: this.#u64(at + 24),
        errors: this.#u64(at + 32),
      });
    }
    return out;
  }

  /**
   * Every counter, summed per port and per lcore. Plain reads of one mapped buffer; `alive`
   * here skips the pid check (a system call) and uses the stopped flag and the heartbeat.
   */
  snapshot(): SegmentSnapshot {
    const nPorts = this.#ports.length;
    const ports = this.#ports.map((p, i) => {
      const at = this.#driver + i * 64;
      const driver = {
        rxPackets: this.#u64(at),
        txPackets: this.#u64(at + 8),
        rxBytes: this.#u64(at + 16),
        txBytes: this.#u64(at + 24),
        rxMissed: this.#u64(at + 32),
        rxErrors: this.#u64(at + 40),
        txErrors: this.#u64(at + 48),
        rxNombuf: this.#u64(at + 56),
      };
      return { name: p.name, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0, busyPolls: 0, driver, queues: this.#queueCounters(i) };
    });
    const lcores = this.#lcores.map((l, i): LcoreLoad => {
      const at = this.#loops + i * 64;
      return {
        lcore: l.lcore,
        cpu: l.cpu,
        rxPackets: 0,
        txPackets: 0,
        loops: this.#u64(at),
        idleLoops: this.#u64(at + 8),
        busyCycles: this.#u64(at + 16),
        idleCycles: this.#u64(at + 24),
        tscHz: this.#u64(at + 32),
      };
    });
    const lane = [0, 0, 0, 0, 0];
    for (let l = 0; l < lcores.length; l++) {
      const lcore = lcores[l]!;
      for (let p = 0; p < nPorts; p++) {
        const port = ports[p]!;
        this.#readLane(this.#lanes + (l * nPorts + p) * 64, lane);
        port.rxPackets += lane[0]!;
        port.txPackets += lane[1]!;
        port.txDropped += lane[2]!;
        port.rxDropped += lane[3]!;
        port.busyPolls += lane[4]!;
        lcore.rxPackets += lane[0]!;
        lcore.txPackets += lane[1]!;
      }
    }
    const names = this.#slotNames();
    const c = this.#counters;
    const lanes = lcores.length;
    const pipelines = names.pipelines.map((name, slot) => {
      const sums = [0, 0, 0, 0];
      for (let l = 0; l < lanes; l++) {
        const at = c.pipelines + (l * c.pipelineSlots + slot) * 32;
        for (let k = 0; k < 4; k++) sums[k]! += this.#u64(at + k * 8);
      }
      const rules: { name: string; matched: number }[] = [];
      for (let rslot = 0; rslot < names.rules.length; rslot++) {
        const r = names.rules[rslot]!;
        if (r.pipeline !== slot) continue;
        let matched = 0;
        for (let l = 0; l < lanes; l++) matched += this.#u64(c.rules + (l * c.ruleSlots + rslot) * 8);
        rules.push({ name: r.name, matched });
      }
      return { name, inPackets: sums[0]!, outPackets: sums[1]!, dropped: sums[2]!, generated: sums[3]!, rules };
    });
    const failed = (this.#view.getUint32(28, true) & FLAG_FAILED) !== 0;
    return { name: this.#name, pid: this.pid, alive: this.#beating(), failed, readAtNs: BigInt(Date.now()) * 1_000_000n, ports, pipelines, lcores };
  }
}
