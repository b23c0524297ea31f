/**
 * Counters a view has no column for, listed by name: how `fastpath stats` and `top` show a
 * counter the engine adds without a change to either (the snapshot is decoded by kind, so
 * every entry in the segment's directory arrives here as a field of its object's rows).
 */
import type { EngineStats } from '@fastpath/types';

type Row = Record<string, unknown> & { name: string };

/**
 * One line per row of every top-level object in `snap` (`ports`, `lcores`, `pipelines`, …)
 * that has non-zero numeric fields other than those in `shown[object]`, e.g.
 * `  port a: busyPolls 1234, rxBytes 56789`. Objects in `skip` are left out.
 */
export function otherCounters(snap: EngineStats, shown: Readonly<Record<string, readonly string[]>>, skip: readonly string[] = ['memoryRuns']): string[] {
  const lines: string[] = [];
  for (const [key, rows] of Object.entries(snap)) {
    if (!Array.isArray(rows) || skip.includes(key)) continue;
    for (const row of rows as Row[]) {
      const fields = Object.entries(row).filter(([field, value]) => typeof value === 'number' && value !== 0 && !shown[key]?.includes(field));
      if (fields.length > 0) lines.push(`  ${key.replace(/s$/, '')} ${row.name}: ${fields.map(([field, value]) => `${field} ${String(value)}`).join(', ')}`);
    }
  }
  return lines;
}

/** Nanoseconds as a short duration: `740ns`, `12.4µs`, `3.10ms`, `1.20s`. */
export function duration(ns: number | null): string {
  if (ns === null) return '-';
  if (ns < 1e3) return `${ns.toFixed(0)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)}ms`;
  return `${(ns / 1e9).toPrecision(3)}s`;
}

/**
 * A table of every histogram field of the pipelines that counted something (`latency`: rx to
 * tx in the engine; `probes`: round trips), with the probes' loss and reordering.
 */
export function latencyLines(snap: EngineStats): string[] {
  const rows: string[] = [];
  for (const p of snap.pipelines) {
    for (const [field, h] of [['latency', p.latency], ['probes', p.probes]] as const) {
      if (!h || h.count === 0) continue;
      const extra = field === 'probes' ? `  lost ${p.probesLost}  reordered ${p.probesReordered}` : '';
      rows.push(
        `${`${p.name} ${field}`.padEnd(22)}${String(h.count).padStart(12)}${[h.minNs, h.p50Ns, h.p90Ns, h.p99Ns, h.p999Ns, h.maxNs].map((v) => duration(v).padStart(9)).join('')}${extra}`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [`${'pipeline'.padEnd(22)}${'count'.padStart(12)}${['min', 'p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => h.padStart(9)).join('')}`, ...rows];
}

/**
 * A line for each generator that missed its rate (`paceMissed`: packets its pace called for
 * that the worker could not make in time), saying what to do; none when every rate was made.
 */
export function paceWarnings(snap: Pick<EngineStats, 'pipelines'>): string[] {
  return snap.pipelines
    .filter((p) => p.paceMissed > 0)
    .map((p) => `pipeline ${p.name}: its generator fell ${p.paceMissed} packets short of its rate: the worker could not keep up (give it a worker of its own, or lower the rate)`);
}
