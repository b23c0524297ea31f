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

const {
  ELEMENT_NAME_LEN,
  ELEMENT_PARENT,
  ENGINE_NAME_LEN,
  entry: E,
  FLAG_FAILED,
  FLAG_STOPPED,
  flags,
  header: H,
  HEADER_SIZE,
  Kind,
  LAYOUT_VERSION,
  MAGIC,
  MAX_ENTRIES,
  SAMPLE_HEADER,
  SAMPLE_PERIOD_MS,
  SAMPLE_PORT,
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

/** A directory entry, checked against the segment's size. */
export interface SegmentEntry {
  name: string;
  kind: number;
  flags: number;
  count: number;
  stride: number;
  copies: number;
  offset: number;
  copyStride: number;
  link: string;
  help: string;
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

/** An object's live elements (by names entry), re-read when the engine renames things. */
interface ObjectPlan {
  name: string;
  /** Where its rows go: `snapshot[key]`, or each parent row's `[key]`. */
  key: string;
  /** The parent object (a linked names entry), or -1. */
  parent: number;
  /** Element index in the entries, its name. */
  index: number[];
  names: string[];
  /** Per element: the position of its parent's row among the parent's rows (-1: none). */
  parentRow: number[];
}

/** A counter entry bound to its object (and, for references, the object it names). */
interface CounterPlan {
  entry: SegmentEntry;
  object: number;
  field: string;
  /** For a reference: the target's element names by element index (sparse). */
  refNames: (string | undefined)[] | undefined;
  optional: boolean;
  byWorker: boolean;
}

/** A scalar entry, its name split once. */
interface ScalarPlan {
  entry: SegmentEntry;
  group: string | undefined;
  field: string;
  optional: boolean;
}

/** What a snapshot walks: decided once per structure sequence, not once per read. */
interface Plan {
  seq: number;
  objects: ObjectPlan[];
  counters: CounterPlan[];
  scalars: ScalarPlan[];
  histograms: SegmentEntry[];
  texts: { entry: SegmentEntry; value: string }[];
  workers: number;
  /** The snapshot decoder compiled for this plan (see {@link compileDecoder}). */
  decode: Decoder;
}

type Decoder = (words: Uint32Array, plan: Omit<Plan, 'seq' | 'decode'>, name: string, pid: number, alive: boolean, failed: boolean, uptimeNs: number) => unknown;

/** Most copies summed inline; beyond, a loop (worker lcores are rarely more). */
const UNROLL = 16;

/**
 * Compiles the snapshot decoder for a plan: one function whose object literals have the
 * directory's field names as fixed keys, so that V8 builds every row with one hidden class
 * and no keyed store (decoding with a loop of `row[field] = value` cost 10 µs a snapshot;
 * this costs well under 2). Names from the segment only ever appear as JSON string literals
 * in the generated code, and offsets as numbers, so a hostile segment cannot inject code.
 * The plan is rebuilt (and the decoder recompiled) only when the engine renames something.
 */
function compileDecoder(plan: Omit<Plan, 'seq' | 'decode'>, words: Uint32Array): Decoder {
  const q = (text: string) => JSON.stringify(text);
  const n = (value: number) => (Number.isSafeInteger(value) ? String(value) : '0');
  /** Σ over copies of the u64 at `at` (a JS expression), `at + copyStride`, … */
  const sum = (e: SegmentEntry, at: string) => {
    const one = (offset: string) => `(w[(${offset}) >>> 2] + w[((${offset}) >>> 2) + 1] * 4294967296)`;
    if (e.copies === 1) return one(at);
    if (e.copies <= UNROLL) return Array.from({ length: e.copies }, (_, c) => one(`${at} + ${n(c * e.copyStride)}`)).join(' + ');
    return `sumCopies(w, ${at}, ${n(e.copies)}, ${n(e.copyStride)})`;
  };
  const none = (at: string) => `(w[(${at}) >>> 2] === 4294967295 && w[((${at}) >>> 2) + 1] === 4294967295)`;
  const isStatic = (e: SegmentEntry) => (e.flags & flags.STATIC) !== 0;
  const childKeys = plan.objects.map((_, i) => plan.objects.filter((o) => o.parent === i).map((o) => o.key));
  // Objects and scalar groups whose every entry is static are decoded once per plan.
  const staticObject = plan.objects.map((o, i) => {
    const counters = plan.counters.filter((c) => c.object === i);
    return o.parent < 0 && childKeys[i]!.length === 0 && i !== plan.workers && counters.length > 0 && counters.every((c) => isStatic(c.entry));
  });
  const groups = new Map<string, { fields: string[]; static: boolean }>();
  const lines: string[] = [];
  const once: string[] = [];
  plan.objects.forEach((o, i) => {
    const fields: string[] = [`name: names${i}[k]`];
    const highest = Math.max(-1, ...o.index);
    plan.counters.forEach((c, ci) => {
      if (c.object !== i) return;
      const e = c.entry;
      const at = `${n(e.offset)} + i * ${n(e.stride)}`;
      let value = sum(e, at);
      if (c.refNames) value = `(P.counters[${ci}].refNames[${value}] ?? null)`;
      else if (c.optional && e.copies === 1) value = `(${none(at)} ? null : ${value})`;
      // Every live element within the entry (the usual case): no per-row check.
      fields.push(`${q(c.field)}: ${highest < e.count ? value : `i < ${n(e.count)} ? ${value} : undefined`}`);
    });
    if (i === plan.workers) {
      // By-worker counters: copy k of each belongs to this worker (element k of the object).
      for (const c of plan.counters) {
        if (!c.byWorker) continue;
        const e = c.entry;
        fields.push(`${q(c.field)}: i < ${n(e.copies)} ? byWorker(w, idx${c.object}, ${n(e.offset)} + i * ${n(e.copyStride)}, ${n(e.stride)}, ${n(e.count)}) : undefined`);
      }
    }
    for (const key of childKeys[i]!) fields.push(`${q(key)}: []`);
    const to = staticObject[i] ? once : lines;
    to.push(`const rows${i} = new Array(idx${i}.length);`);
    to.push(`for (let k = 0; k < idx${i}.length; k++) { const i = idx${i}[k]; rows${i}[k] = { ${fields.join(', ')} }; }`);
    if (staticObject[i]) lines.push(`const rows${i} = S.rows${i};`);
  });
  // Children into their parents' arrays, deepest first.
  for (let i = plan.objects.length - 1; i >= 0; i--) {
    const o = plan.objects[i]!;
    if (o.parent < 0) continue;
    lines.push(`for (let k = 0; k < rows${i}.length; k++) { const at = P.objects[${i}].parentRow[k]; if (at >= 0) rows${o.parent}[at][${q(o.key)}].push(rows${i}[k]); }`);
  }
  const top: string[] = ['name', 'pid', 'alive', 'failed', 'uptimeNs'];
  for (const sc of plan.scalars) {
    const e = sc.entry;
    const value = sc.optional && e.copies === 1 ? `(${none(n(e.offset))} ? null : ${sum(e, n(e.offset))})` : sum(e, n(e.offset));
    if (sc.group === undefined) {
      top.push(`${q(sc.field)}: ${value}`);
      continue;
    }
    const g = groups.get(sc.group) ?? { fields: [], static: true };
    g.fields.push(`${q(sc.field)}: ${value}`);
    g.static &&= isStatic(e);
    groups.set(sc.group, g);
  }
  const staticOut: string[] = [];
  [...groups].forEach(([group, g], gi) => {
    if (g.static) {
      staticOut.push(`group${gi}: { ${g.fields.join(', ')} }`);
      top.push(`${q(group)}: S.group${gi}`);
    } else {
      top.push(`${q(group)}: { ${g.fields.join(', ')} }`);
    }
  });
  plan.texts.forEach((t, ti) => {
    if (t.value !== '') top.push(`${q(t.entry.name)}: P.texts[${ti}].value`);
  });
  if (plan.histograms.length > 0) {
    const h = plan.histograms.map((e) => `${q(e.name)}: Array.from({ length: ${n(e.count)} }, (_, b) => ${sum(e, `${n(e.offset)} + b * ${n(e.stride)}`)})`);
    top.push(`histograms: { ${h.join(', ')} }`);
  }
  plan.objects.forEach((o, i) => {
    if (o.parent < 0) top.push(`${q(o.key)}: rows${i}`);
    if (staticObject[i]) staticOut.push(`rows${i}`);
  });
  const helpers = [
    (w: Uint32Array, at: number, copies: number, stride: number) => {
      let total = 0;
      for (let c = 0; c < copies; c++) total += w[(at + c * stride) >>> 2]! + w[((at + c * stride) >>> 2) + 1]! * 4294967296;
      return total;
    },
    (w: Uint32Array, index: number[], at: number, stride: number, count: number) => {
      let total = 0;
      for (const i of index) if (i < count) total += w[(at + i * stride) >>> 2]! + w[((at + i * stride) >>> 2) + 1]! * 4294967296;
      return total;
    },
  ] as const;
  // Every object's element list first: a row may sum over another object's elements.
  const prelude = plan.objects.map((_, i) => `const idx${i} = P.objects[${i}].index, names${i} = P.objects[${i}].names;`).join('\n');
  const compile = (params: string, body: string) => new Function('sumCopies', 'byWorker', `return (${params}) => {\n${prelude}\n${body}\n};`)(...helpers) as (...args: unknown[]) => unknown;
  // The static part, decoded now and shared (frozen) by every snapshot until the next plan.
  const S = deepFreeze(compile('w, P', `${once.join('\n')}\nreturn { ${staticOut.join(', ')} };`)(words, plan));
  const decode = compile('w, P, name, pid, alive, failed, uptimeNs, S', `${lines.join('\n')}\nreturn { ${top.join(', ')} };`);
  return (w, P, name, pid, alive, failed, uptimeNs) => decode(w, P, name, pid, alive, failed, uptimeNs, S);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const decoder = new TextDecoder();

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
      if (!fits || !aligned || e.copies > MAX_COPIES || e.count > size || (kind === Kind.Names && e.count > 1 && e.stride < ELEMENT_PARENT + 4)) {
        fail(`${this.#path}: entry ${JSON.stringify(e.name)} runs past the end: corrupt`);
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
      const objects: ObjectPlan[] = [];
      const links: string[] = [];
      const parents: number[][] = [];
      for (const e of this.#entries) {
        if (e.kind !== Kind.Names) continue;
        const o: ObjectPlan = { name: e.name, key: `${e.name}s`, parent: -1, index: [], names: [], parentRow: [] };
        const parentIndex: number[] = [];
        for (let i = 0; i < e.count; i++) {
          const at = e.offset + i * e.stride;
          const name = this.#text(at, Math.min(ELEMENT_NAME_LEN, e.stride));
          if (name === '') continue;
          o.index.push(i);
          o.names.push(name);
          parentIndex.push(e.link === '' ? -1 : this.#view.getUint32(at + ELEMENT_PARENT, true));
        }
        objects.push(o);
        links.push(e.link);
        parents.push(parentIndex);
      }
      const find = (name: string) => objects.findIndex((o) => o.name === name);
      objects.forEach((o, i) => {
        o.parent = links[i] === '' ? -1 : find(links[i]!);
        const p = objects[o.parent];
        o.parentRow = parents[i]!.map((index) => (p ? p.index.indexOf(index) : -1));
      });
      const counters: CounterPlan[] = [];
      const scalars: ScalarPlan[] = [];
      for (const e of this.#entries) {
        if (e.kind !== Kind.Counter) continue;
        const slash = e.name.indexOf('/');
        const object = find(e.name.slice(0, slash));
        if (slash < 0 || object < 0) continue;
        const target = (e.flags & flags.REF) !== 0 ? objects[find(e.link)] : undefined;
        let refNames: (string | undefined)[] | undefined;
        if ((e.flags & flags.REF) !== 0) {
          refNames = [];
          if (target) target.index.forEach((index, k) => (refNames![index] = target.names[k]));
        }
        counters.push({
          entry: e,
          object,
          field: e.name.slice(slash + 1),
          refNames,
          optional: (e.flags & (flags.OPTIONAL | flags.REF)) !== 0,
          byWorker: (e.flags & flags.BY_WORKER) !== 0,
        });
      }
      for (const e of this.#entries) {
        if (e.kind !== Kind.Scalar) continue;
        const slash = e.name.indexOf('/');
        scalars.push({ entry: e, group: slash < 0 ? undefined : e.name.slice(0, slash), field: e.name.slice(slash + 1), optional: (e.flags & flags.OPTIONAL) !== 0 });
      }
      const histograms = this.#entries.filter((e) => e.kind === Kind.Histogram);
      const texts = this.#entries.filter((e) => e.kind === Kind.Text).map((entry) => ({ entry, value: this.#text(entry.offset, entry.count) }));
      if (this.#u64(H.STRUCTURE_SEQ) !== seq) continue;
      const parts = { objects, counters, scalars, histograms, texts, workers: find(WORKER_OBJECT) };
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
      if (view.getBigUint64(at, true) !== expected) return undefined;
      timeNs = view.getBigUint64(at + 8, true);
      const lcore = lcores[l]!;
      for (let p = 0; p < ports.length; p++) {
        const port = ports[p]!;
        const field = at + SAMPLE_HEADER + p * SAMPLE_PORT;
        const rx = this.#u64(field);
        const tx = this.#u64(field + 8);
        const dropped = this.#u64(field + 16);
        port.rxPackets += rx;
        port.txPackets += tx;
        port.dropped += dropped;
        lcore.rxPackets += rx;
        lcore.txPackets += tx;
        lcore.dropped += dropped;
      }
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
