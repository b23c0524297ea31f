/**
 * Reads an engine's shared-memory stats segment (docs/stats-layout.md) from any process,
 * the engine's own included: `engine.stats()` is this reader on the engine's segment.
 *
 * The segment describes itself: a directory of named, typed entries. This reader decodes
 * every entry by its kind (scalar, counter vector, names, histogram, ring, text), never by
 * its name, so a counter the engine adds shows up here, in `fastpath stats`, `top` and
 * Prometheus with no change. The layout constants come from `@fastpath/types`, generated
 * from the Rust writer. The segment is mapped once, read-only, through the binding; every
 * read after that is plain JavaScript on one ArrayBuffer: no native call, no copy.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCode, FastpathError, segmentLayout, type EngineStats } from '@fastpath/types';

import { native } from './native.js';
import { compileDecoder, mergeHistogram, planOf, type Plan, type SegmentEntry } from './snapshot-decoder.js';

export type { SegmentEntry };

const {
  ELEMENT_PARENT,
  ELEMENT_SIZE,
  ENGINE_NAME_LEN,
  entry: E,
  FLAG_FAILED,
  FLAG_STOPPED,
  header: H,
  HEADER_SIZE,
  Kind,
  LAYOUT_VERSION,
  MAGIC,
  MAX_ENTRIES,
  SAMPLE_HEADER,
  SAMPLE_PERIOD_MS,
  SAMPLE_PORT,
  sample: S,
  WORKER_OBJECT,
} = segmentLayout;
const HEARTBEAT_STALE_MS = 2000;
/** Most copies an entry may have (worker lcores are far fewer): a corrupt count cannot spin. */
const MAX_COPIES = 1024;

/** An engine's segment on this machine. */
export interface EngineListing {
  name: string;
  pid: number;
  /** The pid lives, the heartbeat is under 2 s old and the engine has not stopped. */
  alive: boolean;
  path: string;
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
  lcores: { name: string; rxPackets: number; txPackets: number; dropped: number }[];
}

/** Packet rates per port over a window of samples. */
export interface PortRates {
  name: string;
  rxPps: number;
  txPps: number;
  dropPps: number;
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

const decoder = new TextDecoder();

/** One element of a histogram entry, merged over workers (`StatsReader.histograms()`). */
export interface HistogramSeries {
  /** The entry (`pipeline/latency`), its object and the element's name. */
  entry: string;
  object: string;
  element: string;
  help: string;
  /** Counts per bucket (`bucketLow`/`bucketHigh` give their bounds, in ns). */
  buckets: Float64Array;
  /** Sum of the values (ns); least and greatest (null: none counted). */
  sum: number;
  min: number | null;
  max: number | null;
}

export class StatsReader {
  readonly #buffer: ArrayBuffer;
  readonly #view: DataView;
  readonly #words: Uint32Array;
  #closed = false;
  readonly #path: string;
  readonly #name: string;
  readonly #entries: SegmentEntry[];
  readonly #ring: SegmentEntry;
  readonly #ports: string[];
  readonly #lcores: string[];
  #plan: Plan | undefined;

