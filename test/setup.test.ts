/**
 * `npm run demo` / `npm test` / `npm run bench` start with scripts/setup.sh: on a checkout
 * that is set up (as it is while these tests run) it checks and does nothing, so that a
 * second `npm run demo` starts forwarding within a few seconds of the command.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { repoRoot } from './helpers.js';

it('re-runs on a set-up checkout without installing or building anything', () => {
  const binding = join(repoRoot, 'packages/control/native/fastpath.linux-x64-gnu.node');
  const built = statSync(binding).mtimeMs;
  const run = spawnSync('bash', ['scripts/setup.sh'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  expect(run.status, run.stderr).toBe(0);
  const said = run.stderr.trim().split('\n');
  expect(said).toContain('setup: JS dependencies are up to date');
  expect(said).toContain('setup: the native binding is up to date');
  expect(said.filter((line) => /installing|building the native|installed pnpm/.test(line))).toEqual([]);
  expect(said.at(-1)).toBe('setup: ready');
  expect(statSync(binding).mtimeMs).toBe(built);
});
