/**
 * What live capture costs the data path: io forwarding on net_null (bench/lib/forward.ts's
 * config, one worker, hugepages, `eal.secondaryProcesses` so that dpdk-dumpcap can attach),
 * measured in one process with
 *
 * - `off`: no capture (the worker's whole cost: one relaxed load and a branch per burst),
 * - `idle`: a capture of pipeline a-to-b at input whose filter matches nothing (`tcp port 1`:
 *   the JIT-compiled filter runs on every packet, nothing is copied),
 * - `all`: a capture of a-to-b at input with no filter, 64-byte snaplen, a 64 MiB ring, read
 *   by this process into /dev/null (every packet copied; what the ring cannot take is dropped
 *   and counted),
 * - `dumpcap`: DPDK's `dpdk-dumpcap -i net_null0 -s 64 -w FILE -a duration:S`, a secondary
 *   process attached to the engine (pdump: ethdev rx and tx callbacks copy each packet into the
 *   secondary's mempool and ring). It sees port a's rx and tx (dumpcap 22.11 has no direction
 *   option), twice the packets of `all`'s one direction; its file goes to a scratch directory,
 *   removed after each round. Skipped, saying so, when dpdk-dumpcap is not installed,
 *
 * alternating (off idle all dumpcap, off idle all dumpcap, ...) so machine noise lands on each;
 * each round is a child process with its own engine (dumpcap has crashed the engine it
 * attached to: such a round is reported and discarded, not the run).
 * Prints the forwarding rate of each (Mpps per port, median of the rounds) as a ratio to `off`,
 * and for `all` and `dumpcap` the packets captured and dropped per second. Needs root (EAL with
 * hugepages) and about 50 free 2 MiB hugepages.
 *
 *   npx tsx bench/capture.ts [--duration S] [--rounds N] [--json]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Engine, type Capture } from '@fastpath/control';

import { haveDumpcap as findDumpcap, runDumpcap } from './lib/dumpcap.js';
import { fastpathConfig, spread } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    // Internal: run one round in this process and print a JSON line per phase.
    'one-round': { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const log = (line: string) => {
  if (!values.json) console.log(line);
};

const haveDumpcap = findDumpcap();
if (!haveDumpcap && !values['one-round']) log('dpdk-dumpcap not found (Debian package `dpdk`): the dumpcap phase is skipped');
const PHASES = ['off', 'idle', 'all', 'dumpcap'] as const;
type Phase = (typeof PHASES)[number];
const phases = PHASES.filter((p) => p !== 'dumpcap' || haveDumpcap);

const filePrefix = `bench-capture-${process.pid}`;
const config = { ...fastpathConfig('io', { noHuge: false, mbufs: 8191 }), eal: { logToStderr: false, filePrefix, secondaryProcesses: true } };
/** Starts the engine; refused while another live engine polls CPU 1 (someone's short run), it waits and retries for a minute. */
async function start(): Promise<Engine> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Engine.start(config);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_LCORE' || attempt >= 30) throw e;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
let engine: Engine;
const forwarded = () => engine.stats().ports.reduce((n, p) => n + p.txPackets, 0) / 2;

/** dpdk-dumpcap on port a (net_null0): forwarding and what it captured and dropped, per second of its capturing. */
async function dumpcap(): Promise<{ mpps: number; capturedPerS: number; droppedPerS: number }> {
  const run = await runDumpcap(filePrefix, 'net_null0', durationS, forwarded);
  return { mpps: (run.counted[1] - run.counted[0]) / run.seconds / 1e6, capturedPerS: (run.received - run.dropped) / run.seconds, droppedPerS: run.dropped / run.seconds };
}

/** One phase for `durationS`: Mpps per port, and for `all` and `dumpcap` what the capture took and dropped per second. */
async function measure(phase: Phase): Promise<{ mpps: number; capturedPerS?: number; droppedPerS?: number }> {
  if (phase === 'dumpcap') return dumpcap();
  let capture: Capture | undefined;
  if (phase !== 'off') {
    capture = await engine.capture({ pipeline: 'a-to-b', at: 'input', ...(phase === 'idle' ? { filter: 'tcp port 1' } : { snaplen: 64, bufferMiB: 64 }) });
    capture.pipe(createWriteStream('/dev/null'));
  }
  const before = forwarded();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
  const seconds = (performance.now() - started) / 1000;
  const mpps = (forwarded() - before) / seconds / 1e6;
  if (!capture) return { mpps };
  const { captured, dropped } = capture.counts();
  await capture.stop();
  await capture.done;
  return { mpps, capturedPerS: captured / seconds, droppedPerS: dropped / seconds };
}

