/**
 * A one-flow generator (its frames finished once, then copied) into a pcap file, through a
 * live change: a generator whose count is made stops being asked for packets, and a new
 * program that raises the count makes it send again.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { readPcap, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('generator-apply');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a one-flow generator sends one finished frame, and makes more when a new program raises its count', async () => {
  const config = (count: number) => ({
    ports: { out: { pcap: { tx: join(dir, 'one-flow.pcap') } } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [{ name: 'make', generator: { count, packetSize: 96, srcIp: '198.18.0.7', dstIp: '198.19.0.9', srcPort: 4000, dstPort: 53 }, output: 'out' }],
  });
  const engine = await Engine.start(config(50));
  expect(await waitFor(() => engine.stats().pipelines[0]!.generated === 50)).toBe(true);
  // Spent: the worker stops asking it; the new program's higher count lists it again.
  await engine.apply(config(120));
  expect(await waitFor(() => engine.stats().pipelines[0]!.generated === 120)).toBe(true);
  const last = await engine.stop();
  expect(last.pipelines[0]!.generated).toBe(120);

  const frames = readPcap(join(dir, 'one-flow.pcap'));
  expect(frames).toHaveLength(120);
  const first = frames[0]!;
  expect([...first.subarray(26, 34)]).toEqual([198, 18, 0, 7, 198, 19, 0, 9]);
  expect([first.readUInt16BE(34), first.readUInt16BE(36)]).toEqual([4000, 53]);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += first.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  expect(sum).toBe(0xffff);
  // UDP: the pseudo-header and the datagram sum to 0xffff too.
  let udp = first.readUInt16BE(26) + first.readUInt16BE(28) + first.readUInt16BE(30) + first.readUInt16BE(32) + 17 + (first.length - 34);
  for (let i = 34; i < first.length; i += 2) udp += first.readUInt16BE(i);
  while (udp > 0xffff) udp = (udp & 0xffff) + (udp >>> 16);
  expect(udp).toBe(0xffff);
  for (const f of frames) expect(f).toEqual(first);
});
