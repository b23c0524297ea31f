/**
 * The route stage, pcap in, pcaps out: IPv4 and IPv6 frames to routed prefixes on two next
 * hops (a longer prefix inside a shorter one), with TTL 1 and 2, a bad checksum, a bad
 * header length, unrouted destinations and ARP. Each output file must hold exactly the frames
 * a router makes of its inputs (MACs of the next hop, TTL − 1, a checksum recomputed here in
 * full), and the stage's counters must count the rest by reason.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { frame, mac, readPcap, scratchDir, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('route');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const A_MAC = '02:00:00:00:0a:01';
const B_MAC = '02:00:00:00:0b:01';
const B_SRC = '02:00:00:00:0b:fe';

/** The full RFC 1071 checksum, for the expected frames (independent of the engine's update). */
function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Where `f`'s IP header starts (after any VLAN tag) and whether it is IPv4. */
function l3Of(f: Buffer): { l3: number; v4: boolean } {
  const l3 = f.readUInt16BE(12) === 0x8100 ? 18 : 14;
  return { l3, v4: f.readUInt16BE(l3 - 2) === 0x0800 };
}

/** `f` with its TTL / hop limit set to `ttl` (IPv4 checksum made right, or `badSum` off by one). */
function withTtl(f: Buffer, ttl: number, badSum = false): Buffer {
  const out = Buffer.from(f);
  const { l3, v4 } = l3Of(out);
  if (v4) {
    out[l3 + 8] = ttl;
    out.writeUInt16BE(0, l3 + 10);
    out.writeUInt16BE((checksum(out.subarray(l3, l3 + 20)) + (badSum ? 1 : 0)) & 0xffff, l3 + 10);
  } else {
    out[l3 + 7] = ttl;
  }
  return out;
}

/** What a router sends for `f` to a next hop: its MACs, TTL − 1, the IPv4 checksum recomputed. */
function routed(f: Buffer, dst: string, src: string): Buffer {
  const { l3, v4 } = l3Of(f);
  const out = withTtl(f, f[v4 ? l3 + 8 : l3 + 7]! - 1);
  mac(dst).copy(out, 0);
  mac(src).copy(out, 6);
  return out;
}

