/**
 * Live capture (issue 15, item 1) on real vdevs, in the engine's process and from others:
 *
 * - A pcap of mixed traffic (IPv4 and IPv6, UDP and TCP, VLAN-tagged, ARP) replayed through a
 *   pipeline (net_pcap reading a FIFO the test feeds once the capture runs) while capturing at
 *   its input with a tcpdump filter: the capture holds exactly the frames libpcap's own
 *   filtering of the same file keeps (`tcpdump -r in.pcap -w ref.pcap EXPR`), byte for byte
 *   and in order, as tcpdump reads the pcapng back; tshark and capinfos read its interface
 *   blocks (the ports' names, MACs) and its comment (pipeline, point, filter).
 * - Two captures at once on generated traffic (a pipeline's input and its output, each with
 *   its own filter) see their own packets only, on their own interfaces and directions.
 * - `fastpath capture -w - | tshark -r -` and `captured N, dropped M` on stderr.
 * - A `fastpath capture` killed with -9 leaves no ring in /dev/shm, and the engine forwards on.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { Engine, FastpathError, type EngineConfig } from '@fastpath/control';

import { frame, readPcap, repoRoot, scratchDir, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('capture');
const name = `capture-${process.pid}`;
const fifo = join(dir, 'in.fifo');
const inPcap = join(dir, 'in.pcap');
const FILTER = 'udp and (dst port 53 or src portrange 5000-5002) or (vlan and tcp) or ip6 proto 6';

/** 160 frames of every kind the filter must tell apart. */
function mixedFrames(): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    frames.push(
      frame({ ip: { v: 4, src: `192.168.1.${i}`, dst: '10.0.0.53', proto: 17, sport: 40000 + i, dport: 53 }, payload: i }),
      frame({ ip: { v: 4, src: '192.168.1.1', dst: '10.0.0.1', proto: 17, sport: 4998 + (i % 6), dport: 9 } }),
      frame({ ip: { v: 4, src: '192.168.1.1', dst: '10.0.0.1', proto: 6, sport: 1000 + i, dport: 53 } }),
      frame({ vlan: 100 + i, ip: { v: 4, src: '172.16.0.1', dst: '172.16.0.2', proto: 6, sport: 80, dport: 1000 + i } }),
      frame({ vlan: 7, ip: { v: 4, src: '172.16.0.1', dst: '172.16.0.2', proto: 17, sport: 80, dport: 53 } }),
      frame({ ip: { v: 6, src: '2001:db8::1', dst: `2001:db8::${i + 1}`, proto: 6, sport: 443, dport: 2000 + i }, payload: 100 + i }),
      frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8::2', proto: 17, sport: 7, dport: 9 } }),
      arp(i),
    );
  }
  return frames;
}

function arp(i: number): Buffer {
  const f = Buffer.alloc(60);
  f.fill(0xff, 0, 6);
  Buffer.from([2, 0, 0, 0, 0, i]).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]).copy(f, 14);
  return f;
}

const config: EngineConfig = {
  ports: {
    in: { pcap: { rx: fifo } },
    seen: { pcap: { tx: join(dir, 'seen.pcap') } },
    loop: { ring: {} },
    sink: { null: {} },
  },
  lcores: { workers: [1] },
  memory: { hugepages: false, mbufs: 16_383 },
  eal: { filePrefix: name },
  pipelines: [
    { name: 'edge', input: 'in', output: 'seen' },
    { name: 'make', generator: { flows: 64, packetSize: 64, srcIp: '198.18.0.1', dstIp: '198.19.0.1' }, output: 'loop' },
    { name: 'fwd', input: 'loop', stages: [{ kind: 'match', name: 'drop-1050', match: { proto: 'udp', srcPort: 1050 }, action: 'drop' }], output: 'sink' },
  ],
};

/**
 * The test holds the FIFO open read-write (Linux opens a FIFO so without waiting), so that every
 * open for reading (the plan's check, net_pcap's at EAL start) finds a writer and nothing it
 * writes is lost while no reader has it open. Closing it is the file's end.
 */
let feeder: number | undefined;
let engine: Engine;
const frames = mixedFrames();

beforeAll(async () => {
  execFileSync('mkfifo', [fifo]);
  writePcap(inPcap, frames);
  feeder = openSync(fifo, 'r+');
  writeSync(feeder, readFileSync(inPcap).subarray(0, 24));
  engine = await Engine.start(config);
});

