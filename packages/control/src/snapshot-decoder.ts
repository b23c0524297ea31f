/**
 * The snapshot decoder: the plan a segment's directory and names give (which objects, which
 * counters, scalars and texts), and the function compiled from it that turns the mapped
 * words into one snapshot. `StatsReader` rebuilds both when the engine renames something.
 */
import { segmentLayout } from '@fastpath/types';

const { ELEMENT_NAME_LEN, ELEMENT_PARENT, flags, HISTOGRAM_HEADER, HISTOGRAM_SUB_BITS, Kind, WORKER_OBJECT } = segmentLayout;

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

/** An object's live elements (by names entry), re-read when the engine renames things. */
export interface ObjectPlan {
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
export interface CounterPlan {
  entry: SegmentEntry;
  object: number;
  field: string;
  /** For a reference: the target's element names by element index (sparse). */
  refNames: (string | undefined)[] | undefined;
  optional: boolean;
  byWorker: boolean;
}

/** A histogram entry bound to its object. */
export interface HistogramPlan {
  entry: SegmentEntry;
  object: number;
  field: string;
}

/** A scalar entry, its name split once. */
export interface ScalarPlan {
  entry: SegmentEntry;
  group: string | undefined;
  field: string;
  optional: boolean;
}

/** What a snapshot walks: decided once per structure sequence, not once per read. */
export interface Plan {
  seq: number;
  objects: ObjectPlan[];
  counters: CounterPlan[];
  scalars: ScalarPlan[];
  histograms: HistogramPlan[];
  texts: { entry: SegmentEntry; value: string }[];
  workers: number;
  /** The snapshot decoder compiled for this plan (see {@link compileDecoder}). */
  decode: Decoder;
}

export type Decoder = (words: Uint32Array, plan: Omit<Plan, 'seq' | 'decode'>, name: string, pid: number, alive: boolean, failed: boolean, uptimeNs: number) => unknown;

/**
 * The plan for a directory and the names it holds now: each object's live elements and where
 * its rows go, each counter bound to its object, the scalars, histograms and texts.
 * `text(at, len)` and `u32(at)` read the segment.
 */
export function planOf(entries: readonly SegmentEntry[], text: (at: number, len: number) => string, u32: (at: number) => number): Omit<Plan, 'seq' | 'decode'> {
  const objects: ObjectPlan[] = [];
  const links: string[] = [];
  const parents: number[][] = [];
  for (const e of entries) {
    if (e.kind !== Kind.Names) continue;
    const o: ObjectPlan = { name: e.name, key: `${e.name}s`, parent: -1, index: [], names: [], parentRow: [] };
    const parentIndex: number[] = [];
    for (let i = 0; i < e.count; i++) {
      const at = e.offset + i * e.stride;
      const name = text(at, Math.min(ELEMENT_NAME_LEN, e.stride));
      if (name === '') continue;
      o.index.push(i);
      o.names.push(name);
      parentIndex.push(e.link === '' ? -1 : u32(at + ELEMENT_PARENT));
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
  for (const e of entries) {
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
  for (const e of entries) {
    if (e.kind !== Kind.Scalar) continue;
    const slash = e.name.indexOf('/');
    scalars.push({ entry: e, group: slash < 0 ? undefined : e.name.slice(0, slash), field: e.name.slice(slash + 1), optional: (e.flags & flags.OPTIONAL) !== 0 });
  }
  const histograms: HistogramPlan[] = [];
  for (const e of entries) {
    if (e.kind !== Kind.Histogram) continue;
    const slash = e.name.indexOf('/');
    const object = find(e.name.slice(0, slash));
    if (slash < 0 || object < 0) continue;
    histograms.push({ entry: e, object, field: e.name.slice(slash + 1) });
  }
  const texts = entries.filter((e) => e.kind === Kind.Text).map((entry) => ({ entry, value: text(entry.offset, entry.count) }));
  return { objects, counters, scalars, histograms, texts, workers: find(WORKER_OBJECT) };
}

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
export function compileDecoder(plan: Omit<Plan, 'seq' | 'decode'>, words: Uint32Array): Decoder {
  const q = (text: string) => JSON.stringify(text);
  const n = (value: number) => (Number.isSafeInteger(value) ? String(value) : '0');
  /** Σ over copies of the u64 at `at` (a JS expression), `at + copyStride`, … */
  const sum = (e: SegmentEntry, at: string) => {
    const one = (offset: string) => `(w[(${offset}) >>> 2] + w[((${offset}) >>> 2) + 1] * 4294967296)`;
    // No copies (only a corrupt directory says so): nothing to sum.
    if (e.copies === 0) return '0';
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
    for (const h of plan.histograms) {
      if (h.object !== i) continue;
      const e = h.entry;
      const value = `histogram(w, ${n(e.offset)} + i * ${n(e.stride)}, ${n(e.copies)}, ${n(e.copyStride)}, ${n(e.stride)})`;
      fields.push(`${q(h.field)}: ${highest < e.count ? value : `i < ${n(e.count)} ? ${value} : undefined`}`);
    }
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
  const compile = (params: string, body: string) => new Function('sumCopies', 'byWorker', 'histogram', `return (${params}) => {\n${prelude}\n${body}\n};`)(...helpers, histogramSummary) as (...args: unknown[]) => unknown;
  // The static part, decoded now and shared (frozen) by every snapshot until the next plan.
  const S = deepFreeze(compile('w, P', `${once.join('\n')}\nreturn { ${staticOut.join(', ')} };`)(words, plan));
  const decode = compile('w, P, name, pid, alive, failed, uptimeNs, S', `${lines.join('\n')}\nreturn { ${top.join(', ')} };`);
  return (w, P, name, pid, alive, failed, uptimeNs) => decode(w, P, name, pid, alive, failed, uptimeNs, S);
}

/** A histogram row's value (docs/stats-layout.md, "Histograms"): nanoseconds, nulls when nothing was counted. */
export interface HistogramSummary {
  count: number;
  minNs: number | null;
  p50Ns: number | null;
  p90Ns: number | null;
  p99Ns: number | null;
  p999Ns: number | null;
  maxNs: number | null;
}

const SUB = 2 ** HISTOGRAM_SUB_BITS;

/** The least value of bucket `i` (crates/stats/src/histogram.rs). */
export function bucketLow(i: number): number {
  return i < SUB ? i : (SUB + (i % SUB)) * 2 ** (Math.floor(i / SUB) - 1);
}

/** One past the greatest value of bucket `i`. */
export function bucketHigh(i: number): number {
  return i < SUB ? i + 1 : bucketLow(i) + 2 ** (Math.floor(i / SUB) - 1);
}

/** The bucket value `v` (ns) falls in (crates/stats/src/histogram.rs, `bucket_of`). */
export function bucketOf(v: number, buckets: number): number {
  if (v < SUB) return Math.max(0, Math.floor(v));
  const msb = Math.floor(Math.log2(v));
  // log2 of a double can round up just below a power of two: check against the bounds.
  const m = 2 ** msb > v ? msb - 1 : msb;
  const shift = m - HISTOGRAM_SUB_BITS;
  const i = (shift + 1) * SUB + Math.floor(v / 2 ** shift) - SUB;
  return Math.min(i, buckets - 1);
}

/**
 * A histogram record merged over copies: buckets and sums summed, min and max over the copies
 * that counted. Only the buckets from each copy's min to its max are read (nothing lies
 * outside them), so a snapshot reads tens of buckets, not hundreds.
 */
export function mergeHistogram(w: Uint32Array, at: number, copies: number, copyStride: number, stride: number): { buckets: Float64Array; min: number | null; max: number | null; sum: number } {
  const buckets = new Float64Array(Math.max(0, stride / 8 - HISTOGRAM_HEADER));
  const { min, max, sum } = mergeInto(buckets, w, at, copies, copyStride);
  return { buckets, min, max, sum };
}

/** Adds each copy's buckets (its min's to its max's) into `buckets`; the merged extremes and sum, and the range of buckets touched. */
function mergeInto(buckets: Float64Array, w: Uint32Array, at: number, copies: number, copyStride: number): { min: number | null; max: number | null; sum: number; from: number; to: number } {
  const n = buckets.length;
  let min: number | null = null;
  let max: number | null = null;
  let sum = 0;
  let from = n;
  let to = -1;
  for (let c = 0; c < copies; c++) {
    const base = (at + c * copyStride) >>> 2;
    if (w[base] === 0 && w[base + 1] === 0) continue;
    sum += w[base + 2]! + w[base + 3]! * 4294967296;
    const lo = w[base + 4]! + w[base + 5]! * 4294967296;
    const hi = w[base + 6]! + w[base + 7]! * 4294967296;
    min = min === null ? lo : Math.min(min, lo);
    max = max === null ? hi : Math.max(max, hi);
    const first = bucketOf(lo, n);
    const last = bucketOf(hi, n);
    from = Math.min(from, first);
    to = Math.max(to, last);
    const words = base + HISTOGRAM_HEADER * 2;
    for (let b = first; b <= last; b++) {
      const lowWord = w[words + 2 * b]!;
      const highWord = w[words + 2 * b + 1]!;
      if (lowWord !== 0 || highWord !== 0) buckets[b] = buckets[b]! + lowWord + highWord * 4294967296;
    }
  }
  return { min, max, sum, from, to };
}

/** The value at `perMille` ‰ of the buckets: the middle of the bucket holding that rank, kept in [min, max]. */
export function percentile(buckets: ArrayLike<number>, total: number, perMille: number, min: number, max: number): number {
  return percentiles(buckets, total, [perMille], min, max)[0]!;
}

/** Several percentiles (ascending, per mille) in one pass over the buckets. */
function percentiles(buckets: ArrayLike<number>, total: number, perMille: readonly number[], min: number, max: number, from = 0): number[] {
  const out: number[] = [];
  let seen = 0;
  let q = 0;
  for (let i = from; i < buckets.length && q < perMille.length; i++) {
    seen += buckets[i]!;
    while (q < perMille.length && seen >= Math.max(1, Math.ceil((total * perMille[q]!) / 1000))) {
      const low = bucketLow(i);
      const mid = low + Math.floor((bucketHigh(i) - 1 - low) / 2);
      out.push(Math.min(Math.max(mid, min), Math.max(max, min)));
      q++;
    }
  }
  while (out.length < perMille.length) out.push(max);
  return out;
}

const NOTHING: HistogramSummary = Object.freeze({ count: 0, minNs: null, p50Ns: null, p90Ns: null, p99Ns: null, p999Ns: null, maxNs: null });

/** Scratch buckets for summaries (decoding is synchronous: one at a time), zeroed after each use. */
let scratch = new Float64Array(0);

/**
 * One worker's record read without merging: p50 and p90 walking up from its min's bucket,
 * p99 and p99.9 walking down from its max's, so a snapshot reads the buckets below p90 and
 * above p99, not the whole range. Ranks come from the record's count (the writer stores it
 * right after the bucket, so the buckets hold at least what it says). Each percentile is the
 * lowest bucket whose cumulative count reaches its rank, as `percentile` finds it.
 */
function singleSummary(w: Uint32Array, base: number, n: number): HistogramSummary {
  const count = w[base]! + w[base + 1]! * 4294967296;
  if (count === 0) return { ...NOTHING };
  const min = w[base + 4]! + w[base + 5]! * 4294967296;
  const max = w[base + 6]! + w[base + 7]! * 4294967296;
  const words = base + HISTOGRAM_HEADER * 2;
  const first = bucketOf(min, n);
  const last = bucketOf(max, n);
  const r50 = Math.max(1, Math.ceil(count * 0.5));
  const r90 = Math.max(1, Math.ceil((count * 900) / 1000));
  const r99 = Math.max(1, Math.ceil((count * 990) / 1000));
  const r999 = Math.max(1, Math.ceil((count * 999) / 1000));
  let b50 = -1;
  let b90 = -1;
  let seen = 0;
  for (let b = first; b <= last; b++) {
    const i = words + 2 * b;
    if (w[i] === 0 && w[i + 1] === 0) continue;
    seen += w[i]! + w[i + 1]! * 4294967296;
    if (b50 < 0 && seen >= r50) b50 = b;
    if (seen >= r90) {
      b90 = b;
      break;
    }
  }
  let b99 = -1;
  let b999 = -1;
  let above = 0;
  for (let b = last; b >= first; b--) {
    const i = words + 2 * b;
    if (w[i] === 0 && w[i + 1] === 0) continue;
    const below = count - above - (w[i]! + w[i + 1]! * 4294967296);
    if (b999 < 0 && below < r999) b999 = b;
    if (below < r99) {
      b99 = b;
      break;
    }
    above = count - below;
  }
  const value = (b: number, fallback: number) => {
    if (b < 0) return fallback;
    const low = bucketLow(b);
    return Math.min(Math.max(low + Math.floor((bucketHigh(b) - 1 - low) / 2), min), max);
  };
  return { count, minNs: min, p50Ns: value(b50, max), p90Ns: value(b90, max), p99Ns: value(b99, min), p999Ns: value(b999, min), maxNs: max };
}

const PER_MILLE = [500, 900, 990, 999] as const;

/** The last summary read of each single-copy record, by segment and offset. */
const lastSummaries = new WeakMap<Uint32Array, Map<number, HistogramSummary>>();

/** The summary of a histogram element: its record at `at` in each of `copies` copies (docs/stats-layout.md, "Histograms"). */
export function histogramSummary(w: Uint32Array, at: number, copies: number, copyStride: number, stride: number): HistogramSummary {
  const n = Math.max(0, stride / 8 - HISTOGRAM_HEADER);
  if (copies === 1) {
    // The writer stores the count last: the same count, the same record. A reader polling
    // faster than records land (or a pipeline without traffic) reads two words, not a walk.
    const count = w[at >>> 2]! + w[(at >>> 2) + 1]! * 4294967296;
    let seen = lastSummaries.get(w);
    if (!seen) lastSummaries.set(w, (seen = new Map()));
    const last = seen.get(at);
    if (last && last.count === count) return { ...last };
    const summary = singleSummary(w, at >>> 2, n);
    seen.set(at, summary);
    return { ...summary };
  }
  if (scratch.length < n) scratch = new Float64Array(n);
  const buckets = scratch.length === n ? scratch : scratch.subarray(0, n);
  const { min, max, from, to } = mergeInto(buckets, w, at, copies, copyStride);
  if (min === null) return { ...NOTHING };
  let count = 0;
  for (let b = from; b <= to; b++) count += buckets[b]!;
  const [p50Ns, p90Ns, p99Ns, p999Ns] = count === 0 ? [null, null, null, null] : percentiles(buckets, count, [500, 900, 990, 999], min, max ?? Number.MAX_SAFE_INTEGER, from);
  buckets.fill(0, from, to + 1);
  if (count === 0) return { ...NOTHING };
  return { count, minNs: min, p50Ns: p50Ns!, p90Ns: p90Ns!, p99Ns: p99Ns!, p999Ns: p999Ns!, maxNs: max };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
