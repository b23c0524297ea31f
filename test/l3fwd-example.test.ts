/**
 * examples/l3fwd.ts on a pcap of IPv4 and IPv6 traffic with an l3fwd route file: every frame a
 * route covers leaves on that route's port, in order, as l3fwd (LPM mode) sends it: destination
 * MAC per port (--eth-dest, or 02:00:00:00:00:<port>), source MAC the port's own, TTL / hop
 * limit − 1, a valid IPv4 checksum, nothing else changed; the rest is counted in the --json
 * line (noRoute, ttlExpired, badHeader).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { frame, lastLine, readPcap, runScript, scratchDir, writePcap } from './helpers.js';

const dir = scratchDir('l3fwd');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum; // 0xffff for a valid header
}

it('routes a pcap as l3fwd does: the route’s port, its MACs, TTL − 1, a valid checksum', () => {
  const routed: { f: Buffer; port: 0 | 1 }[] = [];
  const input: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const kind = i % 6;
    let f: Buffer;
    if (kind === 0 || kind === 1) {
      f = frame({ ip: { v: 4, src: '10.0.0.1', dst: `198.18.${kind}.${i % 250}`, proto: 17, sport: i, dport: 53 } });
      routed.push({ f, port: kind as 0 | 1 });
    } else if (kind === 2) {
      f = frame({ ip: { v: 6, src: '2001:db8::1', dst: `2001:db8:1::${i.toString(16)}`, proto: 17, sport: i, dport: 53 } });
      routed.push({ f, port: 1 });
    } else if (kind === 3) {
      f = frame({ ip: { v: 4, src: '10.0.0.1', dst: '203.0.113.5', proto: 6, sport: i, dport: 80 } }); // no route
    } else if (kind === 4) {
      f = frame({ ip: { v: 4, src: '10.0.0.1', dst: '198.18.0.9', proto: 17, sport: i, dport: 53 } });
      f[22] = 1; // TTL 1: expires here
      f.writeUInt16BE(0, 24);
      f.writeUInt16BE(~(ipv4Checksum(f.subarray(14, 34)) & 0xffff) & 0xffff, 24);
    } else {
      f = frame({ ip: { v: 4, src: '10.0.0.1', dst: '198.18.1.9', proto: 17, sport: i, dport: 53 } });
      f[25] = f[25]! ^ 0x5a; // a wrong checksum
    }
    input.push(f);
  }
  writePcap(join(dir, 'in.pcap'), input);
  writePcap(join(dir, 'empty.pcap'), []);
  writeFileSync(join(dir, 'routes.cfg'), '# l3fwd route file\nR198.18.0.0/24 0\nR198.18.1.0/24 1\nR2001:db8:1::/48 1\n');

  const run = runScript('examples/l3fwd.ts', [
    '--routes', join(dir, 'routes.cfg'),
    '--eth-dest', '1,02:aa:bb:cc:dd:ee',
    '--vdev', `net_pcap0,rx_pcap=${join(dir, 'in.pcap')},tx_pcap=${join(dir, 'out0.pcap')}`,
    '--vdev', `net_pcap1,rx_pcap=${join(dir, 'empty.pcap')},tx_pcap=${join(dir, 'out1.pcap')}`,
    '--duration', '2', '--json',
  ]);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('route table lpm: 2 IPv4 and 1 IPv6 routes');
  const summary = JSON.parse(lastLine(run.stdout)) as { routes: Record<string, number>; ports: { name: string; rxPackets: number }[] };
  expect(summary.routes).toEqual({ forwarded: 150, noRoute: 50, ttlExpired: 50, badHeader: 50, notIp: 0 });
  expect(summary.ports[0]!.rxPackets).toBe(300);

  const out = [readPcap(join(dir, 'out0.pcap')), readPcap(join(dir, 'out1.pcap'))];
  for (const port of [0, 1] as const) {
    const want = routed.filter((r) => r.port === port).map((r) => r.f);
    const got = out[port]!;
    expect(got.length, `port ${port}`).toBe(want.length);
    const srcMacs = new Set(got.map((f) => hex(f.subarray(6, 12))));
    expect(srcMacs.size, 'one source MAC per port: its own').toBe(1);
    got.forEach((f, i) => {
      const sent = want[i]!;
      expect(hex(f.subarray(0, 6))).toBe(port === 0 ? '02:00:00:00:00:00' : '02:aa:bb:cc:dd:ee');
      expect(hex(f.subarray(6, 12))).not.toBe(hex(sent.subarray(6, 12)));
      const expected = Buffer.from(sent);
      f.copy(expected, 0, 0, 12); // the MACs, checked above
      if (f.readUInt16BE(12) === 0x0800) {
        expect(f[22]).toBe(63);
        expect(ipv4Checksum(f.subarray(14, 34)), 'a valid IPv4 checksum').toBe(0xffff);
        expected[22] = 63;
        f.copy(expected, 24, 24, 26);
      } else {
        expect(f[21]).toBe(63); // hop limit
        expected[21] = 63;
      }
      expect(hex(f), `frame ${i} on port ${port}: only MACs, TTL and checksum change`).toBe(hex(expected));
    });
  }
  expect(new Set(out[0]!.map((f) => hex(f.subarray(6, 12))))).not.toEqual(new Set(out[1]!.map((f) => hex(f.subarray(6, 12)))));
}, 60_000);