afterAll(async () => {
  if (feeder !== undefined) closeSync(feeder);
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Ring files of this engine in /dev/shm. */
const rings = () => readdirSync('/dev/shm').filter((f) => f.startsWith(`fastpath-capture.${name}.`));
/** The frames of a pcapng, as tcpdump reads it and writes it back as pcap. */
function framesOf(pcapng: string): Buffer[] {
  const pcap = `${pcapng}.pcap`;
  execFileSync('tcpdump', ['-Z', 'root', '-r', pcapng, '-w', pcap], { stdio: 'ignore' });
  return readPcap(pcap);
}
const pipelineStats = (p: string) => engine.stats().pipelines.find((s) => s.name === p)!;

it('captures at input exactly the frames the filter matches, byte for byte, as tcpdump -r filters the same pcap', async () => {
  const capture = await engine.capture({ pipeline: 'edge', at: 'input', filter: FILTER });
  expect(rings()).toHaveLength(1);
  const file = join(dir, 'edge.pcapng');
  const written = pipeline(capture, createWriteStream(file));
  writeSync(feeder!, readFileSync(inPcap).subarray(24));
  closeSync(feeder!);
  feeder = undefined;
  expect(await waitFor(() => pipelineStats('edge').inPackets === frames.length)).toBe(true);
  await capture.stop();
  await written;
  const counts = await capture.done;
  expect(rings()).toEqual([]);

  const ref = join(dir, 'ref.pcap');
  execFileSync('tcpdump', ['-Z', 'root', '-r', inPcap, '-w', ref, FILTER], { stdio: 'ignore' });
  const expected = readPcap(ref);
  expect(expected.length).toBeGreaterThan(40);
  expect(expected.length).toBeLessThan(frames.length);
  expect(framesOf(file)).toEqual(expected);
  expect(counts).toEqual({ captured: expected.length, dropped: 0 });

  // tshark reads it: each packet on the `in` port's interface, inbound, with nanosecond stamps.
  const fields = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.len', '-e', 'frame.time_epoch'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  expect(fields).toHaveLength(expected.length);
  const port = engine.info.ports.find((p) => p.name === 'in')!;
  // librte_pcapng names an interface by its DPDK port id.
  expect(new Set(fields.map((f) => f[0]))).toEqual(new Set([`dpdk:${port.id}`]));
  expect(fields.map((f) => Number(f[1]))).toEqual(expected.map((f) => f.length));
  const now = Date.now() / 1000;
  for (const f of fields) expect(Math.abs(Number(f[2]) - now)).toBeLessThan(60);
  const info = execFileSync('capinfos', [file], { encoding: 'utf8' });
  expect(info).toContain('pipeline edge, at input');
  expect(info).toContain(FILTER);
  expect(info).toContain('dpdk:0 in, dpdk:1 seen, dpdk:2 loop, dpdk:3 sink');
  expect(info).toMatch(/Number of interfaces in file: 4/);
  expect(info).toMatch(/Name = dpdk:0\n.*\n\s*Hardware = vdev-net_pcap0\n\s*Speed = \d+/);
  // Each interface block holds its port's MAC (if_MACaddr, option 6), which capinfos does not print.
  const mac = Buffer.from(port.mac.split(':').map((h) => parseInt(h, 16)));
  expect(readFileSync(file).includes(Buffer.concat([Buffer.from([6, 0, 6, 0]), mac]))).toBe(true);
});

it('runs two captures at once, each with its own packets, point and interface', async () => {
  const [a, b] = await Promise.all([
    engine.capture({ pipeline: 'fwd', at: 'input', filter: 'udp src port 1030', count: 50 }),
    engine.capture({ pipeline: 'fwd', at: 'output', filter: 'udp src port 1031', count: 50, snaplen: 40 }),
  ]);
  expect(rings()).toHaveLength(2);
  const [fa, fb] = [join(dir, 'a.pcapng'), join(dir, 'b.pcapng')];
  await Promise.all([pipeline(a, createWriteStream(fa)), pipeline(b, createWriteStream(fb))]);
  expect((await a.done).captured).toBe(50);
  expect((await b.done).captured).toBe(50);
  await waitFor(() => rings().length === 0);
  expect(rings()).toEqual([]);
  const sport = (f: Buffer) => f.readUInt16BE(34);
  const ga = framesOf(fa);
  expect(ga).toHaveLength(50);
  for (const f of ga) expect([sport(f), f.length]).toEqual([1030, 64]);
  const gb = framesOf(fb);
  expect(gb).toHaveLength(50);
  for (const f of gb) expect([sport(f), f.length]).toEqual([1031, 40]);
  const interfaces = (file: string) =>
    new Set(
      execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction', '-e', 'frame.cap_len', '-e', 'frame.len'], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    );
  const id = (p: string) => engine.info.ports.find((x) => x.name === p)!.id;
  // Input: inbound on the port it came in on; output: outbound on the port it leaves by, snapped to 40 of 64 bytes.
  expect(interfaces(fa)).toEqual(new Set([`dpdk:${id('loop')}\t0x00000001\t64\t64`]));
  expect(interfaces(fb)).toEqual(new Set([`dpdk:${id('sink')}\t0x00000002\t40\t64`]));
});

it('runs captures of two pipelines at once, each file naming its own pipeline and point', async () => {
  // The generator's output and the forwarder's input see the same packets on port loop: one
  // leaving, one arriving.
  const [made, taken] = await Promise.all([
    engine.capture({ pipeline: 'make', at: 'output', filter: 'udp src port 1040', count: 30 }),
    engine.capture({ pipeline: 'fwd', at: 'input', filter: 'udp src port 1041', count: 30 }),
  ]);
  expect(rings()).toHaveLength(2);
  const [fm, ft] = [join(dir, 'make.pcapng'), join(dir, 'fwd.pcapng')];
  await Promise.all([pipeline(made, createWriteStream(fm)), pipeline(taken, createWriteStream(ft))]);
  expect((await made.done).captured).toBe(30);
  expect((await taken.done).captured).toBe(30);
  const loop = engine.info.ports.find((x) => x.name === 'loop')!.id;
  const fields = (file: string) => new Set(execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'udp.srcport', '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction'], { encoding: 'utf8' }).trim().split('\n'));
  expect(fields(fm)).toEqual(new Set([`1040\tdpdk:${loop}\t0x00000002`]));
  expect(fields(ft)).toEqual(new Set([`1041\tdpdk:${loop}\t0x00000001`]));
  const comment = (file: string) => execFileSync('capinfos', [file], { encoding: 'utf8' });
  expect(comment(fm)).toMatch(/pipeline make, at output, filter "udp src port 1040"/);
  expect(comment(ft)).toMatch(/pipeline fwd, at input, filter "udp src port 1041"/);
});

it('captures at drops what the stages drop, and those packets never show at output', async () => {
  const drops = await engine.capture({ pipeline: 'fwd', at: 'drops', count: 20 });
  const output = await engine.capture({ pipeline: 'fwd', at: 'output', filter: 'udp src port 1050', durationS: 1 });
  const [fd, fo] = [join(dir, 'drops.pcapng'), join(dir, 'output.pcapng')];
  await Promise.all([pipeline(drops, createWriteStream(fd)), pipeline(output, createWriteStream(fo))]);
  expect((await drops.done).captured).toBe(20);
  expect(await output.done).toEqual({ captured: 0, dropped: 0 });
  for (const f of framesOf(fd)) expect(f.readUInt16BE(34)).toBe(1050);
  expect(framesOf(fo)).toEqual([]);
  // Dropped packets are shown inbound, on the port they came in on.
  const loop = engine.info.ports.find((x) => x.name === 'loop')!.id;
  const seen = execFileSync('tshark', ['-r', fd, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction'], { encoding: 'utf8' });
  expect(new Set(seen.trim().split('\n'))).toEqual(new Set([`dpdk:${loop}\t0x00000001`]));
});

it('writes pcapng to stdout for tshark -r - and says captured N, dropped M', () => {
  const script = `node '${join(repoRoot, 'packages/control/bin/fastpath.js')}' capture ${name} --pipeline fwd --filter 'udp src port 1040' --count 20 -w - | tshark -r - -T fields -e udp.srcport`;
  const run = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim().split('\n')).toEqual(Array(20).fill('1040'));
  expect(run.stderr).toMatch(/^captured 20, dropped \d+$/m);
});

it('refuses a filter libpcap cannot compile and an unknown pipeline, with what to do', async () => {
  const refused = async (options: Parameters<Engine['capture']>[0]) => {
    const error = await engine.capture(options).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FastpathError);
    return error as FastpathError;
  };
  const bad = await refused({ filter: 'udp port nonsense' });
  expect(bad.code).toBe('ERR_CONTROL');
  expect(bad.message).toMatch(/not one libpcap compiles: .*; write it as tcpdump would take it/);
  expect((await refused({ pipeline: 'nope' })).message).toContain('no pipeline is named "nope"; the engine\'s pipelines: edge, make, fwd');
  expect((await refused({ snaplen: 70_000 })).message).toContain('snaplen is 1 to 65535 bytes, not 70000');
  expect(rings()).toEqual([]);
});

it('a capture client killed with -9 leaves no ring behind, and the engine forwards on', async () => {
  const file = join(dir, 'killed.pcapng');
  const child = spawn(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), 'capture', name, '--pipeline', 'fwd', '-w', file], { stdio: 'ignore' });
  expect(await waitFor(() => rings().length === 1 && existsSync(file) && statSync(file).size > 10_000, 20_000)).toBe(true);
  child.kill('SIGKILL');
  expect(await waitFor(() => rings().length === 0, 10_000)).toBe(true);
  expect(await engine.control({ op: 'capture.list' })).toEqual({ captures: [] });
  const before = pipelineStats('fwd').inPackets;
  expect(await waitFor(() => pipelineStats('fwd').inPackets > before + 1000)).toBe(true);
  // What it wrote before it died is a pcapng tshark reads (up to the last whole block).
  const read = spawnSync('tshark', ['-r', file, '-c', '10', '-T', 'fields', '-e', 'ip.src'], { encoding: 'utf8' });
  expect(read.stdout.trim().split('\n')).toEqual(Array(10).fill('198.18.0.1'));
});
