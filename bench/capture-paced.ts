/**
 * Packets captured per second before drops: `fastpath capture` vs `dpdk-dumpcap` on the same
 * paced traffic. One engine per rate (a child process: one EAL per process, and dumpcap has
 * crashed the engine it attached to on a later session, docs/observability.md), on hugepages
 * with `eal.secondaryProcesses`: a generator of 64-byte frames at the rate, paced by the TSC,
 * into net_null port a, which nothing reads (so port a's tx is all dumpcap sees: the same
 * packets as the capture). Per rate, in turn for `--duration` seconds each:
 *
 * - `fastpath`: `engine.capture({ pipeline: 'gen', at: 'output', snaplen: 64, bufferMiB: 64 })`
 *   read by this process into /dev/null;
 * - `dumpcap`: `dpdk-dumpcap -i net_null0 -s 64 -w FILE -a duration:S`.
 *
 * Prints, per rate, each side's packets captured and dropped per second (median of the rounds,
 * min-max), and the generator's rate while each ran. Needs root and about 50 free 2 MiB hugepages.
 *
 *   npx tsx bench/capture-paced.ts [--mpps 0.25,0.5,1,2,4] [--duration 3] [--rounds 3] [--json]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Engine, type EngineConfig } from '@fastpath/control';

import { haveDumpcap, runDumpcap } from './lib/dumpcap.js';
import { spread } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    mpps: { type: 'string', default: '0.25,0.5,1,2,4' },
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    // Internal: one rate in this process, a JSON line per side.
    'one-rate': { type: 'string' },
  },
});
const durationS = Number(values.duration);
const rounds = Number(values.rounds);

interface Side {
  side: 'fastpath' | 'dumpcap';
  /** Generated per second while it ran. */
  offeredPerS: number;
  capturedPerS: number;
  droppedPerS: number;
}

async function oneRate(mpps: number): Promise<void> {
  const filePrefix = `bench-capture-paced-${process.pid}`;
  const config: EngineConfig = {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: true, mbufs: 8191 },
    eal: { logToStderr: false, filePrefix, secondaryProcesses: true },
    pipelines: [{ name: 'gen', generator: { packetSize: 64, rate: { pps: mpps * 1e6 } }, output: 'a' }],
  };
  let engine: Engine | undefined;
  // Refused while another live engine polls CPU 1 (someone's short run): wait and retry for a minute.
  for (let attempt = 1; !engine; attempt++) {
    try {
      engine = await Engine.start(config);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_LCORE' || attempt >= 30) throw e;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  const generated = () => engine.stats().pipelines.find((p) => p.name === 'gen')!.generated;
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const capture = await engine.capture({ pipeline: 'gen', at: 'output', snaplen: 64, bufferMiB: 64 });
    capture.pipe(createWriteStream('/dev/null'));
    const g0 = generated();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const { captured, dropped } = capture.counts();
    const offered = generated() - g0;
    await capture.stop();
    await capture.done;
    console.log(JSON.stringify({ side: 'fastpath', offeredPerS: offered / seconds, capturedPerS: captured / seconds, droppedPerS: dropped / seconds } satisfies Side));
    const run = await runDumpcap(filePrefix, 'net_null0', durationS, generated);
    console.log(JSON.stringify({ side: 'dumpcap', offeredPerS: (run.counted[1] - run.counted[0]) / run.seconds, capturedPerS: (run.received - run.dropped) / run.seconds, droppedPerS: run.dropped / run.seconds } satisfies Side));
  } finally {
    await engine.stop();
  }
}

if (values['one-rate']) {
  await oneRate(Number(values['one-rate']));
  process.exit(0);
}
if (!haveDumpcap()) throw new Error('dpdk-dumpcap not found: install Debian\'s `dpdk` package');

const log = (line: string) => {
  if (!values.json) console.log(line);
};
const rates = values.mpps.split(',').map(Number);
const me = fileURLToPath(import.meta.url);
const results = rates.map((mpps) => {
  const got: Record<Side['side'], Side[]> = { fastpath: [], dumpcap: [] };
  const failures: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const r = spawnSync(process.execPath, [...process.execArgv, me, '--one-rate', String(mpps), '--duration', String(durationS)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const sides = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Side);
    for (const s of sides) got[s.side].push(s);
    const f = (s: Side) => `${s.side} captured ${(s.capturedPerS / 1e6).toFixed(3)} M/s, dropped ${(s.droppedPerS / 1e6).toFixed(3)} (offered ${(s.offeredPerS / 1e6).toFixed(3)})`;
    if (r.status !== 0) failures.push(`round ${round}: ${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`} after ${sides.map((s) => s.side).join(', ') || 'nothing'}`);
    log(`${mpps} Mpps round ${round}: ${sides.map(f).join('; ')}${r.status !== 0 ? `; the engine ended (${r.signal ?? r.status}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}` : ''}`);
  }
  const m = (xs: Side[], k: 'offeredPerS' | 'capturedPerS' | 'droppedPerS') => (xs.length ? spread(xs.map((s) => s[k] / 1e6)) : null);
  const sum = (xs: Side[]) => ({ rounds: xs.length, offeredMpps: m(xs, 'offeredPerS'), capturedMpps: m(xs, 'capturedPerS'), droppedMpps: m(xs, 'droppedPerS') });
  return { mpps, fastpath: sum(got.fastpath), dumpcap: sum(got.dumpcap), failures };
});
if (values.json) console.log(JSON.stringify({ measuredAt: new Date().toISOString(), durationS, rounds, results }));
else {
  const r = (x: { min: number; median: number; max: number } | null) => (x ? `${x.median} (${x.min}-${x.max})` : '-');
  console.log('rate Mpps | fastpath captured / dropped M/s | dumpcap captured / dropped M/s (median (min-max))');
  for (const x of results) console.log(`${x.mpps} | ${r(x.fastpath.capturedMpps)} / ${r(x.fastpath.droppedMpps)} | ${r(x.dumpcap.capturedMpps)} / ${r(x.dumpcap.droppedMpps)}${x.failures.length ? `  [${x.failures.join('; ')}]` : ''}`);
}
