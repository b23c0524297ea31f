/**
 * What the latency histograms cost (issue 15): forwarding with `stats.latency` on (the
 * default) and off, in the same run, rounds interleaved (on, off, on, off, …) so that the
 * machine's drift hits both alike; io and macswap on two net_null ports, one worker, as
 * bench/forward.ts runs them. The cost is two TSC reads and one histogram record per burst.
 *
 *   npx tsx bench/latency.ts [--rounds 5] [--seconds 2] [--modes io,macswap] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { fastpathConfig, type Mode, root, spread } from './lib/forward.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' }, modes: { type: 'string', default: 'io,macswap' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

/** Mean per-port Mpps of one `fastpath run` with latency on or off. */
function run(mode: Mode, latency: boolean): number {
  const scratch = mkdtempSync(join(tmpdir(), 'fastpath-bench-latency-'));
  try {
    const config = fastpathConfig(mode, { noHuge: false, mbufs: 8191 });
    config.stats = { ...config.stats, latency };
    const file = join(scratch, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync(process.execPath, [join(root, 'packages/control/bin/fastpath.js'), 'run', file, '--duration', String(seconds), '--json'], { encoding: 'utf8' });
      // Another engine polling CPU 1 (a concurrent test): wait and try again.
      if (r.status !== 0 && /ERR_LCORE/.test(r.stderr) && attempt < 30) {
        spawnSync('sleep', ['2']);
        continue;
      }
      if (r.status !== 0) throw new Error(`fastpath run failed: ${r.stderr}`);
      const summary = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as { ports: { rxPackets: number }[]; durationS: number };
      return summary.ports.reduce((a, p) => a + p.rxPackets, 0) / summary.ports.length / summary.durationS / 1e6;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const results = (values.modes.split(',') as Mode[]).map((mode) => {
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < rounds; i++) {
    on.push(run(mode, true));
    off.push(run(mode, false));
    if (!values.json) console.log(`${mode} round ${i + 1}: latency on ${on.at(-1)!.toFixed(2)} Mpps/port, off ${off.at(-1)!.toFixed(2)}`);
  }
  return { mode, onMpps: spread(on), offMpps: spread(off), ratio: spread(on.map((v, i) => v / off[i]!)) };
});
if (values.json) console.log(JSON.stringify(results));
else for (const r of results) console.log(`${r.mode}: latency on/off ${r.ratio.median.toFixed(3)} (min ${r.ratio.min.toFixed(3)}, max ${r.ratio.max.toFixed(3)}); on ${r.onMpps.median.toFixed(2)} Mpps/port, off ${r.offMpps.median.toFixed(2)}`);
