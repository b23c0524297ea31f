/** Shared helpers for the end-to-end tests: pcap files, the demo as a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function scratchDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `fastpath-${tag}-`));
}

/** Writes a classic little-endian, microsecond pcap of Ethernet frames. */
export function writePcap(path: string, frames: Buffer[]): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.flatMap((frame, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(i, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return [rec, frame];
  });
  writeFileSync(path, Buffer.concat([header, ...records]));
}

/** Reads the frames of a little-endian pcap (micro- or nanosecond). */
export function readPcap(path: string): Buffer[] {
  const data = readFileSync(path);
  const magic = data.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${path}: not a little-endian pcap`);
  const frames: Buffer[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(at + 8);
    frames.push(data.subarray(at + 16, at + 16 + caplen));
    at += 16 + caplen;
  }
  return frames;
}

/** `count` distinct Ethernet frames (experimental ethertype, a sequence number, varied sizes). */
export function testFrames(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const frame = Buffer.alloc(60 + (i % 50));
    Buffer.from([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]).copy(frame, 0);
    frame.writeUInt16BE(0x88b5, 12);
    frame.writeUInt32BE(i, 14);
    return frame;
  });
}

/** Runs a TypeScript script of the repository (path from the root) with `args`. */
export function runScript(script: string, args: string[], timeoutMs = 60_000) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Runs examples/l2fwd.ts with `args`; returns its exit status and output. */
export function runDemo(args: string[], timeoutMs = 60_000) {
  return runScript('examples/l2fwd.ts', args, timeoutMs);
}

/** Runs the `fastpath` CLI (the package's bin) with `args`. */
export function runCli(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    env,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** A `fastpath serve` running in a child process (see {@link startServe}). */
export interface ServeChild {
  /** Where it listens, as it printed it: `http://127.0.0.1:PORT`. */
  url: string;
  child: ChildProcess;
  /** Its stdout and stderr so far. */
  out: () => string;
  err: () => string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts `fastpath serve ARGS` (give `--listen 127.0.0.1:0`) and waits, up to `timeoutMs`,
 * until it prints the URL it serves on. The caller ends it (a signal, then SIGKILL in a
 * `finally`).
 */
export async function startServe(args: string[], timeoutMs = 30_000): Promise<ServeChild> {
  const child = spawn(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), 'serve', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = () => /serving .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  if (!(await waitFor(() => listening() !== undefined, timeoutMs))) {
    child.kill('SIGKILL');
    throw new Error(`fastpath serve ${args.join(' ')} printed no URL within ${timeoutMs} ms:\n${out}${err}`);
  }
  return { url: listening()!, child, out: () => out, err: () => err, exited };
}

// ---------------------------------------------------------------------------------------
// What an engine leaves behind, and the processes that ran it.

/** Where the stats segment may live: every hugetlbfs mount, and /dev/shm. */
export function segmentDirs(): string[] {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[2] === 'hugetlbfs')
    .map((f) => f[1]!);
  return [...new Set([...mounts, '/dev/shm'])];
}

/** Where EAL keeps an engine's runtime directory: /var/run/dpdk as root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk. */
export function ealRuntimeDirs(prefix: string): string[] {
  const bases = ['/var/run/dpdk', process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'dpdk') : '/tmp/dpdk'];
  return bases.map((base) => join(base, prefix));
}

/**
 * What an engine named `prefix` (its EAL file prefix) could leave behind: its stats segment in
 * hugetlbfs or /dev/shm, hugepage files (`rtemap_*`, `<prefix>map_*`: none should ever stay,
 * they are unlinked as soon as mapped), EAL's runtime directory.
 */
export function leftovers(prefix: string): string[] {
  const found: string[] = [];
  for (const d of segmentDirs()) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.startsWith('rtemap_') || f === `fastpath-stats.${prefix}` || f.startsWith(`${prefix}map_`)) found.push(join(d, f));
  }
  for (const d of ealRuntimeDirs(prefix)) if (existsSync(d)) found.push(d);
  return found;
}

