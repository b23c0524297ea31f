/**
 * What live capture costs the data path: io forwarding on net_null (bench/lib/forward.ts's
 * config, one worker), measured in one process with
 *
 * - `off`: no capture (the worker's whole cost: one relaxed load and a branch per burst),
 * - `idle`: a capture of pipeline a-to-b at input whose filter matches nothing (`tcp port 1`:
 *   the JIT-compiled filter runs on every packet, nothing is copied),
 * - `all`: a capture of a-to-b at input with no filter, 64-byte snaplen, a 64 MiB ring, read
 *   by this process into /dev/null (every packet copied; what the ring cannot take is dropped
 *   and counted),
 *
 * alternating (off idle all, off idle all, ...) so machine noise lands on each. Prints the
 * forwarding rate of each (Mpps per port, median of the rounds) as a ratio to `off`, and for
 * `all` the packets captured and dropped per second.
 *
 *   npx tsx bench/capture.ts [--duration S] [--rounds N] [--json]
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';

import { Engine, type Capture } from '@fastpath/control';

import { fastpathConfig, spread } from './lib/forward.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
});
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const log = (line: string) => {
  if (!values.json) console.log(line);
};

const PHASES = ['off', 'idle', 'all'] as const;
type Phase = (typeof PHASES)[number];

const engine = await Engine.start({ ...fastpathConfig('io', { noHuge: true, mbufs: 8191 }), eal: { logToStderr: false, filePrefix: `bench-capture-${process.pid}` } });
const forwarded = () => engine.stats().ports.reduce((n, p) => n + p.txPackets, 0) / 2;

/** One phase for `durationS`: Mpps per port, and for `all` what the capture took and dropped per second. */
async function measure(phase: Phase): Promise<{ mpps: number; capturedPerS?: number; droppedPerS?: number }> {
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

const samples: Record<Phase, number[]> = { off: [], idle: [], all: [] };
const took: { capturedPerS: number[]; droppedPerS: number[] } = { capturedPerS: [], droppedPerS: [] };
try {
  for (let round = 1; round <= rounds; round++) {
    for (const phase of PHASES) {
      const r = await measure(phase);
      samples[phase].push(r.mpps);
      if (r.capturedPerS !== undefined) {
        took.capturedPerS.push(r.capturedPerS / 1e6);
        took.droppedPerS.push(r.droppedPerS! / 1e6);
      }
      log(`round ${round} ${phase.padEnd(4)} ${r.mpps.toFixed(2)} Mpps/port${r.capturedPerS === undefined ? '' : `  captured ${(r.capturedPerS / 1e6).toFixed(2)} M/s, dropped ${(r.droppedPerS! / 1e6).toFixed(2)} M/s`}`);
    }
  }
} finally {
  await engine.stop();
}

const ratio = (phase: Phase) => spread(samples[phase].map((x, i) => x / samples.off[i]!));
const result = {
  durationS,
  rounds,
  mpps: { off: spread(samples.off), idle: spread(samples.idle), all: spread(samples.all) },
  ratioToOff: { idle: ratio('idle'), all: ratio('all') },
  all: { capturedMpps: spread(took.capturedPerS), droppedMpps: spread(took.droppedPerS) },
};
if (values.json) console.log(JSON.stringify(result));
else {
  for (const phase of PHASES) {
    const r = phase === 'off' ? '' : `  ${ratio(phase).median.toFixed(3)} of off (${ratio(phase).min.toFixed(3)}-${ratio(phase).max.toFixed(3)})`;
    console.log(`${phase.padEnd(4)} ${result.mpps[phase].median} Mpps/port${r}`);
  }
  console.log(`all: captured ${result.all.capturedMpps.median} Mpps, dropped ${result.all.droppedMpps.median} Mpps (median)`);
}
