/** A count-limited generator into a pcap file: the frames it made, flow by flow. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { readPcap, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('generator');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('makes exactly `count` UDP frames over `flows` flows', async () => {
  const engine = await Engine.start({
    ports: { out: { pcap: { tx: join(dir, 'gen.pcap') } } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [{ name: 'make', generator: { count: 100, flows: 4, packetSize: 128, dstMac: '02:00:00:00:00:aa', srcIp: '198.18.0.1', dstIp: '198.19.0.9' }, output: 'out' }],
  });
  expect(await waitFor(() => engine.stats().pipelines[0]!.generated === 100)).toBe(true);
  const last = await engine.stop();
  expect(last.pipelines[0]!.generated).toBe(100);

  const frames = readPcap(join(dir, 'gen.pcap'));
  expect(frames).toHaveLength(100);
  const flows = new Set<string>();
  for (const f of frames) {
    expect(f).toHaveLength(128);
    expect(f.subarray(0, 6)).toEqual(Buffer.from([2, 0, 0, 0, 0, 0xaa]));
    expect(f.readUInt16BE(12)).toBe(0x0800);
    expect(f[14 + 9]).toBe(17);
    expect([...f.subarray(30, 34)]).toEqual([198, 19, 0, 9]);
    // The IPv4 header sums to 0xffff when its checksum is right.
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
    flows.add(`${f.subarray(26, 30).join('.')}:${f.readUInt16BE(34)}`);
  }
  expect(flows.size).toBe(4);
});
