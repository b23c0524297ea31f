/**
 * How exactly a paced generator makes its rate: one generator of 64-byte frames into net_null
 * (no driver can slow it down), `rate: { pps }`, for `--duration` seconds per rate, a fresh
 * engine per rate and round (a child process: one EAL per process). The rate achieved is
 * `generated` over the measured interval, both from the stats segment; `paceMissed` is what
 * the worker could not make in time, which the engine counts itself. Without hugepages, so
 * it runs anywhere.
 *
 * No testpmd side: txonly has no software pacing, and `set port P queue Q rate R` asks the
 * NIC for a queue rate limit, which the vdevs do not have.
 *
 *   npx tsx bench/generator-rate.ts [--mpps 1,5,10] [--duration 10] [--rounds 1] [--json]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Engine, type EngineConfig } from '@fastpath/control';

import { spread } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    mpps: { type: 'string', default: '1,5,10' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    // Internal: one rate in this process, one JSON line.
    'one-rate': { type: 'string' },
  },
});
if (values.help) {
  console.log('npx tsx bench/generator-rate.ts [--mpps 1,5,10] [--duration 10] [--rounds 1] [--json]');
  console.log('  a paced generator into net_null per rate: the rate achieved (from `generated`) and paceMissed');
  process.exit(0);
}
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
if (!(durationS > 0) || !(rounds >= 1)) throw new Error('--duration takes seconds above 0, --rounds a count of at least 1');

interface Round {
  /** Packets per second asked for. */
  pps: number;
  /** Packets per second made over the interval. */
  achievedPps: number;
  /** paceMissed over the interval. */
  missed: number;
  seconds: number;
}

async function oneRate(mpps: number): Promise<void> {
  const pps = mpps * 1e6;
  const config: EngineConfig = {
    ports: { out: { null: {} } },
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: false, mbufs: 8191 },
    eal: { logToStderr: false, filePrefix: `bench-generator-rate-${process.pid}` },
    pipelines: [{ name: 'gen', generator: { packetSize: 64, rate: { pps } }, output: 'out' }],
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
  const gen = () => engine.stats().pipelines.find((p) => p.name === 'gen')!;
  try {
    // Past the start: the first bursts of a pacer catch up from its start.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [a, tA] = [gen(), engine.stats().uptimeNs];
    await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
    const [b, tB] = [gen(), engine.stats().uptimeNs];
    const seconds = (tB - tA) / 1e9;
    console.log(JSON.stringify({ pps, achievedPps: (b.generated - a.generated) / seconds, missed: b.paceMissed - a.paceMissed, seconds } satisfies Round));
  } finally {
    await engine.stop();
  }
}

if (values['one-rate']) {
  await oneRate(Number(values['one-rate']));
  process.exit(0);
}

const me = fileURLToPath(import.meta.url);
const results = values.mpps.split(',').map(Number).map((mpps) => {
  const got: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    const r = spawnSync(process.execPath, [...process.execArgv, me, '--one-rate', String(mpps), '--duration', String(durationS)], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (r.status !== 0 || line === undefined) throw new Error(`${mpps} Mpps, round ${round}: ${r.signal ?? `exit ${r.status}`}\n${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
    got.push(JSON.parse(line) as Round);
    if (!values.json) process.stderr.write(`${mpps} Mpps round ${round}: ${(got.at(-1)!.achievedPps / 1e6).toFixed(4)} Mpps, paceMissed ${got.at(-1)!.missed}\n`);
  }
  const errorPercent = spread(got.map((g) => Number(((100 * (g.achievedPps - g.pps)) / g.pps).toFixed(3))));
  return { mpps, rounds: got.length, achievedMpps: spread(got.map((g) => g.achievedPps / 1e6)), errorPercent, paceMissed: spread(got.map((g) => g.missed)) };
});
if (values.json) console.log(JSON.stringify({ measuredAt: new Date().toISOString(), durationS, rounds, results }));
else {
  console.log('rate Mpps | achieved Mpps | error % | paceMissed (median (min-max) over rounds)');
  const r = (x: { min: number; median: number; max: number }) => (x.min === x.max ? `${x.median}` : `${x.median} (${x.min}-${x.max})`);
  for (const x of results) console.log(`${x.mpps} | ${r(x.achievedMpps)} | ${r(x.errorPercent)} | ${r(x.paceMissed)}`);
}