it('routes by longest prefix, takes one off the TTL and counts what it drops', async () => {
  const v4 = (dst: string) => frame({ ip: { v: 4, src: '10.0.0.1', dst, proto: 17, sport: 1, dport: 2 } });
  const v6 = (dst: string) => frame({ ip: { v: 6, src: '2001:db8::1', dst, proto: 17, sport: 1, dport: 2 } });
  const badIhl = withTtl(v4('198.18.0.9'), 64);
  badIhl[14] = 0x44;
  badIhl.writeUInt16BE(0, 24);
  badIhl.writeUInt16BE(checksum(badIhl.subarray(14, 34)), 24);
  const arp = Buffer.from(v4('198.18.0.1'));
  arp.writeUInt16BE(0x0806, 12);
  type Case = { f: Buffer; to?: 'a' | 'b'; drop?: 'noRoute' | 'ttlExpired' | 'badHeader' | 'notIp' };
  const cases: Case[] = [
    { f: v4('198.18.0.1'), to: 'a' }, // 198.18.0.0/15
    { f: v4('198.19.255.254'), to: 'a' },
    { f: v4('198.18.7.20'), to: 'b' }, // the longer 198.18.7.0/24
    { f: v4('198.18.7.21'), to: 'b' },
    { f: withTtl(v4('198.18.0.2'), 2), to: 'a' }, // TTL 2 → 1: still forwarded
    { f: withTtl(v4('198.18.0.3'), 255), to: 'a' },
    { f: withTtl(v4('198.18.0.4'), 1), drop: 'ttlExpired' },
    { f: withTtl(v4('198.18.0.5'), 0), drop: 'ttlExpired' },
    { f: withTtl(v4('198.18.0.6'), 64, true), drop: 'badHeader' },
    { f: badIhl, drop: 'badHeader' },
    { f: v4('203.0.113.9'), drop: 'noRoute' },
    { f: frame({ vlan: 5, ip: { v: 4, src: '10.0.0.1', dst: '198.18.7.1', proto: 6 } }), to: 'b' },
    { f: v6('2001:db8:1::5'), to: 'b' }, // 2001:db8::/32
    { f: v6('2001:db8:1:2::7'), to: 'a' }, // the longer 2001:db8:1:2::/64
    { f: withTtl(v6('2001:db8:1:2::8'), 2), to: 'a' },
    { f: withTtl(v6('2001:db8::9'), 1), drop: 'ttlExpired' },
    { f: v6('2001:db9::1'), drop: 'noRoute' },
    { f: arp, drop: 'notIp' },
  ];
  const input = Array.from({ length: 90 }, (_, i) => cases[i % cases.length]!);
  writePcap(join(dir, 'in.pcap'), input.map((c) => c.f));

  const engine = await Engine.start({
    ports: {
      in: { pcap: { rx: join(dir, 'in.pcap') } },
      a: { pcap: { tx: join(dir, 'a.pcap') } },
      b: { pcap: { tx: join(dir, 'b.pcap') } },
    },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [
      {
        name: 'router',
        input: 'in',
        stages: [
          {
            kind: 'route',
            name: 'core',
            routes: [
              { prefix: '198.18.0.0/15', via: 'a' },
              { prefix: '198.18.7.0/24', via: 'b' },
              { prefix: '2001:db8::/32', via: 'b' },
              { prefix: '2001:db8:1:2::/64', via: 'a' },
            ],
            nextHops: { a: { port: 'a', dstMac: A_MAC }, b: { port: 'b', dstMac: B_MAC, srcMac: B_SRC } },
          },
        ],
        output: ['a', 'b'],
      },
    ],
  });
  const aPortMac = engine.info.ports.find((p) => p.name === 'a')!.mac;
  expect(await waitFor(() => engine.stats().pipelines[0]!.inPackets === input.length)).toBe(true);
  const last = await engine.stop();

  const expectFor = (hop: 'a' | 'b') =>
    input.filter((c) => c.to === hop).map((c) => (hop === 'a' ? routed(c.f, A_MAC, aPortMac) : routed(c.f, B_MAC, B_SRC)));
  const outA = readPcap(join(dir, 'a.pcap'));
  const outB = readPcap(join(dir, 'b.pcap'));
  expect(outA).toEqual(expectFor('a'));
  expect(outB).toEqual(expectFor('b'));
  // The engine's incrementally patched checksums verify in full.
  for (const f of [...outA, ...outB]) {
    const { l3, v4 } = l3Of(f);
    if (v4) expect(checksum(f.subarray(l3, l3 + 20))).toBe(0);
  }

  const count = (pred: (c: Case) => boolean) => input.filter(pred).length;
  const router = last.pipelines[0]!;
  expect(router.routes).toEqual([
    {
      name: 'core',
      noRoute: count((c) => c.drop === 'noRoute'),
      ttlExpired: count((c) => c.drop === 'ttlExpired'),
      badHeader: count((c) => c.drop === 'badHeader'),
      notIp: count((c) => c.drop === 'notIp'),
      nextHops: [
        { name: 'a', forwarded: count((c) => c.to === 'a') },
        { name: 'b', forwarded: count((c) => c.to === 'b') },
      ],
    },
  ]);
  expect([router.inPackets, router.dropped, router.outPackets]).toEqual([input.length, count((c) => c.drop !== undefined), count((c) => c.to !== undefined)]);
});

it('refuses bad routes with the path of each problem', () => {
  let error: (Error & { code?: string; problems?: string[] }) | undefined;
  try {
    Engine.validate({
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { workers: [1] },
      pipelines: [
        {
          input: 'a',
          stages: [
            {
              kind: 'route',
              routes: [
                { prefix: '198.18.0.1/24', via: 'x' },
                { prefix: '10.0.0.0/8', via: 'nowhere' },
                { prefix: '10.0.0.0/8', via: 'x' },
                { prefix: '10.0.0.0/40', via: 'x' },
              ],
              nextHops: { x: { port: 'c', dstMac: '02:00:00:00:00:01' } },
              default: 'y',
            },
          ],
          output: 'b',
        },
      ],
    });
  } catch (e) {
    error = e as typeof error;
  }
  const at = 'pipelines[0].stages[0]';
  expect(error?.code).toBe('ERR_CONFIG');
  expect(error?.problems).toEqual([
    expect.stringMatching(/^pipelines\[0\]\.stages\[0\]\.nextHops\.x\.port: "c" /),
    `${at}.default: "y" is not a next hop of this stage (nextHops: x); add it to nextHops or fix the name`,
    `${at}.routes[0].prefix: "198.18.0.1/24" has host bits set; write 198.18.0.0/24`,
    `${at}.routes[1].via: "nowhere" is not a next hop of this stage (nextHops: x); add it to nextHops or fix the name`,
    `${at}.routes[2].prefix: 10.0.0.0/8 is routed already by routes[1]; keep one of them`,
    `${at}.routes[3].prefix: "10.0.0.0/40" is not a valid IPv4 prefix`,
  ]);
});
