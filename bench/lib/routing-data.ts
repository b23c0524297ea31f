/**
 * The routing benches' inputs, made once from a fixed seed and kept under
 * target/bench/routing-data/ (ignored by git): route tables in l3fwd's route format, ACL
 * rules in l3fwd's ACL format, and pcaps of traffic to random destinations they cover.
 *
 * - `v4-16`, `v6-16`: l3fwd's 16 built-in routes, 198.18.N.0/24 and 2001:200:0:N::/64,
 *   to ports N % 2 (two ports here).
 * - `v4-1m`: 1,000,000 IPv4 routes, a realistic mix: 88% /24, 11% /16–/23, 1% /25–/32
 *   (each of those needs a second-level group, of which DIR24_8 has 32,767).
 * - `v6-10k`: 10,000 IPv6 routes: 50% /48, 40% /29–/47, 10% /49–/64 (28,049 second-level
 *   groups; see bench/README.md for why not more here).
 * - `acl-10k`: 10,000 IPv4 drop rules (random source prefixes /8–/24, destinations /16–/24,
 *   a destination port, a range or any, TCP, UDP or any) of which 1% cover the traffic's
 *   destinations; the traffic goes to the 16 routes.
 *
 * Traffic: per port a pcap of 8,192 frames (UDP, or TCP for the ACL), each to a random
 * address inside a random route of the table, TTL / hop limit 64, valid IPv4 checksums.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { root } from './forward.js';

/** Bump when what is generated changes: the cache directory is named after it. */
const VERSION = 1;
export const FRAMES_PER_PORT = 8192;
export const DATA_DIR = join(root, 'target/bench/routing-data', `v${VERSION}`);

/** mulberry32: small, fast, and the same numbers on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const u32 = (rand: () => number) => Math.floor(rand() * 4294967296) >>> 0;

/** An IPv4 route: network (host order), length, output port. */
interface Route4 { net: number; len: number; port: number }
/** An IPv6 route of at most /64: the upper 64 bits, length, output port. */
interface Route6 { hi: bigint; len: number; port: number }

const mask4 = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const ip4 = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const mask64 = (len: number) => (len === 0 ? 0n : ((1n << 64n) - 1n) ^ ((1n << BigInt(64 - len)) - 1n));
const ip6hi = (hi: bigint) => [48n, 32n, 16n, 0n].map((s) => ((hi >> s) & 0xffffn).toString(16)).join(':') + '::';

function routes4Builtin(): Route4[] {
  return Array.from({ length: 16 }, (_, n) => ({ net: ((198 << 24) | (18 << 16) | (n << 8)) >>> 0, len: 24, port: n % 2 }));
}
function routes6Builtin(): Route6[] {
  return Array.from({ length: 16 }, (_, n) => ({ hi: (0x2001n << 48n) | (0x200n << 32n) | BigInt(n), len: 64, port: n % 2 }));
}

function routes4Million(): Route4[] {
  const rand = random(4);
  const seen = new Set<number>();
  const out: Route4[] = [];
  while (out.length < 1_000_000) {
    const r = rand();
    const len = r < 0.88 ? 24 : r < 0.99 ? int(rand, 16, 23) : int(rand, 25, 32);
    // Unicast space: 1.0.0.0 – 223.255.255.255.
    const net = ((((int(rand, 1, 223) << 24) | (u32(rand) & 0xffffff)) >>> 0) & mask4(len)) >>> 0;
    const key = net * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ net, len, port: out.length % 2 });
  }
  return out;
}

