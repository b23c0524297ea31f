/**
 * Reliability, faults and shutdown, each in a child process of its own (EAL starts once
 * per process): SIGINT/SIGTERM end `fastpath run`, the demo and an example within 2 s with
 * exit code 128 + the signal's number and nothing left in hugetlbfs, /dev/shm or
 * /var/run/dpdk (signals.test.ts sends them at every moment, many at once, through every
 * launcher); after a kill -9 the
 * next start clears what was left and says so (reliability-reclaim.test.ts: of any name); EAL and port failures reject
 * with their code and the process exits normally; a panicking worker is contained.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Engine, type EngineConfig } from '@fastpath/control';

import { leftovers, repoRoot, runCli, scratchDir } from './helpers.js';

const dir = scratchDir('reliability-lifecycle');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = join(repoRoot, 'packages/control/bin/fastpath.js');

function config(prefix: string, extra: Partial<EngineConfig> = {}): string {
  const file = join(dir, `${prefix}.json`);
  const base: EngineConfig = {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    eal: { filePrefix: prefix, logToStderr: false },
    pipelines: [{ input: 'a', output: 'b' }, { input: 'b', output: 'a' }],
  };
  writeFileSync(file, JSON.stringify({ ...base, ...extra }));
  return file;
}

/** Starts `args` under node, waits for the live table, sends `signal`; resolves with the exit and how long it took. */
function runUntilSignal(args: string[], signal: NodeJS.Signals, env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; out: string; pid: number }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sentAt = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no live table within 30 s:\n${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (sentAt === 0 && out.includes('rx Mpps')) {
        sentAt = Date.now();
        clearTimeout(timer);
        child.kill(signal);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code, sig) => resolve({ code, signal: sig, ms: Date.now() - sentAt, out, pid: child.pid! }));
  });
}

describe('shutdown', () => {
  it.each([
    ['fastpath run', 'SIGINT' as const],
    ['fastpath run', 'SIGTERM' as const],
    ['the demo', 'SIGTERM' as const],
    ['examples/generator.ts', 'SIGINT' as const],
  ])('reliability: %s on %s drains, cleans up and exits 128 + the signal within 2 s', async (what, signal) => {
    const prefix = `fp-sig-${signal}-${process.pid}`;
    const args =
      what === 'fastpath run'
        ? [cli, 'run', config(prefix), '--duration', '60']
        : ['--import', 'tsx', what === 'the demo' ? 'examples/l2fwd.ts' : 'examples/generator.ts', '--duration', '60'];
    const r = await runUntilSignal(args, signal);
    expect(r.code, r.out).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(r.ms).toBeLessThan(2000);
    expect(r.out).toMatch(/summary over/);
    expect(leftovers(what === 'fastpath run' ? prefix : `fastpath-${r.pid}`)).toEqual([]);
  });

  it('reliability: after kill -9 the next start of that name clears what was left and says so', async () => {
    const prefix = `fp-kill9-${process.pid}`;
    const file = config(prefix);
    const r = await runUntilSignal([cli, 'run', file, '--duration', '60'], 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const listed = JSON.parse(runCli(['ls', '--json']).stdout) as { name: string; alive: boolean }[];
    expect(listed.find((e) => e.name === prefix)?.alive).toBe(false);
    const again = runCli(['run', file, '--duration', '0.5']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`note: reclaimed what dead engine "${prefix}" \\(pid ${r.pid}\\) left: \\S+/fastpath-stats\\.${prefix}, /var/run/dpdk/${prefix} \\(\\d+ files, [\\d.]+ MiB, \\d+ hugepages?\\)`));
    expect(leftovers(prefix)).toEqual([]);
  });
});

describe('faults', () => {
  it('reliability: bad EAL arguments reject with ERR_EAL_INIT and the process exits normally', () => {
    const prefix = `fp-badarg-${process.pid}`;
    const r = runCli(['run', config(prefix, { eal: { filePrefix: prefix, logToStderr: false, extraArgs: ['--no-such-eal-option'] } }), '--duration', '1']);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_EAL_INIT\]/);
    expect(leftovers(prefix)).toEqual([]);
  });

  it('reliability: a file prefix in use is refused before EAL starts, naming the running engine', async () => {
    const prefix = `fp-inuse-${process.pid}`;
    const engine = await Engine.start(JSON.parse(readFileSync(config(prefix), 'utf8')) as EngineConfig);
    try {
      const r = runCli(['run', config(prefix), '--duration', '1']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`eal.filePrefix: an engine named "${prefix}" is running \\(pid ${process.pid}\\).*\\[ERR_CONFIG\\]`));
    } finally {
      await engine.stop();
    }
  });

  it('reliability: a port that fails to start is named (ERR_PORT)', () => {
    const prefix = `fp-badport-${process.pid}`;
    // A driver the plan knows nothing about, whose probe fails: found out after EAL started.
    const r = runCli(['run', config(prefix, { ports: { a: { null: {} }, b: { vdev: 'net_bonding1,mode=9' } } }), '--duration', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ports\.b: DPDK created no port for "net_bonding1".*\[ERR_PORT\]/);
    expect(leftovers(prefix)).toEqual([]);
  });

  it('reliability: a panicking worker is contained: the run reports it, stops cleanly and exits 1', async () => {
    const prefix = `fp-panic-cli-${process.pid}`;
    const r = runCli(['run', config(prefix), '--duration', '3'], 30_000, { ...process.env, FASTPATH_FAULT_PANIC_LCORE: '1' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/worker lcore 1 \(worker 0\) panicked: fault injected.*\[ERR_LCORE\]/);
    expect(leftovers(prefix)).toEqual([]);
  });
});

describe('mbuf exhaustion', () => {
  it('reliability: a pool that runs dry stalls receiving, is reported, and never hangs the engine', () => {
    // An endless pcap source forwarded into a net_ring port nobody reads: the ring keeps
    // every packet, so a 511-mbuf pool runs dry within a millisecond.
    const pcap = join(dir, 'one.pcap');
    writeFileSync(pcap, Buffer.concat([Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'), Buffer.from('01000000000000004000000040000000', 'hex'), Buffer.alloc(64, 0xab)]));
    const prefix = `fp-dry-${process.pid}`;
    const small = { rxDescriptors: 32, txDescriptors: 32 };
    const file = config(prefix, {
      ports: { src: { pcap: { rx: pcap, infiniteRx: true }, ...small }, sink: { ring: {}, ...small } },
      memory: { hugepages: false, mbufs: 511, mbufCache: 0 },
      pipelines: [{ input: 'src', output: 'sink' }],
    });
    const started = Date.now();
    const r = runCli(['run', file, '--duration', '1', '--json'], 30_000);
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ports: { rxPackets: number }[]; mempool: { drySamples: number } };
    // Fewer packets than the pool holds got through, then the pool stayed dry.
    expect(summary.ports[0]!.rxPackets).toBeGreaterThan(0);
    expect(summary.ports[0]!.rxPackets).toBeLessThan(511);
    expect(summary.mempool.drySamples).toBeGreaterThan(50);
    expect(r.stdout).toMatch(/the packet pool ran dry in \d+ of the 10 ms samples .*raise memory\.mbufs/);
    expect(leftovers(prefix)).toEqual([]);
  });
});
