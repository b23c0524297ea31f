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
