/** The `fastpath` CLI: validate and run, good configs and bad ones, as a user types them. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  it('loads a config of every kind from outside the repository, with or without "type": "module"', () => {
    // A directory with no package.json, where TypeScript and .js compile as CommonJS, and one
    // below it whose package.json makes them ES modules.
    const dir = mkdtempSync(join(tmpdir(), 'fastpath-configs-'));
    try {
      mkdirSync(join(dir, 'esm'));
      writeFileSync(join(dir, 'esm/package.json'), '{ "type": "module" }\n');
      const body = JSON.stringify({ ports: { a: { null: {} }, b: { null: {} } }, lcores: { workers: [1] }, pipelines: [{ input: 'a', output: 'b' }] });
      const files = [
        ['plain.ts', `export default ${body};`],
        ['named.ts', `export const config = ${body};`],
        ['module.mts', `export default ${body};`],
        ['common.cts', `export default ${body};`],
        ['script.js', `export default ${body};`],
        ['exports.js', `module.exports = ${body};`],
        ['module.mjs', `export default ${body};`],
        ['common.cjs', `module.exports = ${body};`],
        ['config.json', body],
        ['esm/plain.ts', `export default ${body};`],
        ['esm/script.js', `export default ${body};`],
        ['esm/common.cjs', `module.exports = ${body};`],
      ] as const;
      for (const [file, text] of files) {
        writeFileSync(join(dir, file), text);
        const run = runCli(['validate', join(dir, file)]);
        expect(run.stderr, file).toBe('');
        expect(run.stdout.trim(), file).toBe(`${join(dir, file)}: valid (2 ports, 1 pipeline, 1 worker lcore)`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows a syntax error in a config of any kind at its file, line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fastpath-configs-'));
    try {
      mkdirSync(join(dir, 'esm'));
      writeFileSync(join(dir, 'esm/package.json'), '{ "type": "module" }\n');
      // A comma missing before `output`, on the third line.
      const broken = (head: string) => `${head} {\n  ports: {},\n  pipelines: [{ input: 'a' output: 'b' }],\n};\n`;
      // Node's own message (V8's) for an ES module or CommonJS; esbuild's through tsx where a
      // file is compiled (TypeScript, and ES syntax in .js outside an ES module package).
      const v8 = "Unexpected identifier 'output'";
      const esbuild = 'Expected "}" but found "output"';
      const cases = [
        ['broken.ts', broken('export default'), 'output', esbuild],
        ['broken.mts', broken('export default'), 'output', esbuild],
        ['broken.js', broken('export default'), 'output', esbuild],
        ['esm/broken.js', broken('export default'), 'output', v8],
        ['broken.mjs', broken('export default'), 'output', v8],
        ['broken.cjs', broken('module.exports ='), 'output', v8],
        ['esm/broken.cjs', broken('module.exports ='), 'output', v8],
        // JSON.parse gives an offset for this one, and none for an unexpected character.
        ['comma.json', '{\n  "ports": {},\n  "lcores": { "workers": [1] }\n  "pipelines": []\n}\n', '"pipelines"', "Expected ',' or '}' after property value"],
        ['token.json', '{\n  "ports": {},\n  "lcores": { "workers": [1] },\n  "pipelines": [o]\n}\n', 'o]', "Unexpected token 'o'"],
        ['trailing.json', '{\n  "ports": {},\n  "pipelines": [],\n}\n', '}\n', 'Expected double-quoted property name'],
      ] as const;
      for (const [file, text, culprit, what] of cases) {
        const path = join(dir, file);
        writeFileSync(path, text);
        const run = runCli(['validate', path]);
        expect(run.status, file).toBe(1);
        // Lines and columns count from 1, as editors do.
        const lines = text.slice(0, text.lastIndexOf(culprit)).split('\n');
        const at = `${lines.length}:${lines.at(-1)!.length + 1}`;
        expect(run.stderr.trim(), file).toBe(`fastpath: cannot load config ${path}: ${path}:${at}: ${what} [ERR_CONFIG]`);
      }
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
