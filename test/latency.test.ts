/**
 * Latency (issue 15): the time packets spend in the engine, per pipeline, as percentiles; the
 * round trips of a generator's probes with their loss and reordering (the paced generator's
 * size mix and rate: generator-rate.test.ts).
 *
 * Probes go out of a net_ring port and come back on it (a ring receives what it sends). The
 * probes' own pipeline drops every tenth one on purpose (a match stage on its source port,
 * which steps 5000-5009 packet by packet), so the loss the receiving worker counts must be
 * exactly the match stage's count. What arrives is forwarded to a second ring, so that the
 * forwarding pipeline's latency is measured. Timing is printed and bounded loosely (under a
 * second), never asserted as performance.
 */
import { rmSync } from 'node:fs';

import { afterAll, expect, it } from 'vitest';

import { Engine, prometheusRegistry, StatsReader } from '@fastpath/control';

import { lastLine, runCli, runScript, scratchDir, waitFor } from './helpers.js';
import { cannotUseNamespaces } from './netns.js';

const dir = scratchDir('latency');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Probes sent: seq 0-994, of which those with seq % 10 == 9 (99) are dropped; the last one arrives. */
const PROBES = 995;
const DROPPED = Math.floor(PROBES / 10);

it('counts probe round trips, loses exactly the probes dropped on purpose, and times forwarding', async () => {
  const name = `fp-latency-${process.pid}`;
  const engine = await Engine.start({
    eal: { filePrefix: name },
    ports: { loop: { ring: {} }, next: { ring: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [
      {
        name: 'probe',
        generator: { probe: true, count: PROBES, rate: { pps: 20_000 }, srcPort: '5000-5009', dstPort: 7, srcIp: '198.18.0.1', dstIp: '198.19.0.1' },
        stages: [{ kind: 'match', name: 'every-tenth', match: { srcPort: 5009 }, action: 'drop' }],
        output: 'loop',
      },
      { name: 'forward', input: 'loop', output: 'next' },
      { name: 'sink', input: 'next', stages: ['drop'] },
    ],
  });
  const arrived = PROBES - DROPPED;
  expect(await waitFor(() => engine.stats().pipelines[0]!.probes.count === arrived)).toBe(true);
  // The same numbers from another process (fastpath stats --json), in `fastpath stats`'
  // table, and as Prometheus histograms.
  const cli = runCli(['stats', name, '--json']);
  expect(cli.status, cli.stderr).toBe(0);
  const other = JSON.parse(lastLine(cli.stdout)) as ReturnType<Engine['stats']>;
  expect(other.pipelines[0]!.probes).toEqual(engine.stats().pipelines[0]!.probes);
  expect(other.pipelines[1]!.latency.count).toBe(arrived);
  const table = runCli(['stats', name]);
  expect(table.stdout).toMatch(/probe probes\s+896\s/);
  expect(table.stdout).toMatch(/forward latency\s+896\s/);
  const top = runCli(['top', name, '--frames', '1']);
  expect(top.stdout).toMatch(/probe probes\s+896\s.*lost 99\s+reordered 0/);
  const metrics = await prometheusRegistry(StatsReader.attach(name)).metrics();
  expect(metrics).toMatch(/# TYPE fastpath_pipeline_latency_seconds histogram/);
  expect(metrics).toContain(`fastpath_pipeline_latency_seconds_count{engine="${name}",pipeline="forward"} ${arrived}`);
  expect(metrics).toContain(`fastpath_pipeline_probes_seconds_bucket{engine="${name}",pipeline="probe",le="+Inf"} ${arrived}`);
  expect(metrics).toContain(`fastpath_pipeline_probes_seconds_bucket{engine="${name}",pipeline="probe",le="1.28e-7"}`);
  const s = await engine.stop();
  const [probe, forward] = s.pipelines;
  console.log('probes', JSON.stringify(probe!.probes), 'lost', probe!.probesLost, 'reordered', probe!.probesReordered, 'paceMissed', probe!.paceMissed);
  console.log('forward latency', JSON.stringify(forward!.latency));
  expect(probe!.generated).toBe(PROBES);
  expect(probe!.rules[0]!.matched).toBe(DROPPED);
  expect(probe!.probes.count).toBe(arrived);
  expect(probe!.probesLost).toBe(DROPPED);
  expect(probe!.probesReordered).toBe(0);
  // The forwarding pipeline timed every packet it forwarded: rx burst to tx, ordered
  // percentiles, and well under a second.
  const l = forward!.latency;
  expect(l.count).toBe(forward!.outPackets);
  expect(l.count).toBe(arrived);
  const order = [l.minNs!, l.p50Ns!, l.p90Ns!, l.p99Ns!, l.p999Ns!, l.maxNs!];
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(l.maxNs).toBeLessThan(1e9);
  const r = probe!.probes;
  expect(r.minNs).toBeLessThanOrEqual(r.p50Ns!);
  expect(r.maxNs).toBeLessThan(1e9);
  // A generator's packets have no rx time: the probe pipeline has no latency of its own.
  expect(probe!.latency.count).toBe(0);
  expect(probe!.latency.p50Ns).toBeNull();
});

const skip = cannotUseNamespaces();
if (skip) console.warn(`examples/latency.ts test: skipped: ${skip}`);
it.skipIf(skip !== undefined)('examples/latency.ts: probes through two namespaces all come back, with percentiles each second', () => {
  const run = runScript('examples/latency.ts', ['--duration', '2', '--pps', '2000']);
  expect(run.status, run.stderr).toBe(0);
  const rows = run.stdout.split('\n').filter((l) => /^\s+\d+s\s/.test(l));
  expect(rows.length).toBe(2);
  // time, count, p50, p99, p99.9, max (µs), lost, reordered
  for (const row of rows) expect(row).toMatch(/^\s+\d+s\s+\d+(\s+[\d.]+µs){4}\s+\d+\s+\d+$/);
  const m = /sent (\d+), came back (\d+), lost (\d+)/.exec(run.stdout);
  expect(m, run.stdout).not.toBeNull();
  const [, sent, back, lost] = m!.map(Number);
  // A kernel queue on the path may drop a probe; none is counted twice, and most come back.
  expect(back! + lost!).toBeLessThanOrEqual(sent!);
  expect(back!).toBeGreaterThan(sent! / 2);
});
