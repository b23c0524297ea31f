/**
 * Reliability, bad input: whatever a config or a stats segment holds, the answer is a clear
 * error with a stable code (ERR_CONFIG, ERR_STATS), never a crash, a panic (ERR_INTERNAL)
 * or an out-of-bounds read (a RangeError from the segment's DataView).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, native, StatsReader, type EngineConfig } from '@fastpath/control';
import { encodeConfig, SCHEMA_VERSION, segmentLayout } from '@fastpath/types';

import { repoRoot, scratchDir } from './helpers.js';

const dir = scratchDir('reliability-input');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good: EngineConfig = {
  ports: { a: { null: {} }, b: { pcap: { rx: '/tmp/in.pcap', tx: '/tmp/out.pcap' } }, c: { afPacket: { iface: 'veth0' } } },
  lcores: { workers: [1] },
  memory: { hugepages: false, mbufs: 8191 },
  pipelines: [
    { name: 'p', input: 'a', stages: [{ kind: 'match', name: 'dns', match: { proto: 'udp', dstPort: 53 }, action: 'drop' }, 'macSwap'], output: 'b' },
  ],
};

/** Runs native `f`; passes when it returns, or throws an error with one of `codes`. */
function onlyCodes(codes: string[], f: () => unknown): void {
  try {
    f();
  } catch (thrown) {
    const error = FastpathError.fromNative(thrown);
    expect(codes).toContain(error.code);
    expect(error.message.length).toBeGreaterThan(10);
  }
}

/** A config with the value at a random path replaced by an arbitrary one (or removed). */
const mutated = fc
  .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.oneof(fc.jsonValue(), fc.constant(undefined)))
  .map(([picks, value]) => {
    const copy = structuredClone(good) as unknown as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (let depth = 0; depth < picks.length; depth++) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = keys[picks[depth]! % keys.length]!;
      const child = node[key];
      if (depth === picks.length - 1 || child === null || typeof child !== 'object') {
        if (value === undefined) delete node[key];
        else node[key] = value;
        break;
      }
      node = child as Record<string, unknown>;
    }
    return copy;
  });

it('reliability: validation answers any value with a config or ERR_CONFIG and its paths', () => {
  fc.assert(
    fc.property(fc.oneof(fc.anything(), mutated), (input) => {
      try {
        Engine.validate(input);
      } catch (error) {
        expect(error).toBeInstanceOf(FastpathError);
        expect((error as FastpathError).code).toBe(ErrorCode.Config);
        for (const problem of (error as FastpathError).problems) expect(problem).toMatch(/^(\S+: )?\S/);
      }
    }),
    { numRuns: 2000 },
  );
});

it('reliability: the engine\'s decoder and planner refuse what validation lets through, or plan it, never panic', () => {
  fc.assert(
    fc.property(mutated, (input) => {
      let bytes: Uint8Array;
      try {
        bytes = encodeConfig(input as EngineConfig);
      } catch {
        return; // refused by validation: covered above
      }
      onlyCodes([ErrorCode.Config, ErrorCode.NoHugepages], () => native().checkConfig(Buffer.from(bytes)));
    }),
    { numRuns: 500 },
  );
});

it('reliability: arbitrary bytes to the engine\'s msgpack decoder give ERR_CONFIG', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      try {
        native().checkConfig(Buffer.from(bytes));
        throw new Error('random bytes were accepted as a config');
      } catch (error) {
        expect(FastpathError.fromNative(error).code).toBe(ErrorCode.Config);
      }
    }),
    { numRuns: 1000 },
  );
});

it('reliability: file paths and interface names that would bend a vdev spec are refused', () => {
  const bad = [
    { b: { pcap: { rx: 'in.pcap,iface=eth0' } } },
    { b: { pcap: { tx: 'out.pcap\nx' } } },
    { c: { afPacket: { iface: 'eth0,qpairs=64' } } },
    { c: { afPacket: { iface: 'a-name-longer-than-15' } } },
    { c: { tap: { iface: '../x' } } },
  ];
  for (const ports of bad) {
    const config = { ...good, ports: { ...good.ports, ...ports } } as unknown as EngineConfig;
    expect(() => Engine.validate(config)).toThrow(/cannot be passed to the driver|is not an interface name/);
    // The engine checks the wire too (another client may skip @fastpath/control's checks).
    const wire = { version: SCHEMA_VERSION, config: { ports: config.ports, lcores: { workers: [1] }, memory: { hugepages: false }, pipelines: [] } };
    try {
      native().checkConfig(Buffer.from(new Packr({ useRecords: false }).pack(wire)));
      throw new Error('accepted');
    } catch (error) {
      expect(FastpathError.fromNative(error).message).toMatch(/cannot be passed to the driver|is not an interface name/);
    }
  }
});