/** Free hugepages of every size, as `size: count` (compare two readings with toEqual). */
export function freeHugepages(): Record<string, number> {
  const root = '/sys/kernel/mm/hugepages';
  if (!existsSync(root)) return {};
  return Object.fromEntries(readdirSync(root).map((size) => [size, Number(readFileSync(join(root, size, 'free_hugepages'), 'utf8'))]));
}

/** A process of a group: its pid, parent and command line. */
export interface GroupMember {
  pid: number;
  ppid: number;
  cmdline: string[];
}

/** The processes whose process group is `pgid` (read from /proc; those that end meanwhile are skipped). */
export function groupMembers(pgid: number): GroupMember[] {
  const members: GroupMember[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      members.push({ pid: Number(entry), ppid: Number(ppid), cmdline });
    } catch {
      // Gone between readdir and read.
    }
  }
  return members;
}

/** Polls `ready` every 20 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(ready: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The last non-empty line of `text`. */
export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

// ---------------------------------------------------------------------------------------
// Frames, built field by field so tests can predict the engine's output byte for byte.

export const mac = (text: string) => Buffer.from(text.split(':').map((h) => parseInt(h, 16)));

function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface FrameSpec {
  src?: string;
  dst?: string;
  vlan?: number;
  ip: { v: 4 | 6; src: string; dst: string; proto: number; sport?: number; dport?: number };
  payload?: number;
}

/** Ethernet [+ VLAN] + IPv4/IPv6 + an 8-byte UDP-style L4 header + zero payload. */
export function frame(spec: FrameSpec): Buffer {
  const l4 = Buffer.alloc(8 + (spec.payload ?? 18));
  l4.writeUInt16BE(spec.ip.sport ?? 0, 0);
  l4.writeUInt16BE(spec.ip.dport ?? 0, 2);
  l4.writeUInt16BE(l4.length, 4);
  let ip: Buffer;
  if (spec.ip.v === 4) {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip[8] = 64;
    ip[9] = spec.ip.proto;
    Buffer.from(spec.ip.src.split('.').map(Number)).copy(ip, 12);
    Buffer.from(spec.ip.dst.split('.').map(Number)).copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
  } else {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(l4.length, 4);
    ip[6] = spec.ip.proto;
    ip[7] = 64;
    ipv6Bytes(spec.ip.src).copy(ip, 8);
    ipv6Bytes(spec.ip.dst).copy(ip, 24);
  }
  const tag = spec.vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, spec.vlan >> 8, spec.vlan & 0xff]);
  const ethertype = Buffer.alloc(2);
  ethertype.writeUInt16BE(spec.ip.v === 4 ? 0x0800 : 0x86dd);
  return Buffer.concat([mac(spec.dst ?? '02:00:00:00:00:02'), mac(spec.src ?? '02:00:00:00:00:01'), tag, ethertype, ip, l4]);
}

function ipv6Bytes(text: string): Buffer {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** What the engine's fiveTupleSwap stage makes of `f`: MACs, addresses and L4 ports swapped. */
export function fiveTupleSwapped(f: Buffer): Buffer {
  const out = Buffer.from(f);
  f.copy(out, 0, 6, 12);
  f.copy(out, 6, 0, 6);
  let l3 = 14;
  let ethertype = f.readUInt16BE(12);
  if (ethertype === 0x8100) {
    ethertype = f.readUInt16BE(16);
    l3 = 18;
  }
  const [at, len, l4] = ethertype === 0x0800 ? [l3 + 12, 4, l3 + 20] : ethertype === 0x86dd ? [l3 + 8, 16, l3 + 40] : [0, 0, 0];
  if (len === 0) return out;
  f.copy(out, at, at + len, at + 2 * len);
  f.copy(out, at + len, at, at + len);
  const proto = ethertype === 0x0800 ? f[l3 + 9] : f[l3 + 6];
  if (proto === 6 || proto === 17) {
    f.copy(out, l4, l4 + 2, l4 + 4);
    f.copy(out, l4 + 2, l4, l4 + 2);
  }
  return out;
}