  private constructor(buffer: ArrayBuffer, path: string) {
    this.#path = path;
    this.#buffer = buffer;
    const view = new DataView(buffer);
    this.#view = view;
    if (buffer.byteLength < HEADER_SIZE) fail(`${path} is ${buffer.byteLength} bytes, shorter than a stats header: corrupt or truncated`);
    this.#words = new Uint32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
    if (decoder.decode(new Uint8Array(buffer, 0, 8)) !== MAGIC) fail(`${path} is not a Fastpath stats segment (bad magic)`);
    const version = view.getUint32(H.VERSION, true);
    if (version !== LAYOUT_VERSION) fail(`${path} has stats layout version ${version}; this reader reads version ${LAYOUT_VERSION}: use matching @fastpath/control and engine`);
    const size = view.getBigUint64(H.SEGMENT_SIZE, true);
    if (size > BigInt(buffer.byteLength)) fail(`${path} says it is ${size} bytes but ${buffer.byteLength} are mapped: truncated`);
    this.#name = this.#text(H.NAME, ENGINE_NAME_LEN);
    this.#entries = this.#directory(Number(size));
    const ring = this.#entries.find((e) => e.kind === Kind.Ring);
    const ports = view.getUint32(H.PORTS, true);
    if (!ring || ring.copies === 0 || ring.count === 0 || ring.stride < SAMPLE_HEADER + SAMPLE_PORT * ports) fail(`${path}: the sample rings do not match the ports: corrupt`);
    this.#ring = ring!;
    const plan = this.#currentPlan();
    const named = (object: string) => {
      const o = plan.objects.find((x) => x.name === object);
      return o ? [...o.names] : [];
    };
    this.#ports = named('port');
    this.#lcores = named(WORKER_OBJECT);
    if (this.#ports.length !== ports || this.#lcores.length !== this.#ring.copies) fail(`${path}: the sample rings do not match the ports and lcores: corrupt`);
  }

  /** Every engine segment on this machine, with whether its engine is alive. */
  static list(): EngineListing[] {
    return native().listEngines();
  }

  /**
   * The engine named `name` (its EAL file prefix), or the only running one when no name
   * is given. Throws ERR_STATS saying what to do when there is none, several, or it is stale.
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

  /** The directory (fixed once the magic is written), every entry checked against `size`. */
  #directory(size: number): SegmentEntry[] {
    const view = this.#view;
    const dir = view.getUint32(H.DIRECTORY_OFFSET, true);
    const count = Math.min(view.getUint32(H.DIRECTORY_COUNT, true), MAX_ENTRIES);
    if (dir + count * E.SIZE > view.byteLength) fail(`${this.#path}: the directory runs past the end: corrupt`);
    const out: SegmentEntry[] = [];
    for (let i = 0; i < count; i++) {
      const at = dir + i * E.SIZE;
      const kind = view.getUint8(at + E.KIND);
      // A kind this reader does not know (a newer engine's) is skipped, not an error.
      if (!(Object.values(Kind) as number[]).includes(kind)) continue;
      const e: SegmentEntry = {
        name: this.#text(at + E.NAME, E.NAME_LEN),
        kind,
        flags: view.getUint8(at + E.FLAGS),
        count: view.getUint32(at + E.COUNT, true),
        stride: view.getUint32(at + E.STRIDE, true),
        copies: view.getUint32(at + E.COPIES, true),
        offset: Number(view.getBigUint64(at + E.OFFSET, true)),
        copyStride: Number(view.getBigUint64(at + E.COPY_STRIDE, true)),
        link: this.#text(at + E.LINK, E.LINK_LEN),
        help: this.#text(at + E.HELP, E.HELP_LEN),
      };
      const element = kind === Kind.Names ? ELEMENT_PARENT + 4 : kind === Kind.Text ? 1 : kind === Kind.Ring ? SAMPLE_HEADER : 8;
      const end = e.offset + Math.max(0, e.copies - 1) * e.copyStride + Math.max(0, e.count - 1) * e.stride + element;
      const empty = e.count === 0 || e.copies === 0;
      const aligned = kind === Kind.Text || (e.offset % 8 === 0 && e.stride % 8 === 0 && e.copyStride % 8 === 0);
      const fits = empty || (Number.isSafeInteger(end) && end <= size);
      // Exact strides, as the writer lays every entry out: a names element is ELEMENT_SIZE
      // bytes, elements do not overlap, and copies follow each other.
      const exact = (kind !== Kind.Names || e.count <= 1 || e.stride === ELEMENT_SIZE) && (e.count <= 1 || e.stride >= element) && (e.copies <= 1 || e.copyStride === e.count * e.stride);
      if (!fits || !aligned || !exact || e.copies > MAX_COPIES || e.count > size) {
        fail(`${this.#path}: entry ${JSON.stringify(e.name)} runs past the end or is not laid out as the engine lays entries: corrupt`);
      }
      out.push(e);
    }
    return out;
  }