interface PhaseResult {
  phase: Phase;
  mpps: number;
  capturedPerS?: number;
  droppedPerS?: number;
}

/** `--one-round`: every phase once on this process's engine, dumpcap last; a JSON line each. */
async function oneRound(): Promise<void> {
  engine = await start();
  try {
    for (const phase of phases) console.log(JSON.stringify({ phase, ...(await measure(phase)) } satisfies PhaseResult));
  } finally {
    await engine.stop();
  }
}

/**
 * One round in a child process (one EAL per process, and an engine per round): dpdk-dumpcap
 * has crashed the engine it attached to (a segfault in pdump's copy on the worker, see
 * docs/observability.md), which must not end the bench. Returns the phases it finished and
 * how it ended.
 */
function childRound(): { results: PhaseResult[]; ended: string } {
  const me = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, me, '--one-round', '--duration', String(durationS)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const results = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PhaseResult);
  const ended = r.status === 0 ? 'ok' : r.signal ? `killed by ${r.signal}` : `exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return { results, ended };
}

if (values['one-round']) {
  await oneRound();
  process.exit(0);
}

const samples: Record<Phase, number[]> = { off: [], idle: [], all: [], dumpcap: [] };
type Took = { capturedPerS: number[]; droppedPerS: number[] };
const took: Record<'all' | 'dumpcap', Took> = { all: { capturedPerS: [], droppedPerS: [] }, dumpcap: { capturedPerS: [], droppedPerS: [] } };
const crashes: string[] = [];
for (let round = 1; round <= rounds; round++) {
  const { results, ended } = childRound();
  if (results.length < phases.length) {
    // A round that did not finish counts for none of its phases (ratios are per round).
    crashes.push(`round ${round}: the engine ended during ${phases[results.length]} (${ended})`);
    log(`round ${round}: the engine ended during ${phases[results.length]} (${ended}); round discarded`);
    continue;
  }
  for (const r of results) {
    samples[r.phase].push(r.mpps);
    if (r.capturedPerS !== undefined && (r.phase === 'all' || r.phase === 'dumpcap')) {
      took[r.phase].capturedPerS.push(r.capturedPerS / 1e6);
      took[r.phase].droppedPerS.push(r.droppedPerS! / 1e6);
    }
    log(`round ${round} ${r.phase.padEnd(7)} ${r.mpps.toFixed(2)} Mpps/port${r.capturedPerS === undefined ? '' : `  captured ${(r.capturedPerS / 1e6).toFixed(2)} M/s, dropped ${(r.droppedPerS! / 1e6).toFixed(2)} M/s`}`);
  }
}
if (samples.off.length === 0) throw new Error(`no round finished: ${crashes.join('; ')}`);

const ratio = (phase: Phase) => spread(samples[phase].map((x, i) => x / samples.off[i]!));
const takenBy = (t: Took) => ({ capturedMpps: spread(t.capturedPerS), droppedMpps: spread(t.droppedPerS) });
const result = {
  measuredAt: new Date().toISOString(),
  durationS,
  rounds,
  mpps: Object.fromEntries(phases.map((p) => [p, spread(samples[p])])),
  ratioToOff: Object.fromEntries(phases.filter((p) => p !== 'off').map((p) => [p, ratio(p)])),
  all: takenBy(took.all),
  ...(haveDumpcap ? { dumpcap: takenBy(took.dumpcap) } : {}),
  crashes,
};
if (values.json) console.log(JSON.stringify(result));
else {
  const range = (x: { min: number; median: number; max: number }) => `${x.median} (${x.min}-${x.max})`;
  for (const phase of phases) {
    const r = phase === 'off' ? '' : `  ${ratio(phase).median.toFixed(3)} of off (${ratio(phase).min.toFixed(3)}-${ratio(phase).max.toFixed(3)})`;
    console.log(`${phase.padEnd(7)} ${range(spread(samples[phase]))} Mpps/port${r}`);
  }
  for (const phase of ['all', 'dumpcap'] as const) {
    if (phase === 'dumpcap' && !haveDumpcap) continue;
    const t = takenBy(took[phase]);
    console.log(`${phase}: captured ${range(t.capturedMpps)} M/s, dropped ${range(t.droppedMpps)} M/s (median (min-max))`);
  }
  console.log(`${samples.off.length} of ${rounds} rounds finished${crashes.length ? `; ${crashes.join('; ')}` : ''}`);
}
