/**
 * pcap → pipeline → pcap, byte for byte: frames the test builds go through match stages
 * (drop a prefix, count web traffic, mirror UDP) and a 5-tuple swap; the output file must
 * be exactly the frames the test predicts, and the mirror file the copies.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { fiveTupleSwapped, frame, readPcap, scratchDir, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('pipeline');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('filters, counts, mirrors and swaps exactly as predicted', async () => {
  const frames = [
    frame({ ip: { v: 4, src: '192.168.1.10', dst: '10.1.0.5', proto: 17, sport: 5000, dport: 53 } }), // dropped: 10.1/16
    frame({ ip: { v: 4, src: '192.168.1.10', dst: '10.2.0.1', proto: 6, sport: 40000, dport: 80 } }), // counted as web
    frame({ ip: { v: 4, src: '192.168.1.11', dst: '10.2.0.1', proto: 17, sport: 5001, dport: 53 } }), // mirrored
    frame({ vlan: 100, ip: { v: 4, src: '192.168.1.12', dst: '10.1.200.1', proto: 17, sport: 1, dport: 2 } }), // dropped through a VLAN tag
    frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8::2', proto: 17, sport: 7, dport: 9 } }), // mirrored
    frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8::80', proto: 6, sport: 1234, dport: 8080 } }), // web range
    frame({ vlan: 7, ip: { v: 4, src: '172.16.0.1', dst: '172.16.0.2', proto: 1 } }), // ICMP: only swapped
  ];
  const input = Array.from({ length: 40 }, (_, i) => frames[i % frames.length]!);
  const dropped = (i: number) => i % frames.length === 0 || i % frames.length === 3;
  const udp = (i: number) => [2, 4].includes(i % frames.length);
  const web = (i: number) => [1, 5].includes(i % frames.length);
  writePcap(join(dir, 'in.pcap'), input);

  const engine = await Engine.start({
    ports: {
      in: { pcap: { rx: join(dir, 'in.pcap') } },
      out: { pcap: { tx: join(dir, 'out.pcap') } },
      mirror: { pcap: { tx: join(dir, 'mirror.pcap') } },
    },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [
      {
        name: 'filter',
        input: 'in',
        stages: [
          { kind: 'match', name: 'drop-10.1', match: { dst: '10.1.0.0/16' }, action: 'drop' },
          { kind: 'match', name: 'web', match: { proto: 'tcp', dstPort: [80, 8080] }, action: 'count' },
          { kind: 'match', name: 'copy-udp', match: { proto: 'udp' }, action: { mirror: 'mirror' } },
          'fiveTupleSwap',
        ],
        output: 'out',
      },
    ],
  });
  expect(await waitFor(() => engine.stats().pipelines[0]!.inPackets === input.length)).toBe(true);
  const last = await engine.stop();

  const expected = input.filter((_, i) => !dropped(i)).map(fiveTupleSwapped);
  expect(readPcap(join(dir, 'out.pcap'))).toEqual(expected);
  expect(readPcap(join(dir, 'mirror.pcap'))).toEqual(input.filter((_, i) => udp(i)));
  const filter = last.pipelines[0]!;
  const count = (pred: (i: number) => boolean) => input.filter((_, i) => pred(i)).length;
  expect(filter.rules).toEqual([
    { name: 'drop-10.1', matched: count(dropped) },
    { name: 'web', matched: count(web) },
    { name: 'copy-udp', matched: count(udp) },
  ]);
  expect([filter.inPackets, filter.dropped, filter.outPackets]).toEqual([input.length, count(dropped), expected.length + count(udp)]);
});

