/**
 * Prometheus metrics for an engine, read from its stats segment (so the exporter may run in
 * any process, not only the engine's). Built on prom-client; values are read at scrape time.
 *
 * The metrics come from the segment's directory, not from a list here: every counter entry
 * `object/field` becomes `fastpath_<object>_<field>_total` (a gauge: without `_total`) with
 * a label per object level (`port`, `queue`, `lcore`, `pipeline`, `rule`, …) and the
 * entry's help text; every scalar `group/field` becomes `fastpath_<group>_<field>`; every
 * histogram entry `object/field` (durations in ns) a Prometheus histogram
 * `fastpath_<object>_<field>_seconds` with buckets at powers of two of nanoseconds. A counter
 * the engine adds is exported with no change here. Two views are derived on top: rates from
 * the sample ring, and lcore busy/idle seconds from TSC cycles.
 */
import { segmentLayout } from '@fastpath/types';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';

import { type HistogramSeries, StatsReader } from './stats-reader.js';

/** Where the metrics come from: a reader, or a function that finds one (or throws). */
export type ReaderSource = StatsReader | (() => StatsReader);

const { CATALOGUE, flags, HISTOGRAM_SUB_BITS, Kind, WORKER_OBJECT } = segmentLayout;

/** `rxPackets` → `rx_packets`. */
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Row = Record<string, unknown> & { name: string };

/** One exported series family: where its rows are, which field, what kind. */
interface Family {
  /** A scalar (`snapshot.group.field` or `snapshot.field`), or a field of object rows. */
  scalar: boolean;
  path: string[];
  field: string;
  gauge: boolean;
  help: string;
}

/** The object path of each object: `queue` → ['port', 'queue'] (parents first). */
function objectPaths(entries: readonly { name: string; kind: number; link: string }[]): Map<string, string[]> {
  const links = new Map(entries.filter((e) => e.kind === Kind.Names).map((e) => [e.name, e.link]));
  const paths = new Map<string, string[]>();
  for (const name of links.keys()) {
    const path = [name];
    for (let up = links.get(name); up && path.length < 8; up = links.get(up)) path.unshift(up);
    paths.set(name, path);
  }
  return paths;
}

/** The series families a directory describes. */
function families(entries: readonly { name: string; kind: number; flags: number; link: string; help: string }[]): Map<string, Family> {
  const paths = objectPaths(entries);
  const out = new Map<string, Family>();
  for (const e of entries) {
    const slash = e.name.indexOf('/');
    const [group, field] = slash < 0 ? ['', e.name] : [e.name.slice(0, slash), e.name.slice(slash + 1)];
    const gauge = (e.flags & flags.GAUGE) !== 0;
    if (e.kind === Kind.Scalar) {
      out.set(`fastpath_${snake(group ? `${group}_${field}` : field)}${gauge ? '' : '_total'}`, { scalar: true, path: group ? [group] : [], field, gauge, help: e.help });
    } else if (e.kind === Kind.Counter && (e.flags & flags.REF) === 0 && paths.has(group)) {
      out.set(`fastpath_${snake(group)}_${snake(field)}${gauge ? '' : '_total'}`, { scalar: false, path: paths.get(group)!, field, gauge, help: e.help });
      if ((e.flags & flags.BY_WORKER) !== 0) {
        out.set(`fastpath_${WORKER_OBJECT}_${snake(field)}_total`, { scalar: false, path: [WORKER_OBJECT], field, gauge: false, help: `${e.help.replace(/\.$/, '')}, by worker.` });
      }
    }
  }
  return out;
}

/** Every (labels, value) of a family in a snapshot: rows walked down the object path. */
function series(snap: Record<string, unknown>, family: Family): [Record<string, string>, number][] {
  if (family.scalar) {
    const group = family.path[0];
    const value = group === undefined ? snap[family.field] : (snap[group] as Record<string, unknown> | undefined)?.[family.field];
    return typeof value === 'number' ? [[{}, value]] : [];
  }
  const out: [Record<string, string>, number][] = [];
  const walk = (rows: unknown, depth: number, labels: Record<string, string>) => {
    if (!Array.isArray(rows)) return;
    const object = family.path[depth]!;
    for (const row of rows as Row[]) {
      const here = { ...labels, [snake(object)]: row.name };
      if (depth + 1 < family.path.length) walk(row[`${family.path[depth + 1]}s`], depth + 1, here);
      else if (typeof row[family.field] === 'number') out.push([here, row[family.field] as number]);
    }
  };
  walk(snap[`${family.path[0]}s`], 0, {});
  return out;
}

/** Bucket bounds exported (`le`, in seconds): powers of two from 128 ns to 2^32 ns, each a bucket boundary of the segment's histograms. */
const LE_POWERS = Array.from({ length: 26 }, (_, k) => k + 7);

/**
 * One Prometheus histogram per histogram entry (`pipeline/latency` →
 * `fastpath_pipeline_latency_seconds`), labelled by element, with cumulative buckets at powers
 * of two of nanoseconds (exact: each is a boundary of the segment's log-linear buckets), `_sum`
 * and `_count`. prom-client's Histogram observes values one by one; these are read, so the
 * metric is a plain object the registry formats.
 */
