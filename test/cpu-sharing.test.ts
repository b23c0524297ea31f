/**
 * Two engines on one worker CPU: a second engine whose worker would poll a CPU a live
 * engine's worker polls is refused, naming that engine, its pid and the CPU, and saying what
 * to do; with `lcores.shareCpus: true`, or on another CPU, it starts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { allowedCpus, Engine, type EngineConfig } from '@fastpath/control';

import { runCli, scratchDir } from './helpers.js';

const cpus = allowedCpus();
const [mainCpu, cpu] = [cpus[0]!, cpus[1] ?? cpus[0]!];
const name = `fp-cpu-${process.pid}`;

function config(workerCpu: number, extra: Partial<EngineConfig['lcores']> = {}): EngineConfig {
  return {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { main: 0, mainCpu, workers: [{ lcore: 1, cpu: workerCpu }], ...extra },
    memory: { hugepages: false },
    pipelines: [{ name: 'fwd', input: 'a', output: 'b' }],
  };
}

/** `fastpath run` of `c` for half a second, in a process of its own. */
function runSecond(c: EngineConfig) {
  const file = join(scratchDir('cpu'), 'second.config.json');
  writeFileSync(file, JSON.stringify(c));
  return runCli(['run', file, '--duration', '0.5']);
}

let first: Engine;
beforeAll(async () => {
  first = await Engine.start({ ...config(cpu), eal: { filePrefix: name, logToStderr: false } });
});
afterAll(async () => {
  await first?.stop();
});

it('refuses a second engine on a worker CPU a live engine polls, naming it', () => {
  const run = runSecond(config(cpu));
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain(`CPU ${cpu} is already polled by engine "${name}" (pid ${process.pid}, worker lcore 1)`);
  expect(run.stderr).toMatch(/set lcores\.shareCpus: true to run anyway \[ERR_LCORE\]\n$/);
});

it('starts it with lcores.shareCpus: true', () => {
  const run = runSecond(config(cpu, { shareCpus: true }));
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^IOVA mode: /m);
});

it('starts it on a CPU no other engine polls', (ctx) => {
  if (cpus.length < 2) {
    console.warn('skipped: needs two CPUs this process may use (one for each engine)');
    ctx.skip();
  }
  const run = runSecond(config(mainCpu));
  expect(run.status, run.stderr).toBe(0);
});
