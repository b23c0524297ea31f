/**
 * What one port receives, the other sends: net_pcap ports read frames from a file the test
 * writes, the engine forwards them, and the other port's output file must hold the same
 * bytes in the same order, with the counters agreeing.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine, StatsReader } from '@fastpath/control';

import { readPcap, scratchDir, testFrames, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('pcap');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('forwards every frame from net_pcap0 out of net_pcap1, byte for byte', async () => {
  const frames = testFrames(500);
  writePcap(join(dir, 'in.pcap'), frames);
  writePcap(join(dir, 'empty.pcap'), []);
  const engine = await Engine.start({
    ports: {
      p0: { pcap: { rx: `${dir}/in.pcap`, tx: `${dir}/out0.pcap` } },
      p1: { pcap: { rx: `${dir}/empty.pcap`, tx: `${dir}/out1.pcap` } },
    },
    lcores: { workers: [1] },
    memory: { hugepages: false, mbufs: 8191, mbufCache: 128 },
    pipelines: [
      { input: 'p0', output: 'p1' },
      { input: 'p1', output: 'p0' },
    ],
  });
  const deadline = Date.now() + 10_000;
  while (engine.stats().ports[1]!.txPackets < frames.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // The segment carries the driver's per-queue counts, bytes included (net_pcap counts them).
  const reader = StatsReader.open(engine.info.statsPath);
  const bytes = frames.reduce((sum, f) => sum + f.length, 0);
  expect(await waitFor(() => reader.snapshot().ports[1]!.queues[0]!.txPackets === frames.length)).toBe(true);
  const [q0, q1] = reader.snapshot().ports.map((p) => p.queues[0]!);
  expect([q0!.rxPackets, q0!.rxBytes, q1!.txPackets, q1!.txBytes]).toEqual([frames.length, bytes, frames.length, bytes]);
  const last = await engine.stop();

  expect(last.ports.map((p) => [p.rxPackets, p.txPackets, p.txDropped])).toEqual([
    [frames.length, 0, 0],
    [0, frames.length, 0],
  ]);
  expect(last.ports[0]!.rxBytes).toBe(frames.reduce((sum, f) => sum + f.length, 0));
  expect(last.ports[1]!.txBytes).toBe(last.ports[0]!.rxBytes);
  expect(readPcap(join(dir, 'out1.pcap'))).toEqual(frames);
  expect(readPcap(join(dir, 'out0.pcap'))).toEqual([]);
});
