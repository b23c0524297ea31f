/**
 * The stats test vector written by the Rust writer (crates/stats/tests/vector.rs), read by
 * TypeScript: the generic decoder must give, field for field, the JSON the Rust reader
 * gives for the same bytes (test/fixtures/stats-v2.json), and the ring and memory views on
 * top of it must read what the writer wrote.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { bucketHigh, bucketLow, bucketOf, histogramSummary, mergeHistogram, percentile, StatsReader } from '@fastpath/control';
import { segmentLayout } from '@fastpath/types';

import { repoRoot } from './helpers.js';

it('decodes the segment the Rust writer produced exactly as the Rust reader does', () => {
  const reader = StatsReader.open(join(repoRoot, 'test/fixtures/stats-v2.bin'));
  expect(reader.name).toBe('vector');
  expect(reader.alive).toBe(false);
  expect(reader.ports).toEqual(['wan', 'lan']);
  const rust = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/stats-v2.json'), 'utf8')) as unknown;
  const snap = reader.snapshot();
  expect(snap).toEqual(rust);
  // The values the writer stored, by name (the same numbers the Rust test checks).
  expect(snap.ports.map((p) => [p.name, p.rxPackets, p.txPackets, p.unrouted, p.txDropped])).toEqual([
    ['wan', 2000, 500, 3, 0],
    ['lan', 500, 990, 0, 10],
  ]);
  expect(snap.ports[0]!.queues.map((q) => [q.name, q.rxLcore, q.rxPackets])).toEqual([
    ['0', '1', 1500],
    ['1', '2', 501],
  ]);
  expect(snap.ports[1]!.queues[1]!.rxLcore).toBeNull();
  expect(snap.lcores.map((l) => [l.name, l.cpu, l.rxPackets, l.txPackets])).toEqual([
    ['1', 1, 2000, 990],
    ['2', 3, 500, 500],
  ]);
  expect(snap.pipelines).toEqual([{ name: 'filter', inPackets: 1500, outPackets: 990, dropped: 10, generated: 0, probesLost: 2, probesReordered: 1, paceMissed: 0,
    // 101 latencies (90 × 1000 ns, 10 × 5000 ns, 1 × 300 ns) and 4 probe round trips, read as bucket middles within [min, max].
    latency: { count: 101, minNs: 300, p50Ns: 1007, p90Ns: 1007, p99Ns: 4991, p999Ns: 4991, maxNs: 5000 },
    probes: { count: 4, minNs: 20000, p50Ns: 20991, p90Ns: 88063, p99Ns: 88063, p999Ns: 88063, maxNs: 90000 },
    rules: [{ name: 'no-dns', matched: 7 }], routes: [], acls: [{ name: 'fw', unmatched: 3, aclRules: [{ name: 'ssh', hits: 7 }, { name: 'rest', hits: 0 }] }] }]);
  expect([snap.generation, snap.mempool, snap.failed, snap.failure]).toEqual([3, { capacity: 8191, available: 8000, inUse: 191, drySamples: 2 }, true, 'worker lcore 2 (worker 1) panicked: a test']);

  expect(reader.samplesWritten).toBe(2);
  expect(reader.sample(0)!.ports).toEqual([
    { rxPackets: 1000, txPackets: 500, dropped: 3 },
    { rxPackets: 500, txPackets: 990, dropped: 10 },
  ]);
  // Each lcore has its own ring: lcore 1 received 1000 (wan) and sent 990 (lan, 10 dropped).
  expect(reader.sample(0)!.lcores).toEqual([
    { name: '1', rxPackets: 1000, txPackets: 990, dropped: 10 },
    { name: '2', rxPackets: 500, txPackets: 500, dropped: 3 },
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
      { va: '0x100200000', iova: '0x90000000', bytes: mib2, segments: 1, socket: -1 },
    ],
    runsTotal: 2,
    largestRun: mib2,
  });
});

it('finds the bucket of a value as the Rust writer does (every bucket boundary, and past the last)', () => {
  const n = segmentLayout.HISTOGRAM_BUCKETS;
  for (let i = 0; i < n; i++) {
    expect(bucketOf(bucketLow(i), n)).toBe(i);
    expect(bucketOf(bucketHigh(i) - 1, n)).toBe(i);
  }
  expect(bucketHigh(n - 1)).toBe(2 ** 32);
  expect(bucketOf(2 ** 40, n)).toBe(n - 1);
});

it("reads one worker's histogram in two short walks exactly as merging every bucket does", () => {
  const { HISTOGRAM_BUCKETS: n, HISTOGRAM_HEADER: header } = segmentLayout;
  const stride = (header + n) * 8;
  let seed = 15;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
  for (let trial = 0; trial < 200; trial++) {
    const words = new Uint32Array(stride / 4);
    const put = (word: number, v: number) => ((words[2 * word] = v % 2 ** 32), (words[2 * word + 1] = Math.floor(v / 2 ** 32)));
    const values = Array.from({ length: 1 + Math.floor(random() * 3000) }, () => Math.floor(random() ** (1 + trial % 7) * 10 ** (1 + (trial % 9))));
    const buckets = new Array<number>(n).fill(0);
    for (const v of values) buckets[bucketOf(v, n)]! += 1;
    buckets.forEach((c, b) => put(header + b, c));
    put(0, values.length);
    put(2, Math.min(...values));
    put(3, Math.max(...values));
    const merged = mergeHistogram(words, 0, 1, stride, stride);
    const want = [500, 900, 990, 999].map((q) => percentile(merged.buckets, values.length, q, merged.min!, merged.max!));
    const got = histogramSummary(words, 0, 1, stride, stride);
    expect([got.count, got.minNs, got.p50Ns, got.p90Ns, got.p99Ns, got.p999Ns, got.maxNs]).toEqual([values.length, merged.min, ...want, merged.max]);
  }
});
