/**
 * Each forwarding mode, Fastpath next to dpdk-testpmd in the same mode, in the same run, on
 * the same vdevs (two net_null ports), lcores (main 0, one worker on lcore 1), mbuf count and
 * memory mode. Prints per-port Mpps for both and their ratio; --json prints one JSON line.
 *
 *   npx tsx bench/forward.ts [--modes io,mac,...] [--duration S] [--rounds N] [--no-huge] [--json]
 *
 * testpmd measures itself (`show port stats all` Rx-pps/Tx-pps over the run, after 0.5 s of
 * warm-up); Fastpath's rate is its own counters over its run (`fastpath run --json`).
 * Rounds alternate the two so machine noise lands on both; medians are reported. Each round
 * also runs Fastpath with its software counters off (`stats: { counters: false }`): the
 * on/off ratio is what the shared-memory stats cost the data plane.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { EngineConfig, PipelineConfig } from '@fastpath/control';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL_MODES = ['io', 'mac', 'macswap', '5tswap', 'rxonly', 'txonly'] as const;
type Mode = (typeof ALL_MODES)[number];
const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: ALL_MODES.join(',') },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    'no-huge': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const modes = values.modes.split(',') as Mode[];
for (const m of modes) if (!ALL_MODES.includes(m)) throw new Error(`unknown mode ${m}; modes: ${ALL_MODES.join(', ')}`);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const noHuge = values['no-huge'];
const MBUFS = 8191;
const scratch = mkdtempSync(join(tmpdir(), 'fastpath-bench-'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What the mode measures: received packets, or sent ones for the generators. */
const measuresTx = (mode: Mode) => mode === 'txonly';

/** testpmd in `mode`; returns the mean per-port Mpps it reports over `durationS`. */
async function testpmd(mode: Mode): Promise<number> {
  const memory = noHuge ? ['--no-huge', '-m', '256', '--no-shconf'] : ['--huge-unlink=always'];
  const args = ['-l', '0,1', '--no-pci', '--file-prefix', `bench-testpmd-${process.pid}`, ...memory,
    '--vdev', 'net_null0', '--vdev', 'net_null1', '--', '-i', '--no-mlockall', `--total-num-mbufs=${MBUFS}`, `--forward-mode=${mode}`];
  // Line-buffered: testpmd's printf output would otherwise sit in a pipe buffer.
  const child = spawn('stdbuf', ['-oL', 'dpdk-testpmd', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const send = (line: string) => child.stdin.write(`${line}\n`);
  await waitFor(() => out.includes('testpmd> '), 'the testpmd prompt');
  send('start');
  await sleep(500);
  send('show port stats all'); // starts testpmd's own rate interval
  await sleep(durationS * 1000);
  const mark = out.length;
  send('show port stats all');
  await waitFor(() => (out.slice(mark).match(/Tx-pps/g) ?? []).length >= 2, 'testpmd port stats');
  send('stop');
  send('quit');
  await new Promise((resolve) => child.on('close', resolve));
  const field = measuresTx(mode) ? 'Tx-pps' : 'Rx-pps';
  const rates = [...out.slice(mark).matchAll(new RegExp(`${field}:\\s+(\\d+)`, 'g'))].map((m) => Number(m[1]));
  return rates.reduce((a, b) => a + b, 0) / rates.length / 1e6;
}

function pipelines(mode: Mode): PipelineConfig[] {
  const both = (stages: PipelineConfig['stages']): PipelineConfig[] => [
    { name: 'a-to-b', input: 'a', stages, output: 'b' },
    { name: 'b-to-a', input: 'b', stages, output: 'a' },
  ];
  switch (mode) {
    case 'io': return both([]);
    case 'mac': return both([{ kind: 'macRewrite', dst: '02:00:00:00:00:01' }]);
    case 'macswap': return both(['macSwap']);
    case '5tswap': return both(['fiveTupleSwap']);
    case 'rxonly': return [{ name: 'sink', input: ['a', 'b'], stages: ['drop'] }];
    case 'txonly': return [
      { name: 'make-a', generator: { packetSize: 64 }, output: 'a' },
      { name: 'make-b', generator: { packetSize: 64 }, output: 'b' },
    ];
  }
}

/** Fastpath in `mode` through `fastpath run`; returns the mean per-port Mpps. */
function fastpath(mode: Mode, counters = true): number {
  const config: EngineConfig = {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: !noHuge, mbufs: MBUFS },
    eal: { logToStderr: false },
    pipelines: pipelines(mode),
    stats: { counters },
  };
  const file = join(scratch, `${mode}.json`);
  writeFileSync(file, JSON.stringify(config));
  const run = spawnSync(process.execPath, [join(root, 'packages/control/bin/fastpath.js'), 'run', file, '--duration', String(durationS), '--json'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`fastpath run failed: ${run.stderr}`);
  const summary = JSON.parse(run.stdout.trimEnd().split('\n').at(-1)!) as { ports: { rxPackets: number; txPackets: number }[]; durationS: number };
  const packets = summary.ports.reduce((a, p) => a + (measuresTx(mode) ? p.txPackets : p.rxPackets), 0) / summary.ports.length;
  return packets / summary.durationS / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = [];
try {
  for (const mode of modes) {
    const samples: { testpmd: number; fastpath: number; countersOff: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const t = await testpmd(mode);
      const f = fastpath(mode);
      const off = fastpath(mode, false);
      samples.push({ testpmd: t, fastpath: f, countersOff: off });
      if (!values.json) {
        console.log(`${mode} round ${round}: testpmd ${t.toFixed(2)} Mpps/port, fastpath ${f.toFixed(2)} Mpps/port (counters off ${off.toFixed(2)}), ratio ${(f / t).toFixed(3)}`);
      }
    }
    results.push({
      mode,
      testpmdMpps: Number(median(samples.map((s) => s.testpmd)).toFixed(2)),
      fastpathMpps: Number(median(samples.map((s) => s.fastpath)).toFixed(2)),
      ratio: Number(median(samples.map((s) => s.fastpath / s.testpmd)).toFixed(3)),
      countersOffMpps: Number(median(samples.map((s) => s.countersOff)).toFixed(2)),
      /** Stats on / stats off: what counting costs (1.00 = nothing). */
      statsOnOff: Number(median(samples.map((s) => s.fastpath / s.countersOff)).toFixed(3)),
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const summary = { vdevs: 'net_null0,net_null1', memory: noHuge ? 'no-huge' : 'hugepages', durationS, rounds, results };
if (values.json) console.log(JSON.stringify(summary));
else {
  for (const r of results) {
    console.log(`${r.mode.padEnd(8)} testpmd ${r.testpmdMpps} Mpps/port  fastpath ${r.fastpathMpps} Mpps/port  ratio ${r.ratio}  stats on/off ${r.statsOnOff}`);
  }
}
