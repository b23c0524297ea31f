/**
 * The shared-memory stats segment: read in this process and from another one while the
 * engine forwards, cleaned up on stop, reported stale after kill -9 and replaced by the next
 * engine of that name, and refused with a clear error when corrupt or truncated.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, StatsReader } from '@fastpath/control';
import { segmentLayout } from '@fastpath/types';

import { lastLine, repoRoot, runCli, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('stats');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openError(path: string): FastpathError {
  try {
    StatsReader.open(path);
  } catch (error) {
    expect(error).toBeInstanceOf(FastpathError);
    return error as FastpathError;
  }
  throw new Error(`${path} opened`);
}

describe('stats segment', () => {
  it('shows rising counters to this process and to another one, and goes away on stop', async () => {
    const engine = await Engine.start({
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { workers: [1] },
      memory: { hugepages: false },
      eal: { filePrefix: `fp-stats-${process.pid}` },
      pipelines: [{ input: 'a', output: 'b' }, { input: 'b', output: 'a' }],
    });
    const path = engine.info.statsPath;
    expect(path).toBe(`/dev/shm/fastpath-stats.fp-stats-${process.pid}`);
    const reader = StatsReader.attach(`fp-stats-${process.pid}`);
    expect([reader.name, reader.pid, reader.alive]).toEqual([`fp-stats-${process.pid}`, process.pid, true]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = reader.snapshot();
    const api = engine.stats();
    const second = reader.snapshot();
    for (const p of [0, 1]) {
      expect(first.ports[p]!.rxPackets).toBeGreaterThan(0);
      // The API reads the same lanes: it falls between two segment reads.
      expect(api.ports[p]!.rxPackets).toBeGreaterThanOrEqual(first.ports[p]!.rxPackets);
      expect(api.ports[p]!.rxPackets).toBeLessThanOrEqual(second.ports[p]!.rxPackets);
    }
    expect(first.lcores).toEqual([expect.objectContaining({ name: '1', cpu: 1 })]);
    // Pipeline counters live in the segment too, by name.
    expect(first.pipelines.map((p) => p.name)).toEqual(['pipeline0', 'pipeline1']);
    expect(first.pipelines[0]!.inPackets).toBeGreaterThan(0);

    // The sample ring: a sample every 10 ms, rates from it, and a live iterator.
    expect(await waitFor(() => reader.samplesWritten >= 20)).toBe(true);
    const rates = reader.rates(200);
    expect(rates.map((r) => r.name)).toEqual(['a', 'b']);
    expect(rates[0]!.rxPps).toBeGreaterThan(1e6);
    const seen: number[] = [];
    for await (const sample of reader.watch()) {
      seen.push(sample.index);
      expect(sample.missed).toBe(0);
      if (seen.length === 5) break;
    }
    expect(seen.slice(1).map((n, i) => n - seen[i]!)).toEqual([1, 1, 1, 1]);

    // DPDK's own telemetry counts the same packets: its ipackets for port 0 falls between
    // two reads of ours (plus at most the burst in flight when it read).
    const before = reader.snapshot().ports[0]!.rxPackets;
    const telemetry = spawnSync('dpdk-telemetry.py', ['-f', `fp-stats-${process.pid}`], { input: '/ethdev/stats,0\n', encoding: 'utf8', timeout: 10_000 });
    const after = reader.snapshot().ports[0]!.rxPackets;
    const ipackets = (JSON.parse(telemetry.stdout.trim().split('\n').at(-1)!) as { '/ethdev/stats': { ipackets: number } })['/ethdev/stats'].ipackets;
    expect(ipackets).toBeGreaterThanOrEqual(before);
    expect(ipackets).toBeLessThanOrEqual(after + 32);
    // The segment also carries the driver's own counters, refreshed every 10 ms.
    expect(await waitFor(() => reader.snapshot().ports[0]!.driverRxPackets >= ipackets)).toBe(true);
    // ...and per queue: one queue pair per port, rx polled by lcore 1, bytes as the driver
    // counts them (net_null makes 64-byte packets), the queue's count the port's count. The
    // sampler copies a port's counters then its queues', so a read between the two sees
    // them a sample apart: take a snapshot from between two samples.
    let queues = reader.snapshot().ports[0]!;
    await waitFor(() => {
      queues = reader.snapshot().ports[0]!;
      return queues.queues[0]?.rxPackets === queues.driverRxPackets && queues.queues[0]?.txPackets === queues.driverTxPackets;
    });
    expect(queues.queues.map((q) => [q.name, q.rxLcore])).toEqual([['0', '1']]);
    expect(queues.queues[0]!.rxPackets).toBe(queues.driverRxPackets);
    expect(queues.queues[0]!.rxBytes).toBe(queues.rxBytes);
    expect(queues.queues[0]!.txPackets).toBe(queues.driverTxPackets);
    // Poll-loop time: the lone worker on two endless sources is busy nearly all the time.
    const load = reader.snapshot().lcores[0]!;
    expect(load.tscHz).toBeGreaterThan(1e8);
    expect(load.busyCycles / (load.busyCycles + load.idleCycles)).toBeGreaterThan(0.9);
    // The cycles add up to the worker's wall time: most of the engine's uptime, and at most
    // that (uptime counts from the end of start, a few ms after the workers began).
    const loopSeconds = (load.busyCycles + load.idleCycles) / load.tscHz;
    const uptimeSeconds = engine.stats().uptimeNs / 1e9;
    expect(loopSeconds).toBeLessThanOrEqual(uptimeSeconds + 0.1);
    expect(loopSeconds).toBeGreaterThan(uptimeSeconds / 2);

    const top = runCli(['top', `fp-stats-${process.pid}`, '--frames', '1']);
    expect(top.status, top.stderr).toBe(0);
    expect(top.stdout).toMatch(new RegExp(`^fastpath top: fp-stats-${process.pid} \\(pid ${process.pid}\\)`));
    expect(top.stdout).toMatch(/^a +\d+\.\d\d +\d+\.\d\d +\d+ +\d+ +\d+  [▁▂▃▄▅▆▇█]+$/m);
    // One net_null worker always finds packets: busy near 100%.
    expect(Number(/^ +1 +1 +(\d+)%/m.exec(top.stdout)?.[1])).toBeGreaterThan(90);

    const other1 = runCli(['stats', `fp-stats-${process.pid}`, '--json']);
    const other2 = runCli(['stats', `fp-stats-${process.pid}`, '--json']);
    expect(other1.status, other1.stderr).toBe(0);
    const [s1, s2] = [other1, other2].map((r) => JSON.parse(lastLine(r.stdout)) as { ports: { name: string; rxPackets: number; unrouted: number }[] });
    expect(s1!.ports.map((p) => p.name)).toEqual(['a', 'b']);
    expect(s2!.ports[0]!.rxPackets).toBeGreaterThan(s1!.ports[0]!.rxPackets);

    await engine.stop();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses corrupt, truncated and foreign files with ERR_STATS, never a crash', async () => {
    const garbage = join('/dev/shm', `fastpath-test-garbage-${process.pid}`);
    writeFileSync(garbage, Buffer.alloc(4096, 0x5a));
    try {
      expect(openError(garbage).message).toMatch(/not a Fastpath stats segment \(bad magic\)/);
      expect(openError(garbage).code).toBe(ErrorCode.Stats);
      const header = Buffer.alloc(4096);
      header.write('FPSTATS1', 0, 'latin1');
      header.writeUInt32LE(7, 8);
      writeFileSync(garbage, header);
      expect(openError(garbage).message).toMatch(/layout version 7; this reader reads version 3/);
      header.writeUInt32LE(segmentLayout.LAYOUT_VERSION, 8);
      header.writeBigUInt64LE(1n << 20n, 16);
      writeFileSync(garbage, header);
      expect(openError(garbage).message).toMatch(/says it is 1048576 bytes but 4096 are mapped: truncated/);
      writeFileSync(garbage, Buffer.from('FPSTATS1'));
      expect(openError(garbage).message).toMatch(/shorter than a stats header/);
      expect(openError('/dev/shm/no-such-segment').message).toMatch(/cannot map the stats segment .*No such file/);
    } finally {
      rmSync(garbage, { force: true });
    }
  });

  it('reports a killed engine as stale, and the next engine of that name replaces it', async () => {
    const name = `fp-stale-${process.pid}`;
    const config = join(dir, 'stale.json');
    writeFileSync(config, JSON.stringify({
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { workers: [1] },
      memory: { hugepages: false },
      eal: { filePrefix: name, logToStderr: false },
      pipelines: [{ input: 'a', output: 'b' }],
    }));
    const child = spawn(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), 'run', config, '--duration', '60'], { stdio: 'ignore' });
    const listed = () => StatsReader.list().find((e) => e.name === name);
    expect(await waitFor(() => listed()?.alive === true, 20_000)).toBe(true);
    const path = listed()!.path;
    expect(readFileSync(path).subarray(0, 8).toString('latin1')).toBe('FPSTATS1');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    expect(await waitFor(() => listed()?.alive === false, 5_000)).toBe(true);
    const ls = runCli(['ls', '--json']);
    expect((JSON.parse(lastLine(ls.stdout)) as { name: string; alive: boolean }[]).find((e) => e.name === name)?.alive).toBe(false);
    const attach = runCli(['stats', name]);
    expect(attach.status).toBe(1);
    expect(attach.stderr).toMatch(/is stale: its process is gone or stopped beating/);

    const next = runCli(['run', config, '--duration', '1', '--json']);
    expect(next.status, next.stderr).toBe(0);
    expect(listed()).toBeUndefined();
  });
});
