/**
 * The route stage against an independent longest-prefix match: 3000 IPv4 and 1500 IPv6
 * random routes (most nested in others) over 8 next hops on two pcap ports, and 100k frames
 * to random destinations, most near a route. Every frame must leave on the port and with the
 * MAC of the next hop the reference picks, in order, and the rest count as noRoute.
 * (An engine of its own: EAL runs once per process.)
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { frame, readPcap, scratchDir, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('route-lookup');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a seeded PRNG, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const v4Text = (a: bigint) => [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 0xffn)).join('.');
const v6Text = (a: bigint) => Array.from({ length: 8 }, (_, i) => ((a >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');

/**
 * The reference: longest-prefix match by a map per prefix length, longest first. Written
 * apart from the engine's FIBs (and from the route parser): only shifts and a Map.
 */
class Reference {
  readonly #byLength = new Map<number, Map<bigint, number>>();
  constructor(readonly bits: number) {}
  add(prefix: bigint, len: number, hop: number): void {
    const table = this.#byLength.get(len) ?? new Map<bigint, number>();
    table.set(prefix >> BigInt(this.bits - len), hop);
    this.#byLength.set(len, table);
  }
  has(prefix: bigint, len: number): boolean {
    return this.#byLength.get(len)?.has(prefix >> BigInt(this.bits - len)) ?? false;
  }
  lookup(addr: bigint): number | undefined {
    const lengths = [...this.#byLength.keys()].sort((x, y) => y - x);
    for (const len of lengths) {
      const hop = this.#byLength.get(len)!.get(addr >> BigInt(this.bits - len));
      if (hop !== undefined) return hop;
    }
    return undefined;
  }
}

it('agrees with an independent longest-prefix match on 100k random destinations', async () => {
  const random = prng(14);
  const bits = (n: number) => {
    let v = 0n;
    for (let i = 0; i < n; i += 16) v = (v << 16n) | BigInt(Math.floor(random() * 65536));
    return v & ((1n << BigInt(n)) - 1n);
  };
  const hops = Array.from({ length: 8 }, (_, i) => ({ name: `h${i}`, port: i % 2 ? 'b' : 'a', dstMac: `02:00:00:00:01:0${i}` }));
  const families = [
    { v: 4 as const, bits: 32, count: 3000, lengths: [8, 12, 16, 18, 20, 22, 23, 24, 24, 24, 24, 25, 26, 28, 30, 32] },
    { v: 6 as const, bits: 128, count: 1500, lengths: [16, 24, 32, 40, 44, 48, 48, 48, 56, 60, 64, 64, 64, 72, 96, 112, 127, 128] },
  ];
  const routes: { prefix: string; via: string }[] = [];
  const refs = families.map((fam) => {
    const ref = new Reference(fam.bits);
    const prefixes: [bigint, number][] = [];
    while (prefixes.length < fam.count) {
      const len = fam.lengths[Math.floor(random() * fam.lengths.length)]!;
      // Most routes nest inside an earlier one, as real tables do.
      const base = prefixes.length > 0 && random() < 0.6 ? prefixes[Math.floor(random() * prefixes.length)]![0] : bits(fam.bits);
      const prefix = ((base ^ (bits(fam.bits) >> BigInt(Math.floor(random() * fam.bits)))) >> BigInt(fam.bits - len)) << BigInt(fam.bits - len);
      if (ref.has(prefix, len)) continue;
      const hop = Math.floor(random() * hops.length);
      ref.add(prefix, len, hop);
      prefixes.push([prefix, len]);
      routes.push({ prefix: `${fam.v === 4 ? v4Text(prefix) : v6Text(prefix)}/${len}`, via: hops[hop]!.name });
    }
    return { fam, ref, prefixes };
  });

  const n = 100_000;
  const input: Buffer[] = [];
  const expected: Record<'a' | 'b', string[]> = { a: [], b: [] };
  let misses = 0;
  for (let seq = 0; seq < n; seq++) {
    const { fam, ref, prefixes } = refs[seq % 2]!;
    // Near a route (its bits and a few more kept), or anywhere.
    const [p, len] = prefixes[Math.floor(random() * prefixes.length)]!;
    const keep = random() < 0.2 ? 0 : Math.min(fam.bits, len + Math.floor(random() * 8));
    const hostMask = (1n << BigInt(fam.bits - keep)) - 1n;
    const dst = (p & ~hostMask & ((1n << BigInt(fam.bits)) - 1n)) | (bits(fam.bits) & hostMask);
    const text = fam.v === 4 ? v4Text(dst) : v6Text(dst);
    const src = fam.v === 4 ? '10.0.0.1' : '2001:db8::1';
    input.push(frame({ ip: { v: fam.v, src, dst: text, proto: 17, sport: seq & 0xffff, dport: seq >>> 16 } }));
    const hop = ref.lookup(dst);
    if (hop === undefined) misses++;
    else expected[hops[hop]!.port as 'a' | 'b'].push(`${seq} ${hops[hop]!.dstMac}`);
  }
  expect(misses).toBeGreaterThan(1000);
  writePcap(join(dir, 'random.pcap'), input);

  const engine = await Engine.start({
    ports: {
      in: { pcap: { rx: join(dir, 'random.pcap') } },
      a: { pcap: { tx: join(dir, 'random-a.pcap') } },
      b: { pcap: { tx: join(dir, 'random-b.pcap') } },
    },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [
      {
        name: 'lpm',
        input: 'in',
        stages: [{ kind: 'route', name: 'lpm', routes, nextHops: Object.fromEntries(hops.map((h) => [h.name, { port: h.port, dstMac: h.dstMac }])) }],
        output: ['a', 'b'],
      },
    ],
  });
  expect(await waitFor(() => engine.stats().pipelines[0]!.inPackets === n, 60_000)).toBe(true);
  const last = await engine.stop();

  // Which frame (its sequence number, in the L4 ports) went to which next hop (its MAC).
  const seen = (file: string) =>
    readPcap(join(dir, file)).map((f) => {
      const l4 = f.readUInt16BE(12) === 0x0800 ? 34 : 54;
      const seq = f.readUInt16BE(l4) + f.readUInt16BE(l4 + 2) * 65536;
      return `${seq} ${[...f.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    });
  expect(seen('random-a.pcap')).toEqual(expected.a);
  expect(seen('random-b.pcap')).toEqual(expected.b);
  expect(last.pipelines[0]!.routes[0]!.noRoute).toBe(misses);
}, 120_000);