function routes6(count: number, seed: number): Route6[] {
  const rand = random(seed);
  const seen = new Set<string>();
  const out: Route6[] = [];
  while (out.length < count) {
    const r = rand();
    const len = r < 0.5 ? 48 : r < 0.9 ? int(rand, 29, 47) : int(rand, 49, 64);
    // Global unicast, 2000::/3.
    const raw = (0x2000n << 48n) | ((BigInt(u32(rand)) << 32n) | BigInt(u32(rand))) & ((1n << 61n) - 1n);
    const hi = raw & mask64(len);
    const key = `${hi}/${len}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ hi, len, port: out.length % 2 });
  }
  return out;
}

const routeLines4 = (routes: Route4[]) => routes.map((r) => `R${ip4(r.net)}/${r.len} ${r.port}\n`).join('');
const routeLines6 = (routes: Route6[]) => routes.map((r) => `R${ip6hi(r.hi)}/${r.len} ${r.port}\n`).join('');

// ---------------------------------------------------------------------------------------
// Frames and pcaps.

function checksum(bytes: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** An Ethernet + IPv4 + UDP/TCP frame of 60 bytes (64 on the wire). */
function frame4(src: number, dst: number, proto: number, sport: number, dport: number): Uint8Array {
  const f = new Uint8Array(proto === PROTO_TCP ? 66 : 60);
  const v = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x10, 0x02, 0, 0, 0, 0, 0x20], 0);
  v.setUint16(12, 0x0800);
  const l4 = proto === PROTO_TCP ? 20 : 8;
  f[14] = 0x45;
  v.setUint16(16, f.length - 14);
  f[22] = 64;
  f[23] = proto;
  v.setUint32(26, src);
  v.setUint32(30, dst);
  v.setUint16(24, checksum(f, 14, 34));
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  if (proto === PROTO_TCP) f[46] = 0x50;
  else v.setUint16(38, 8 + f.length - 34 - l4);
  return f;
}

/** An Ethernet + IPv6 + UDP frame of 66 bytes. */
function frame6(dstHi: bigint, dstLo: bigint): Uint8Array {
  const f = new Uint8Array(66);
  const v = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x10, 0x02, 0, 0, 0, 0, 0x20], 0);
  v.setUint16(12, 0x86dd);
  f[14] = 0x60;
  v.setUint16(18, 12);
  f[20] = PROTO_UDP;
  f[21] = 64;
  v.setBigUint64(22, 0x2001_0db8_0000_0001n);
  v.setBigUint64(30, 1n);
  v.setBigUint64(38, dstHi);
  v.setBigUint64(46, dstLo);
  v.setUint16(54, 1024);
  v.setUint16(56, 4791);
  v.setUint16(58, 12);
  v.setUint16(60, 0xffff);
  return f;
}

function pcap(frames: Uint8Array[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts = [head];
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1, 0);
    rec.writeUInt32LE(i, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

function traffic4(routes: Route4[], seed: number): Buffer {
  const rand = random(seed);
  return pcap(Array.from({ length: FRAMES_PER_PORT }, () => {
    const r = routes[int(rand, 0, routes.length - 1)]!;
    const dst = (r.net | (u32(rand) & ~mask4(r.len))) >>> 0;
    return frame4(((10 << 24) | (u32(rand) & 0xffffff)) >>> 0, dst, PROTO_UDP, 1024, 4791);
  }));
}

function traffic6(routes: Route6[], seed: number): Buffer {
  const rand = random(seed);
  return pcap(Array.from({ length: FRAMES_PER_PORT }, () => {
    const r = routes[int(rand, 0, routes.length - 1)]!;
    const hostHi = ((BigInt(u32(rand)) << 32n) | BigInt(u32(rand))) & ~mask64(r.len) & ((1n << 64n) - 1n);
    return frame6(r.hi | hostHi, (BigInt(u32(rand)) << 32n) | BigInt(u32(rand)));
  }));
}

// ---------------------------------------------------------------------------------------
// ACL rules.

const WELL_KNOWN = [22, 25, 53, 80, 110, 123, 143, 443, 993, 3306, 5432, 8080];

function aclRules(): string[] {
  const rand = random(10);
  const drop: string[] = [];
  const trafficNet = (198 << 24) | (18 << 16);
  for (let i = 0; i < 10_000; i++) {
    const covering = i % 100 === 0;
    const slen = covering ? int(rand, 8, 16) : int(rand, 8, 24);
    const src = (u32(rand) & mask4(slen)) >>> 0;
    const dlen = covering ? 24 : int(rand, 16, 24);
    const dst = covering ? (trafficNet | (int(rand, 0, 15) << 8)) >>> 0 : (u32(rand) & mask4(dlen)) >>> 0;
    const k = rand();
    const dport = k < 0.6 ? (() => { const p = WELL_KNOWN[int(rand, 0, WELL_KNOWN.length - 1)]!; return `${p} : ${p}`; })() : k < 0.8 ? `1024 : 65535` : `0 : 65535`;
    const p = rand();
    const proto = p < 0.45 ? '6/0xff' : p < 0.9 ? '17/0xff' : '0/0x0';
    drop.push(`@${ip4(src)}/${slen} ${ip4(dst)}/${dlen} 0 : 65535 ${dport} ${proto}`);
  }
  return drop;
}

function trafficAcl(seed: number): Buffer {
  const rand = random(seed);
  return pcap(Array.from({ length: FRAMES_PER_PORT }, () => {
    const dst = (((198 << 24) | (18 << 16) | (int(rand, 0, 15) << 8) | int(rand, 1, 254)) >>> 0);
    const dport = rand() < 0.5 ? WELL_KNOWN[int(rand, 0, WELL_KNOWN.length - 1)]! : int(rand, 1, 65535);
    return frame4(u32(rand), dst, rand() < 0.5 ? PROTO_TCP : PROTO_UDP, int(rand, 1024, 65535), dport);
  }));
}

// ---------------------------------------------------------------------------------------
// The sets the benches use.

export type Table = 'v4-16' | 'v4-1m' | 'v6-16' | 'v6-10k';

/** Files of one routing set: l3fwd's two route files, Fastpath's one (both), the pcaps per port. */
export interface RouteSet {
  table: Table;
  family: 'ipv4' | 'ipv6';
  /** Routes of the family measured. */
  routes: number;
  l3fwdV4: string;
  l3fwdV6: string;
  fastpath: string;
  pcaps: [string, string];
}

/** The ACL set: l3fwd's rule files (drop rules and its routes as R lines), Fastpath's rules and routes. */
export interface AclSet {
  rules: number;
  l3fwdV4: string;
  l3fwdV6: string;
  fastpathRules: string;
  fastpathRoutes: string;
  pcaps: [string, string];
}

function write(file: string, data: string | Buffer): void {
  if (existsSync(file)) return;
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

/** The files for `table`, made on first use. */
export function routeSet(table: Table): RouteSet {
  mkdirSync(DATA_DIR, { recursive: true });
  const f = (name: string) => join(DATA_DIR, name);
  const v4 = table === 'v4-1m' ? 'v4-1m' : 'v4-16';
  const v6 = table === 'v6-10k' ? 'v6-10k' : 'v6-16';
  const family = table.startsWith('v4') ? 'ipv4' : 'ipv6';
  const need = [f(`${v4}.routes`), f(`${v6}.routes`), f(`${v4}+${v6}.routes`), f(`${table}-0.pcap`), f(`${table}-1.pcap`)];
  if (!need.every(existsSync)) {
    const r4 = v4 === 'v4-1m' ? routes4Million() : routes4Builtin();
    const r6 = v6 === 'v6-10k' ? routes6(10_000, 6) : routes6Builtin();
    const t4 = routeLines4(r4);
    const t6 = routeLines6(r6);
    write(need[0]!, t4);
    write(need[1]!, t6);
    write(need[2]!, t4 + t6);
    for (const port of [0, 1]) write(need[3 + port]!, family === 'ipv4' ? traffic4(r4, 100 + port) : traffic6(r6, 200 + port));
  }
  const routes = { 'v4-16': 16, 'v6-16': 16, 'v4-1m': 1_000_000, 'v6-10k': 10_000 }[table];
  return { table, family, routes, l3fwdV4: need[0]!, l3fwdV6: need[1]!, fastpath: need[2]!, pcaps: [need[3]!, need[4]!] };
}

/** The ACL files, made on first use. */
export function aclSet(): AclSet {
  mkdirSync(DATA_DIR, { recursive: true });
  const f = (name: string) => join(DATA_DIR, name);
  const set: AclSet = {
    rules: 10_000,
    l3fwdV4: f('acl-10k.l3fwd-v4.rules'),
    l3fwdV6: f('acl-10k.l3fwd-v6.rules'),
    fastpathRules: f('acl-10k.rules'),
    fastpathRoutes: f('v4-16+v6-16.routes'),
    pcaps: [f('acl-10k-0.pcap'), f('acl-10k-1.pcap')],
  };
  routeSet('v4-16');
  if (![set.l3fwdV4, set.l3fwdV6, set.fastpathRules, ...set.pcaps].every(existsSync)) {
    const drop = aclRules();
    // l3fwd's ACL mode routes with R lines in the ACL format (first line first: the drop rules win).
    const routes4 = routes4Builtin().map((r) => `R0.0.0.0/0 ${ip4(r.net)}/${r.len} 0 : 65535 0 : 65535 0x0/0x0 ${r.port}`);
    // l3fwd's ACL parser takes IPv6 addresses as eight groups, without `::`.
    const routes6 = routes6Builtin().map((r) => `R0:0:0:0:0:0:0:0/0 ${ip6hi(r.hi).replace('::', ':0:0:0:0')}/${r.len} 0 : 65535 0 : 65535 0x0/0x0 ${r.port}`);
    write(set.l3fwdV4, `${[...drop, ...routes4].join('\n')}\n`);
    write(set.l3fwdV6, `${routes6.join('\n')}\n`);
    write(set.fastpathRules, `${drop.join('\n')}\n`);
    for (const port of [0, 1]) write(set.pcaps[port]!, trafficAcl(300 + port));
  }
  return set;
}
