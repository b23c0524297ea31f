/**
 * `fastpath clean`: removes what dead engines of any name left (their stats segments, EAL
 * runtime directories and hugepage files) and says what was freed. Every engine start does
 * the same; this is for a machine where none is started. The work is the engine's
 * (crates/engine/src/reclaim): dead means no one holds the engine's lock, whatever its pid.
 */
import { native } from '../native.js';
import { defineCommand } from './command.js';

type Reclaimed = ReturnType<ReturnType<typeof native>['reclaim']>;

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `12 files, 3.9 MiB, 1 hugepage`. */
export function freedText(f: { files: number; bytes: number; hugepages: number }): string {
  return `${plural(f.files, 'file')}, ${(f.bytes / 2 ** 20).toFixed(1)} MiB, ${plural(f.hugepages, 'hugepage')}`;
}

/** What `fastpath clean` prints: a line per dead engine, the total, what was left alone. */
export function cleanLines(report: Reclaimed, dryRun: boolean): string[] {
  const verb = dryRun ? 'would free' : 'freed';
  const lines = report.engines.map((e) => {
    const pid = e.pid === undefined || e.pid === null ? '' : ` (pid ${e.pid})`;
    return `${verb} dead engine ${JSON.stringify(e.name)}${pid}: ${e.paths.join(', ')} (${freedText(e)})`;
  });
  lines.push(
    report.engines.length === 0
      ? 'nothing to clean: no dead Fastpath engine left anything'
      : `${verb} ${freedText(report)} of ${plural(report.engines.length, 'dead engine')}${dryRun ? ' (dry run: nothing removed)' : ''}`,
  );
  return [...lines, ...report.leftAlone.map((why) => `left alone: ${why}`)];
}

export const cleanCommand = defineCommand({
  name: 'clean',
  usage: 'fastpath clean [--dry-run] [--json]',
  summary: 'Remove what dead engines left (stats segments, EAL runtime directories, hugepage files) and say what was freed',
  options: {
    'dry-run': { type: 'boolean', default: false, help: 'only say what would be removed' },
    json: { type: 'boolean', default: false, help: 'print the report as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
  notes: [
    "An engine is dead when no process holds the lock it keeps on its stats segment for its life (the kernel drops it however the process ends). Live engines' files, and DPDK runtime directories that are not known to be Fastpath's (another program's --file-prefix), are never touched.",
  ],
  async run(flags) {
    const report = native().reclaim(flags['dry-run']);
    if (flags.json) console.log(JSON.stringify({ dryRun: flags['dry-run'], ...report }));
    else for (const line of cleanLines(report, flags['dry-run'])) console.log(line);
  },
});
