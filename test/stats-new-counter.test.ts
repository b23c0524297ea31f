/**
 * A counter added to the stats segment's directory reaches every reader (`fastpath stats
 * --json`, `top`, Prometheus) with no reader change: readers decode the directory by kind.
 * (A file of its own: one engine per process.)
 */
import { expect, it } from 'vitest';

import { Engine, prometheusRegistry, StatsReader } from '@fastpath/control';

import { lastLine, runCli, waitFor } from './helpers.js';

it('a counter added to the directory shows in fastpath stats --json, top and Prometheus with no reader change', async () => {
  const name = `fp-newcounter-${process.pid}`;
  // A test-only directory entry: the engine adds `port/testProbe` (a per-worker counter the
  // sampler bumps every 10 ms) when this is set as it starts. No reader knows its name.
  process.env.FASTPATH_TEST_COUNTER = 'port/testProbe';
  const engine = await Engine.start({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [{ input: 'a', output: 'b' }],
  });
  delete process.env.FASTPATH_TEST_COUNTER;
  try {
    const probe = () => (engine.stats().ports[0] as unknown as Record<string, number>).testProbe ?? 0;
    expect(await waitFor(() => probe() > 5)).toBe(true);
    const reader = StatsReader.attach(name);
    expect(reader.entries.find((e) => e.name === 'port/testProbe')?.help).toMatch(/test-only/);

    const json = runCli(['stats', name, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const ports = (JSON.parse(lastLine(json.stdout)) as { ports: { name: string; testProbe: number }[] }).ports;
    expect(ports.map((p) => p.name)).toEqual(['a', 'b']);
    for (const p of ports) expect(p.testProbe).toBeGreaterThan(5);

    const top = runCli(['top', name, '--frames', '1']);
    expect(top.status, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^ {2}port a: .*testProbe \d+/m);

    const text = await prometheusRegistry(reader).metrics();
    expect(text).toMatch(/^# HELP fastpath_port_test_probe_total A test-only counter/m);
    expect(text).toMatch(/^# TYPE fastpath_port_test_probe_total counter$/m);
    expect(Number(new RegExp(`^fastpath_port_test_probe_total\\{engine="${name}",port="b"\\} (\\d+)$`, 'm').exec(text)?.[1])).toBeGreaterThan(5);
    // A registry that finds its engine at scrape time (a function source) exports the new
    // family from its second scrape on: the first one read the engine's directory.
    const found = prometheusRegistry(() => StatsReader.attach(name));
    await found.metrics();
    expect(await found.metrics()).toMatch(new RegExp(`^fastpath_port_test_probe_total\\{engine="${name}",port="a"\\} \\d+$`, 'm'));
  } finally {
    await engine.stop();
  }
});