function registerHistograms(registry: Registry, current: () => StatsReader | undefined): void {
  const names = new Set<string>();
  const sub = 2 ** HISTOGRAM_SUB_BITS;
  const family = (entry: string) => `fastpath_${snake(entry.replace('/', '_'))}_seconds`;
  const values = (reader: StatsReader, series: HistogramSeries[]) =>
    series.flatMap((h) => {
      const labels: Record<string, string | number> = { engine: reader.name, [snake(h.object)]: h.element };
      const name = family(h.entry);
      let cumulative = 0;
      let next = 0;
      const out: { metricName: string; labels: Record<string, string | number>; value: number }[] = LE_POWERS.map((k) => {
        // Buckets below 2^k ns: those of index < (k − 3) × 16.
        const end = Math.min(h.buckets.length, (k - HISTOGRAM_SUB_BITS + 1) * sub);
        for (; next < end; next++) cumulative += h.buckets[next]!;
        return { metricName: `${name}_bucket`, labels: { ...labels, le: 2 ** k / 1e9 }, value: cumulative };
      });
      const count = h.buckets.reduce((a, b) => a + b, 0);
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      out.push({ metricName: `${name}_sum`, labels, value: h.sum / 1e9 });
      out.push({ metricName: `${name}_count`, labels, value: count });
      return out;
    });
  const entries = CATALOGUE.filter((e) => e.kind === Kind.Histogram);
  for (const e of entries) {
    const name = family(e.name);
    if (names.has(name)) continue;
    names.add(name);
    const help = e.help.replace(/ \(ns\)\.$/, ' (seconds).');
    registry.registerMetric({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: () => {
        const reader = current();
        const series = reader ? reader.histograms().filter((h) => h.entry === e.name) : [];
        return { name, help, type: 'histogram', aggregator: 'sum', values: reader ? values(reader, series) : [] };
      },
      reset: () => {},
    } as unknown as Metric);
  }
}

/**
 * Registers Fastpath's metrics in `registry` (a new one by default) and returns it:
 * `fastpath_up`; one family per segment entry (the catalogue's, plus any other entry the
 * engine's directory has: from the next scrape on when the engine is found at scrape time); `fastpath_port_{rx,tx}_packets_per_second` and
 * `fastpath_port_drops_per_second` (over the last second of samples); per worker lcore
 * `fastpath_lcore_{busy,idle}_seconds_total` (poll-loop time that found work, or none).
 */
export function prometheusRegistry(source: ReaderSource, registry = new Registry()): Registry {
  const current = (): StatsReader | undefined => {
    try {
      const reader = typeof source === 'function' ? source() : source;
      return reader.alive ? reader : undefined;
    } catch {
      return undefined;
    }
  };
  // One snapshot per scrape, shared by every family.
  let cached: { at: number; reader: StatsReader; snap: Record<string, unknown> } | undefined;
  const snapshot = () => {
    const reader = current();
    if (!reader) return undefined;
    if (!cached || cached.reader !== reader || Date.now() - cached.at > 50) {
      cached = { at: Date.now(), reader, snap: reader.snapshot() as unknown as Record<string, unknown> };
    }
    return cached;
  };
  // Families are registered from the catalogue (or the reader's directory) now, and from the
  // directory of whichever engine a scrape finds: an entry that engine has and this process
  // has never seen is exported from the next scrape on.
  const registered = new Set<string>();
  const register = (entries: readonly { name: string; kind: number; flags: number; link: string; help: string }[]) => {
    for (const [name, family] of families(entries)) {
      if (registered.has(name)) continue;
      registered.add(name);
      const labelNames = ['engine', ...(family.scalar ? [] : family.path.map(snake))];
      const collect = function (this: Counter | Gauge) {
        this.reset();
        const now = snapshot();
        if (!now) return;
        for (const [labels, value] of series(now.snap, family)) {
          const all = { engine: now.reader.name, ...labels };
          if (this instanceof Counter) this.inc(all, value);
          else this.set(all, value);
        }
      };
      if (family.gauge) new Gauge({ name, help: family.help, labelNames, registers: [registry], collect });
      else new Counter({ name, help: family.help, labelNames, registers: [registry], collect });
    }
  };
  new Gauge({
    name: 'fastpath_up',
    help: 'Whether the engine is running (1) or not (0).',
    registers: [registry],
    collect() {
      const reader = current();
      if (reader) register(reader.entries);
      this.set(reader ? 1 : 0);
    },
  });
  register(typeof source === 'function' ? CATALOGUE : source.entries);
  const rate = (name: string, help: string, pick: (r: ReturnType<StatsReader['rates']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['engine', 'port'],
      registers: [registry],
      collect() {
        this.reset();
        const reader = current();
        if (!reader) return;
        for (const r of reader.rates()) this.set({ engine: reader.name, port: r.name }, pick(r));
      },
    });
  rate('fastpath_port_rx_packets_per_second', 'Receive rate over the last second.', (r) => r.rxPps);
  rate('fastpath_port_tx_packets_per_second', 'Transmit rate over the last second.', (r) => r.txPps);
  rate('fastpath_port_drops_per_second', 'Drop rate (tx full + unrouted) over the last second.', (r) => r.dropPps);
  const seconds = (name: string, help: string, cycles: 'busyCycles' | 'idleCycles') =>
    new Counter({
      name,
      help,
      labelNames: ['engine', 'lcore'],
      registers: [registry],
      collect() {
        this.reset();
        const now = snapshot();
        if (!now) return;
        for (const l of (now.snap as unknown as ReturnType<StatsReader['snapshot']>).lcores) {
          if (l.tscHz) this.inc({ engine: now.reader.name, lcore: l.name }, l[cycles] / l.tscHz);
        }
      },
    });
  registerHistograms(registry, current);
  seconds('fastpath_lcore_busy_seconds_total', 'Poll-loop time that found packets to move.', 'busyCycles');
  seconds('fastpath_lcore_idle_seconds_total', 'Poll-loop time that found nothing.', 'idleCycles');
  return registry;
}
