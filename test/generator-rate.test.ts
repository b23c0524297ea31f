/**
 * A paced generator (issue 15): IMIX at 50,000 packets per second into a pcap file. The size
 * mix is counted frame by frame (exactly 7:4:1 of 12,000), the address and port ranges are
 * stepped through, and the achieved rate is printed from the pcap's timestamps; the only
 * timing asserted is what cannot flake: a pacer can be late, never early.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { runCli, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('generator-rate');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The frames of a little-endian pcap with their timestamps (micro- or nanosecond). */
function timedFrames(path: string): { data: Buffer; timeNs: number }[] {
  const data = readFileSync(path);
  const magic = data.readUInt32LE(0);
  const unit = magic === 0xa1b23c4d ? 1 : magic === 0xa1b2c3d4 ? 1000 : 0;
  if (unit === 0) throw new Error(`${path}: not a little-endian pcap`);
  const frames: { data: Buffer; timeNs: number }[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(at + 8);
    frames.push({ data: data.subarray(at + 16, at + 16 + caplen), timeNs: data.readUInt32LE(at) * 1e9 + data.readUInt32LE(at + 4) * unit });
    at += 16 + caplen;
  }
  return frames;
}

it('makes the IMIX mix exactly and never runs ahead of its rate', async () => {
  const count = 12_000;
  const pps = 50_000;
  const engine = await Engine.start({
    ports: { out: { pcap: { tx: join(dir, 'imix.pcap') } } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [{ name: 'imix', generator: { sizes: 'imix', count, rate: { pps }, srcIp: '10.0.0.1-10.0.0.100', dstPort: '1000-1999' }, output: 'out' }],
  });
  expect(await waitFor(() => engine.stats().pipelines[0]!.generated === count)).toBe(true);
  const s = await engine.stop();
  const frames = timedFrames(join(dir, 'imix.pcap'));
  const sizes = new Map<number, number>();
  for (const f of frames) sizes.set(f.data.length, (sizes.get(f.data.length) ?? 0) + 1);
  // 7:4:1 of 64/570/1518-byte frames on the wire: 60/566/1514 bytes without the FCS.
  expect(Object.fromEntries(sizes)).toEqual({ 60: 7000, 566: 4000, 1514: 1000 });
  // 100 source addresses and 1000 destination ports, each stepped through in turn.
  expect(new Set(frames.map((f) => f.data.readUInt32BE(26))).size).toBe(100);
  expect(new Set(frames.map((f) => f.data.readUInt16BE(36))).size).toBe(1000);
  const seconds = (frames.at(-1)!.timeNs - frames[0]!.timeNs) / 1e9;
  const rate = (frames.length - 1) / seconds;
  console.log(`imix at ${pps} pps: ${frames.length} frames in ${seconds.toFixed(4)} s = ${rate.toFixed(0)} pps (${((100 * (rate - pps)) / pps).toFixed(2)} %), paceMissed ${s.pipelines[0]!.paceMissed}`);
  // The pacer makes a packet only once it is due, so the run lasts at least as long as the
  // rate says, less the one burst it may make at once (and pcap's microsecond timestamps).
  expect(seconds).toBeGreaterThanOrEqual((count - 1 - 32) / pps - 2e-6);
});

it('says so when the worker cannot keep up with the rate: the run summary names the shortfall and what to do', () => {
  // A billion packets a second of 1518-byte frames into a null port: no core makes that.
  const file = join(dir, 'too-fast.json');
  const name = `fp-too-fast-${process.pid}`;
  writeFileSync(
    file,
    JSON.stringify({
      ports: { out: { null: {} } },
      lcores: { workers: [1] },
      memory: { hugepages: false },
      eal: { filePrefix: name },
      pipelines: [{ name: 'flood', generator: { sizes: 1518, rate: { pps: 1e9 } }, output: 'out' }],
    }),
  );
  const run = runCli(['run', file, '--duration', '1']);
  expect(run.status, run.stderr).toBe(0);
  const shortfall = /pipeline flood: its generator fell (\d+) packets short of its rate: the worker could not keep up/.exec(run.stdout);
  expect(shortfall, run.stdout).not.toBeNull();
  // Made plus missed is what a second at the rate asked for, give or take the run's edges.
  const made = Number(/pipeline flood: in \d+, out \d+, dropped \d+, generated (\d+)/.exec(run.stdout)?.[1]);
  expect(made + Number(shortfall![1])).toBeGreaterThan(0.5e9);
});
