/** Shared helpers for the end-to-end tests: pcap files, the demo as a child process. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Runs examples/l2fwd.ts with `args`; returns its exit status and output. */
export function runDemo(args: string[], timeoutMs = 60_000) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/l2fwd.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** The last non-empty line of `text`. */
export function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}
