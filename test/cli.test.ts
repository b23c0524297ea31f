/** The `fastpath` CLI: validate and run, good configs and bad ones, as a user types them. */
import { describe, expect, it } from 'vitest';

import { lastLine, runCli } from './helpers.js';

const BAD_PROBLEMS = [
  '  ports.b.mac: "02:00:00:00:00:0g" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)',
  '  pipelines[0].stages[0].match.src: "192.168.0.0/40" is not a valid IPv4 prefix',
  '  pipelines[0].stages[1]: unknown stage "reverse" (stages: io, macRewrite, macSwap, fiveTupleSwap, drop, match, bridge)',
  '  pipelines[1].priority: unknown field (check its spelling)',
];

describe('fastpath validate', () => {
  it('accepts a good TypeScript config', () => {
    const run = runCli(['validate', 'examples/configs/generator.config.ts']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('examples/configs/generator.config.ts: valid (2 ports, 3 pipelines, 1 worker lcore)');
  });

  it('lists every problem of a bad one with its path, and exits 1', () => {
    const run = runCli(['validate', 'test/fixtures/bad.config.json']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'fastpath: test/fixtures/bad.config.json: invalid config [ERR_CONFIG]',
      ...BAD_PROBLEMS.map((p) => `fastpath: ${p}`),
    ]);
  });

  it('says what is wrong with a missing file or a usage slip', () => {
    const missing = runCli(['validate', 'nope.json']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^fastpath: cannot load config nope\.json: ENOENT/);
    const usage = runCli(['frobnicate']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: fastpath run CONFIG');
  });
});

describe('fastpath run', () => {
  it('refuses a bad config before starting anything', () => {
    const run = runCli(['run', 'test/fixtures/bad.config.json']);
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('EAL:');
    expect(run.stderr.trim().split('\n').slice(1)).toEqual(BAD_PROBLEMS.map((p) => `fastpath: ${p}`));
  });

  it('runs a config with the live table and ends with the JSON summary', () => {
    const run = runCli(['run', 'examples/configs/generator.config.ts', '--duration', '2', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/worker lcore 1 \(cpu 1\): rx r0:0, rx r1:0, generator make/);
    expect(run.stdout).toMatch(/^ +\d+s  r0 +\d+\.\d\d/m);
    const summary = JSON.parse(lastLine(run.stdout)) as {
      iovaMode: string;
      ports: { name: string; rxPackets: number; txDropped: number }[];
      pipelines: { name: string; inPackets: number; dropped: number; generated: number; rules: { name: string; matched: number }[] }[];
    };
    expect(summary.iovaMode).toBe('VA');
    const [make, filter, arrive] = summary.pipelines;
    expect(make!.generated).toBeGreaterThan(0);
    const txDropped = summary.ports.reduce((s, p) => s + p.txDropped, 0);
    expect(make!.generated).toBe(arrive!.inPackets + filter!.dropped + txDropped);
    expect(filter!.rules.map((r) => r.name)).toEqual(['drop-low-ports', 'to-port-9']);
    expect(filter!.rules[0]!.matched).toBe(filter!.dropped);
  });
});
