/**
 * `npm run bench`: every measurement, Fastpath next to dpdk-testpmd in the same run, then
 * the results: a ratio table on stdout, `bench/results/<date>.json`, and (for a full run)
 * the chart `bench/results/latest.svg` and the results section of bench/README.md.
 *
 *   npm run bench [-- --quick] [-- --no-write]
 *
 * Full: every forwarding mode on hugepages plus io without, 5 rounds of 4 s each with stats
 * on and off, instruction counts for every mode, memory, stats and control costs, the
 * routing rows against DPDK's l3fwd (bench/routing.ts: 16 and 1M routes, IPv4 and IPv6, an
 * ACL of 10k rules, loading and live route changes), and the af_packet bridge (root only).
 * --quick: io, macswap, the ring generator and io without hugepages, 3 rounds of 1 s,
 * instruction counts for io only, the 16-route IPv4 row against l3fwd, no bridge: under 5
 * minutes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { measureMode, root, type Mode, type ModeResult } from './lib/forward.js';
import { chartSvg, machine, resultsMarkdown, updateReadme, type BenchResults } from './lib/report.js';
import type { RoutingResults } from './lib/routing.js';
import { routingLines, routingMarkdown, updateSection } from './lib/routing-report.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'no-write': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  console.log('npm run bench [-- --quick] [-- --no-write]');
  console.log('  (no flags)   every measurement (about an hour); writes bench/results/<date>.json, the chart and bench/README.md');
  console.log('  --quick      a short run (under 5 minutes); writes bench/results/<date>-quick.json');
  console.log('  --no-write   print the results only');
  console.log('One measurement at a time: the commands in bench/README.md (npx tsx bench/forward.ts, bench/routing.ts --help, ...)');
  process.exit(0);
}
const quick = values.quick;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const say = (line: string) => console.log(`[${elapsed()}] ${line}`);

// Five alternated rounds (A B A B …) for the full run: this VM drifts by ±30% within minutes.
const rounds = quick ? 3 : 5;
const durationS = quick ? 1 : 4;
const mbufs = 8191;
const modes: { mode: Mode; noHuge: boolean; countersOff: boolean }[] = quick
  ? [
      { mode: 'io', noHuge: false, countersOff: true },
      { mode: 'macswap', noHuge: false, countersOff: true },
      { mode: 'ring', noHuge: false, countersOff: false },
      { mode: 'io', noHuge: true, countersOff: false },
    ]
  : [
      ...(['io', 'mac', 'macswap', '5tswap', 'rxonly', 'txonly', 'ring'] as const).map((mode) => ({ mode, noHuge: false, countersOff: true })),
      { mode: 'io', noHuge: true, countersOff: true },
    ];

/** Runs one of the bench scripts with --json and returns what it printed last. */
function script<T>(file: string, args: string[] = []): T | undefined {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file), ...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) {
    say(`${file} failed (exit ${run.status}); its results are left out`);
    return undefined;
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

const forward: ModeResult[] = [];
for (const m of modes) {
  say(`forwarding: ${m.mode}${m.noHuge ? ' without hugepages' : ''}`);
  forward.push(await measureMode(m.mode, { durationS, noHuge: m.noHuge, mbufs }, rounds, m.countersOff, say));
}
say('instructions per packet (callgrind)');
const instructions = script<{ results: BenchResults['instructions'] }>('instructions.ts', quick ? ['--modes', 'io', '--short', '1', '--long', '2'] : [])?.results;
say('hugepage memory');
const memory = script<BenchResults['memory']>('memory.ts');
say('stats segment reads');
const stats = script<BenchResults['stats']>('stats.ts', quick ? ['--seconds', '1'] : []);
say('control calls and swaps');
const control = script<BenchResults['control']>('control.ts', quick ? ['--swaps', '40'] : []);
say('routing and ACLs against l3fwd');
const routing = script<RoutingResults>('routing.ts', quick ? ['--rows', 'v4-16', '--duration', '1'] : []);

const results: BenchResults = {
  date: new Date().toISOString().slice(0, 10),
  quick,
  machine: machine(),
  method: { rounds, durationS, mbufs, burst: 32, descriptors: 1024, lcores: 'main 0, one worker on lcore 1' },
  forward,
  instructions,
  memory,
  stats,
  control,
  routing,
};

console.log('');
console.log('mode               testpmd   Fastpath   ratio min / median / max   stats on/off');
for (const r of forward) {
  const name = `${r.mode}${r.memory === 'no-huge' ? ' (no-huge)' : ''}`;
  console.log(
    `${name.padEnd(16)}${r.testpmdMpps.median.toFixed(2).padStart(10)}${r.fastpathMpps.median.toFixed(2).padStart(11)}   ` +
      `${r.ratio.min.toFixed(3)} / ${r.ratio.median.toFixed(3)} / ${r.ratio.max.toFixed(3)}        ${r.statsOnOff?.median.toFixed(3) ?? '-'}`,
  );
}
for (const i of instructions ?? []) console.log(`instructions/packet ${i.mode}: testpmd ${i.testpmd.instructionsPerPacket}, Fastpath ${i.fastpath.instructionsPerPacket}`);
if (memory) console.log(`hugepages: testpmd ${memory.testpmd.pages}, Fastpath ${memory.fastpath.pages}`);
if (routing) for (const line of routingLines(routing)) console.log(line);

if (!values['no-write']) {
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const name = `${results.date}${quick ? '-quick' : ''}`;
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  say(`wrote bench/results/${name}.json`);
  if (!quick) {
    writeFileSync(join(dir, 'latest.svg'), chartSvg(results));
    const readme = join(root, 'bench/README.md');
    let text = updateReadme(readFileSync(readme, 'utf8'), resultsMarkdown(results, 'results/latest.svg', `results/${name}.json`));
    if (routing) text = updateSection(text, 'routing', routingMarkdown(routing, results.date, `results/${name}.json`));
    writeFileSync(readme, text);
    say('updated bench/README.md and bench/results/latest.svg');
  }
}
if (!quick && process.getuid?.() === 0) {
  say('the bridge (iperf3 across af_packet)');
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/bridge.ts')], { stdio: 'inherit' });
}
say('done');