  #text(at: number, len: number): string {
    const bytes = new Uint8Array(this.#view.buffer, at, len);
    const end = bytes.indexOf(0);
    return decoder.decode(bytes.subarray(0, end < 0 ? len : end));
  }

  /** A u64 as a number (exact below 2^53: counters, and Unix ns until 2255). */
  #u64(at: number): number {
    const w = at >>> 2;
    return this.#words[w]! + this.#words[w + 1]! * 4294967296;
  }

  #isNone(at: number): boolean {
    const w = at >>> 2;
    return this.#words[w] === 0xffffffff && this.#words[w + 1] === 0xffffffff;
  }

  /** The names, counters and texts to read, rebuilt when the structure sequence moves. */
  #currentPlan(): Plan {
    for (let attempt = 0; attempt < 100; attempt++) {
      const seq = this.#u64(H.STRUCTURE_SEQ);
      if (this.#plan?.seq === seq) return this.#plan;
      if (seq % 2 === 1) continue; // being written: try again
      const parts = planOf(this.#entries, (at, len) => this.#text(at, len), (at) => this.#view.getUint32(at, true));
      if (this.#u64(H.STRUCTURE_SEQ) !== seq) continue;
      this.#plan = { seq, ...parts, decode: compileDecoder(parts, this.#words) };
      return this.#plan;
    }
    return this.#plan ?? fail(`${this.#path}: the names kept changing while read`);
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
    return this.#view.getUint32(H.PID, true);
  }

  /** Whether the engine has not stopped, its process exists and its heartbeat is under 2 s old. */
  get alive(): boolean {
    return this.#beating() && processExists(this.pid);
  }

  /** The directory: every entry with its kind, flags, shape and help. */
  get entries(): readonly SegmentEntry[] {
    return this.#entries;
  }

  /** The cheap half of `alive` (no system call): not stopped, heartbeat recent. */
  #beating(): boolean {
    const stopped = (this.#view.getUint32(H.FLAGS, true) & FLAG_STOPPED) !== 0;
    return !stopped && Date.now() - this.#u64(H.HEARTBEAT_NS) / 1e6 < HEARTBEAT_STALE_MS;
  }

  /**
   * Lets go of the mapping now rather than at garbage collection (its pages, a hugepage for
   * an engine on hugepages, are freed at once). Reads after this throw ERR_STATS.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      native().releaseStats(this.#buffer);
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
  }

  #checkOpen(): void {
    if (this.#closed) fail(`${this.#path}: this reader was closed; open a new one`);
  }

  /** Samples the engine has written so far. */
  get samplesWritten(): number {
    this.#checkOpen();
    const written = this.#view.getBigUint64(H.SAMPLES_WRITTEN, true);
    // Beyond 2^53 a count cannot be stepped through as a number: only a corrupt segment says so.
    if (written > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${this.#path}: ${written} samples written is impossible: corrupt`);
    return Number(written);
  }

  /** Port names, in port order. */
  get ports(): string[] {
    return [...this.#ports];
  }

  /**
   * Sample `index` from every lcore's ring (summed per port), or undefined if it is not (or
   * no longer) in the rings, or a slot was being rewritten while read.
   */
  sample(index: number): Sample | undefined {
    const { offset, stride, count: slots, copyStride } = this.#ring;
    const written = this.samplesWritten;
    if (index < 0 || index >= written || index < written - slots) return undefined;
    const view = this.#view;
    const expected = BigInt(index) * 2n + 2n;
    const ports = this.#ports.map(() => ({ rxPackets: 0, txPackets: 0, dropped: 0 }));
    const lcores = this.#lcores.map((name) => ({ name, rxPackets: 0, txPackets: 0, dropped: 0 }));
    let timeNs = 0n;
    for (let l = 0; l < lcores.length; l++) {
      const at = offset + l * copyStride + (index % slots) * stride;
      if (view.getBigUint64(at + S.SEQUENCE, true) !== expected) return undefined;
      timeNs = view.getBigUint64(at + S.TIME, true);
      const lcore = lcores[l]!;
      for (let p = 0; p < ports.length; p++) {
        const port = ports[p]!;
        const field = at + SAMPLE_HEADER + p * SAMPLE_PORT;
        const rx = this.#u64(field + S.RX);
        const tx = this.#u64(field + S.TX);
        const dropped = this.#u64(field + S.DROPS);
        port.rxPackets += rx;
        port.txPackets += tx;
        port.dropped += dropped;
        lcore.rxPackets += rx;
        lcore.txPackets += tx;
        lcore.dropped += dropped;
      }
      // Seqlock: the slot is good only if nobody started rewriting it while we read.
      if (view.getBigUint64(at + S.SEQUENCE, true) !== expected) return undefined;
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
    const samples = this.recent(Math.max(2, Math.ceil(windowMs / SAMPLE_PERIOD_MS) + 1));
    const first = samples[0];
    const last = samples.at(-1);
    const seconds = first && last ? Number(last.timeNs - first.timeNs) / 1e9 : 0;
    return this.#ports.map((name, i) => {
      const rate = (pick: (s: Sample) => number) => (seconds > 0 ? (pick(last!) - pick(first!)) / seconds : 0);
      return {
        name,
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
      const oldest = written - this.#ring.count;
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

  /** EAL's memory, as `fastpath mem map` shows it: the `memory` scalars and the runs. */
  memoryMap(): MemoryMap {
    const snap = this.snapshot();
    // A segment that lacks these entries (another engine version, a damaged file) reads as
    // no memory published yet.
    const m: Partial<EngineStats['memory']> = snap.memory ?? {};
    const runs = (snap.memoryRuns ?? []).map((r) => ({
      va: r.name,
      iova: typeof r.iova === 'number' ? `0x${r.iova.toString(16)}` : 'unknown',
      bytes: r.bytes ?? 0,
      segments: r.segments ?? 0,
      // DPDK's SOCKET_ID_ANY.
      socket: r.socket ?? -1,
    }));
    return {
      iovaMode: m.iovaMode === 1 ? 'PA' : m.iovaMode === 2 ? 'VA' : null,
      bytes: m.bytes ?? 0,
      segments: m.segments ?? 0,
      pageSize: m.pageSize ?? 0,
      heapTotal: m.heapTotal ?? 0,
      heapAllocated: m.heapAllocated ?? 0,
      planned: m.planned ?? 0,
      runs,
      runsTotal: m.runs ?? 0,
      largestRun: Math.max(0, ...runs.map((r) => r.bytes)),
    };
  }

  /**
   * Every histogram entry's elements with their buckets (docs/stats-layout.md, "Histograms"),
   * merged over workers: what a Prometheus histogram needs beyond the snapshot's percentiles.
   */
  histograms(): HistogramSeries[] {
    this.#checkOpen();
    const plan = this.#currentPlan();
    const out: HistogramSeries[] = [];
    for (const h of plan.histograms) {
      const o = plan.objects[h.object]!;
      const e = h.entry;
      o.index.forEach((i, k) => {
        if (i >= e.count) return;
        const merged = mergeHistogram(this.#words, e.offset + i * e.stride, e.copies, e.copyStride, e.stride);
        out.push({ entry: e.name, object: o.name, element: o.names[k]!, help: e.help, ...merged });
      });
    }
    return out;
  }

  /**
   * Every quantity in the segment, decoded by kind (docs/stats-layout.md, "Reading by
   * kind"): the same object `engine.stats()` and `fastpath stats --json` report. Plain reads
   * of one mapped buffer; `alive` here skips the pid check (a system call).
   */
  snapshot(): EngineStats {
    this.#checkOpen();
    const plan = this.#currentPlan();
    const start = this.#u64(H.START_NS);
    const failed = (this.#view.getUint32(H.FLAGS, true) & FLAG_FAILED) !== 0;
    const uptimeNs = start === 0 ? 0 : Math.max(0, this.#u64(H.HEARTBEAT_NS) - start);
    return plan.decode(this.#words, plan, this.#name, this.pid, this.#beating(), failed, uptimeNs) as EngineStats;
  }
}
