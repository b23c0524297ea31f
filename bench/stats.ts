/**
 * The stats segment's costs, measured: how long a JavaScript snapshot of every counter of a
 * 2-port engine takes, and whether 8 reader processes following the 10 ms sample ring at once
 * miss any sample. (Forwarding with stats on is what bench/forward.ts measures: the workers
 * always count into the segment, so its ratios against testpmd already include them.)
 *
 *   npx tsx bench/stats.ts [--readers 8] [--seconds 3] [--json]
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Engine, StatsReader } from '@fastpath/control';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { readers: { type: 'string', default: '8' }, seconds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
const name = `fp-bench-stats-${process.pid}`;

const engine = await Engine.start({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { workers: [1] },
  eal: { filePrefix: name, logToStderr: false },
  pipelines: [{ input: 'a', output: 'b' }, { input: 'b', output: 'a' }],
});
try {
  const reader = StatsReader.attach(name);
  // Snapshot time: 40 batches of 2000 snapshots, median per call.
  const perCall: number[] = [];
  let sink = 0;
  for (let batch = 0; batch < 40; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) sink += reader.snapshot().ports[0]!.rxPackets;
    perCall.push(Number(process.hrtime.bigint() - start) / 2000);
  }
  perCall.sort((a, b) => a - b);
  const snapshotNs = perCall[Math.floor(perCall.length / 2)]!;

  // N readers following the ring at once, each in its own process.
  const followers = Array.from({ length: Number(values.readers) }, () =>
    new Promise<{ samples: number; missed: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'lib/follow.ts'), name, values.seconds], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { samples: number; missed: number }) : reject(new Error(`reader exited ${code}`))));
    }),
  );
  const results = await Promise.all(followers);
  const summary = {
    snapshotMedianUs: Number((snapshotNs / 1000).toFixed(3)),
    readers: results.length,
    samplesPerReader: results.map((r) => r.samples),
    missedTotal: results.reduce((a, r) => a + r.missed, 0),
    checksum: sink > 0,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`JS snapshot of every counter (2 ports, 1 lcore): median ${summary.snapshotMedianUs} µs`);
    console.log(`${summary.readers} reader processes following the 10 ms ring for ${values.seconds} s: samples ${summary.samplesPerReader.join(', ')}; missed ${summary.missedTotal}`);
  }
} finally {
  await engine.stop();
}