it('reliability: corrupted and truncated stats segments give ERR_STATS or a read, never an out-of-bounds read', () => {
  const vector = readFileSync(join(repoRoot, 'test/fixtures/stats-v2.bin'));
  const file = join(dir, 'segment.bin');
  fc.assert(
    fc.property(
      fc.oneof(
        fc.nat({ max: vector.length }).map((len) => Buffer.from(vector.subarray(0, Math.max(1, len)))),
        fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }).map((flips) => {
          const copy = Buffer.from(vector);
          for (const [at, value] of flips) copy[at] = value;
          return copy;
        }),
      ),
      (bytes) => {
        writeFileSync(file, bytes);
        try {
          const reader = StatsReader.open(file);
          reader.snapshot();
          reader.memoryMap();
          reader.recent(4);
          reader.rates(100);
        } catch (error) {
          if (!(error instanceof FastpathError)) throw error;
          expect(error.code).toBe(ErrorCode.Stats);
        }
      },
    ),
    { numRuns: 600 },
  );
});

it('reliability: every directory entry with a count, stride or copy field of 0 or 2^32 - 1 reads or gives ERR_STATS', () => {
  // The property test above found a directory entry of no copies; this walks every entry and
  // every size field through both extremes, every run.
  const vector = readFileSync(join(repoRoot, 'test/fixtures/stats-v2.bin'));
  const file = join(dir, 'extreme.bin');
  const { entry, header } = segmentLayout;
  const directory = vector.readUInt32LE(header.DIRECTORY_OFFSET);
  const entries = vector.readUInt32LE(header.DIRECTORY_COUNT);
  let read = 0;
  for (let i = 0; i < entries; i++) {
    for (const field of [entry.COUNT, entry.STRIDE, entry.COPIES]) {
      for (const value of [0, 0xffffffff]) {
        const copy = Buffer.from(vector);
        copy.writeUInt32LE(value, directory + i * entry.SIZE + field);
        writeFileSync(file, copy);
        try {
          StatsReader.open(file).snapshot();
          read++;
        } catch (error) {
          if (!(error instanceof FastpathError)) throw error;
          expect(error.code).toBe(ErrorCode.Stats);
        }
      }
    }
  }
  // Most such entries are read (the reader bounds what it sums); none throws anything else.
  expect(read).toBeGreaterThan(0);
});

it('reliability: an entry laid out otherwise than the engine lays entries (overlapping names, copies apart) is ERR_STATS', () => {
  const vector = readFileSync(join(repoRoot, 'test/fixtures/stats-v2.bin'));
  const file = join(dir, 'laid-out.bin');
  const { entry, header, Kind, ELEMENT_SIZE } = segmentLayout;
  const directory = vector.readUInt32LE(header.DIRECTORY_OFFSET);
  const tried = { names: 0, copies: 0 };
  for (let i = 0; i < vector.readUInt32LE(header.DIRECTORY_COUNT); i++) {
    const at = directory + i * entry.SIZE;
    const [kind, count, copies] = [vector.readUInt8(at + entry.KIND), vector.readUInt32LE(at + entry.COUNT), vector.readUInt32LE(at + entry.COPIES)];
    const broken: Buffer[] = [];
    if (kind === Kind.Names && count > 1) {
      // Names 8 bytes short of an element: each one's parent index would be the next's name.
      const copy = Buffer.from(vector);
      copy.writeUInt32LE(ELEMENT_SIZE - 8, at + entry.STRIDE);
      broken.push(copy);
      tried.names++;
    }
    if (copies > 1) {
      // Copies 8 bytes further apart than their elements take: each lane would read its neighbour's.
      const copy = Buffer.from(vector);
      copy.writeBigUInt64LE(vector.readBigUInt64LE(at + entry.COPY_STRIDE) + 8n, at + entry.COPY_STRIDE);
      broken.push(copy);
      tried.copies++;
    }
    for (const bytes of broken) {
      writeFileSync(file, bytes);
      expect(() => StatsReader.open(file).snapshot()).toThrow(/is not laid out as the engine lays entries: corrupt/);
    }
  }
  expect(tried.names).toBeGreaterThan(0);
  expect(tried.copies).toBeGreaterThan(0);
});
