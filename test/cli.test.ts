/** The `fastpath` CLI: validate and run, good configs and bad ones, as a user types them. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lastLine, repoRoot, runCli } from './helpers.js';

// test/fixtures/bad.config.json: a well-formed config that breaks the engine's rules.
const BAD_PROBLEMS = [
  '  ports.b.mac: "02:00:00:00:00:0g" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)',
  '  pipelines[0].stages[0].match.src: "192.168.0.0/40" is not a valid IPv4 prefix',
  '  pipelines[0].output: "c" is not a port (ports: a, b)',
];

// test/fixtures/bad-shape.config.json: the same with an unknown stage and an unknown field.
// The rules need a well-formed config, so only its shape problems are reported.
const BAD_SHAPE_PROBLEMS = [
  '  pipelines[0].stages[1]: unknown stage "reverse" (stages: io, macRewrite, macSwap, fiveTupleSwap, drop, match, bridge, route, acl)',
  '  pipelines[1].priority: unknown field (check its spelling)',
];

describe('fastpath validate', () => {
  it('loads .ts, .cts and .js configs from anywhere, and shows a syntax error at its line and column', () => {
    // A directory with no package.json: TypeScript there compiles as CommonJS.
    const dir = mkdtempSync(join(tmpdir(), 'fastpath-configs-'));
    try {
      const body = "{ ports: { a: { null: {} }, b: { null: {} } }, lcores: { workers: [1] }, pipelines: [{ input: 'a', output: 'b' }] }";
      for (const [file, text] of [['plain.ts', `export default ${body};`], ['common.cts', `export default ${body};`], ['named.ts', `export const config = ${body};`], ['module.mjs', `export default ${body};`]] as const) {
        writeFileSync(join(dir, file), text);
        const run = runCli(['validate', join(dir, file)]);
        expect(run.stderr, file).toBe('');
        expect(run.stdout.trim(), file).toBe(`${join(dir, file)}: valid (2 ports, 1 pipeline, 1 worker lcore)`);
      }
      const broken = `export default { ports: {}, lcores: { workers: [1] }, pipelines: [{ input: 'a' output: 'b' }] };\n`;
      writeFileSync(join(dir, 'broken.ts'), broken);
      const run = runCli(['validate', join(dir, 'broken.ts')]);
      expect(run.status).toBe(1);
      // Columns count from 1, as editors do: where `output` starts, a comma missing before it.
      const column = broken.indexOf('output') + 1;
      expect(run.stderr.trim()).toBe(`fastpath: cannot load config ${join(dir, 'broken.ts')}: ${join(dir, 'broken.ts')}:1:${column}: Expected "}" but found "output" [ERR_CONFIG]`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never runs a program it is given: no EAL, no file written, the program untouched', () => {
    const digest = (file: string) => createHash('sha256').update(readFileSync(join(repoRoot, file))).digest('hex');
    for (const program of ['examples/pcap-replay.ts', 'examples/generator.ts', 'examples/macswap.ts']) {
      const before = digest(program);
      const run = runCli(['validate', program]);
      expect(digest(program), program).toBe(before);
      expect(run.stderr, program).not.toContain('EAL:');
      // A program is no config: it says what a config module exports, not the program's own usage.
      expect(run.status, program).toBe(1);
      expect(run.stderr.trim(), program).toBe(`fastpath: ${program}: export the config as the default export (export default defineConfig({ ... })) [ERR_CONFIG]`);
    }
  });

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

  it('lists only the shape problems of a config of the wrong shape', () => {
    const run = runCli(['validate', 'test/fixtures/bad-shape.config.json']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'fastpath: test/fixtures/bad-shape.config.json: invalid config [ERR_CONFIG]',
      ...BAD_SHAPE_PROBLEMS.map((p) => `fastpath: ${p}`),
    ]);
  });

  it('says what is wrong with a missing file', () => {
    const missing = runCli(['validate', 'nope.json']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^fastpath: cannot load config nope\.json: ENOENT/);
  });
});

describe('fastpath run', () => {
  it('refuses a bad config before starting anything', () => {
    const run = runCli(['run', 'test/fixtures/bad.config.json']);
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('EAL:');
    expect(run.stderr.trim().split('\n').slice(1)).toEqual(BAD_PROBLEMS.map((p) => `fastpath: ${p}`));
  });

  it('refuses a config of the wrong shape before starting anything', () => {
    const run = runCli(['run', 'test/fixtures/bad-shape.config.json']);
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('EAL:');
    expect(run.stderr.trim().split('\n').slice(1)).toEqual(BAD_SHAPE_PROBLEMS.map((p) => `fastpath: ${p}`));
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

// Help, usage slips, unknown commands and flags, --version: cli-usage.test.ts.
describe('fastpath flags, command by command', () => {
  it('plans memory only for a config without problems: mem plan lists them as validate does', () => {
    const run = runCli(['mem', 'plan', 'test/fixtures/bad.config.json']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      'fastpath: test/fixtures/bad.config.json: invalid config [ERR_CONFIG]',
      ...BAD_PROBLEMS.map((p) => `fastpath: ${p}`),
    ]);
  });

  it('takes --reserve where it belongs: mem plan', () => {
    // A config that runs without hugepages gets past the flags to the reservation, which
    // refuses (as root or not); mem-reserve.test.ts reserves for plans on hugepages.
    const plan = runCli(['mem', 'plan', 'examples/configs/generator.config.ts', '--reserve']);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toMatch(/^fastpath: memory.hugepages: is false: this config runs without hugepages, so there is nothing to reserve .*\[ERR_CONFIG\]\n$/);
  });
});
