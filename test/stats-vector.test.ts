/** The stats test vector written by the Rust writer (crates/stats/tests/vector.rs), read by TypeScript. */
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { StatsReader } from '@fastpath/control';

import { repoRoot } from './helpers.js';

it('reads the segment the Rust writer produced, field for field', () => {
  const reader = StatsReader.open(join(repoRoot, 'test/fixtures/stats-v1.bin'));
  expect(reader.name).toBe('vector');
  expect(reader.alive).toBe(false);
  expect(reader.ports).toEqual(['wan', 'lan']);
  const snap = reader.snapshot();
  const driver = (rx: number, tx: number) => ({ rxPackets: rx, txPackets: tx, rxBytes: rx * 64, txBytes: tx * 64, rxMissed: 1, rxErrors: 2, txErrors: 3, rxNombuf: 4 });
  // wan: rx queues 0 and 1 (polled by lcores 1 and 2), tx queues 0 and 1; lan: rx queue 0
  // (lcore 2) and tx queues 0 and 1 (queue 1 has no rx side).
  const wanQueues = [
    { queue: 0, rxLcore: 1, rxPackets: 1500, rxBytes: 96_000, txPackets: 250, txBytes: 16_000, errors: 1 },
    { queue: 1, rxLcore: 2, rxPackets: 501, rxBytes: 32_064, txPackets: 250, txBytes: 16_000, errors: 0 },
  ];
  const lanQueues = [
    { queue: 0, rxLcore: 2, rxPackets: 500, rxBytes: 32_000, txPackets: 990, txBytes: 63_360, errors: 0 },
    { queue: 1, rxLcore: null, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, errors: 0 },
  ];
  expect(snap.ports).toEqual([
    { name: 'wan', rxPackets: 2000, txPackets: 500, rxDropped: 3, txDropped: 0, busyPolls: 0, driver: driver(2001, 500), queues: wanQueues },
    { name: 'lan', rxPackets: 500, txPackets: 990, rxDropped: 0, txDropped: 10, busyPolls: 0, driver: driver(500, 1000), queues: lanQueues },
  ]);
  const hz = 2_000_000_000;
  expect(snap.lcores).toEqual([
    { lcore: 1, cpu: 1, rxPackets: 1000 + 1000, txPackets: 990, loops: 7, idleLoops: 2, busyCycles: 3000, idleCycles: 1000, tscHz: hz },
    { lcore: 2, cpu: 3, rxPackets: 500, txPackets: 500, loops: 0, idleLoops: 0, busyCycles: 0, idleCycles: 0, tscHz: hz },
  ]);
  expect(snap.pipelines).toEqual([{ name: 'filter', inPackets: 1500, outPackets: 990, dropped: 10, generated: 0, rules: [{ name: 'no-dns', matched: 7 }] }]);
  expect(reader.samplesWritten).toBe(2);
  expect(reader.sample(0)!.ports).toEqual([
    { rxPackets: 1000, txPackets: 500, dropped: 3 },
    { rxPackets: 500, txPackets: 990, dropped: 10 },
  ]);
  // Each lcore has its own ring: lcore 1 received 1000 (wan) and sent 990 (lan, 10 dropped).
  expect(reader.sample(0)!.lcores).toEqual([
    { lcore: 1, rxPackets: 1000, txPackets: 990, dropped: 10 },
    { lcore: 2, rxPackets: 500, txPackets: 500, dropped: 3 },
  ]);
  expect(reader.sample(1)!.ports[0]!.rxPackets).toBe(2000);
  expect(reader.sample(1)!.timeNs).toBeGreaterThanOrEqual(reader.sample(0)!.timeNs);
  expect(reader.sample(2)).toBeUndefined();
  const mib2 = 2 * 2 ** 20;
  expect(reader.memoryMap()).toEqual({
    iovaMode: 'PA',
    bytes: 2 * mib2,
    segments: 2,
    pageSize: mib2,
    heapTotal: 2 * mib2,
    heapAllocated: 3 * 2 ** 20,
    planned: 2 * mib2,
    runs: [
      { va: '0x100000000', iova: '0x80000000', bytes: mib2, segments: 1, socket: 0 },
      { va: '0x100200000', iova: '0x90000000', bytes: mib2, segments: 1, socket: 0 },
    ],
    runsTotal: 2,
    largestRun: mib2,
  });
});
