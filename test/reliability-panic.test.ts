/**
 * Reliability: a panic in a worker's poll loop is caught at the lcore, not let across the
 * FFI edge. The engine enters a failed state that its API (`stats().failure`) and its stats
 * segment (the failed flag and the failure text, seen from any process: `fastpath stats --json`
 * says what `engine.stats()` says) report; Node lives on; `stop()` still
 * releases everything and rejects with ERR_LCORE carrying what happened.
 */
import { existsSync } from 'node:fs';

import { expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, StatsReader } from '@fastpath/control';

import { lastLine, runCli, waitFor } from './helpers.js';

it('reliability: a panicking lcore puts the engine in a failed state that the API and the segment report', async () => {
  // Read by the worker on lcore 1 as it starts (the engine's fault-injection hook).
  process.env.FASTPATH_FAULT_PANIC_LCORE = '1';
  const name = `fp-panic-${process.pid}`;
  const engine = await Engine.start({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name, logToStderr: false },
    pipelines: [{ input: 'a', output: 'b' }],
  });
  delete process.env.FASTPATH_FAULT_PANIC_LCORE;
  expect(await waitFor(() => engine.stats().failure !== undefined)).toBe(true);
  expect(engine.stats().failure).toMatch(/^worker lcore 1 \(worker 0\) panicked: fault injected by FASTPATH_FAULT_PANIC_LCORE.*Stop the engine/);
  expect(StatsReader.attach(name).snapshot().failed).toBe(true);
  // From another process, the same words: the failure text lives in the segment.
  const cli = runCli(['stats', name, '--json']);
  expect(cli.status, cli.stderr).toBe(0);
  const other = JSON.parse(lastLine(cli.stdout)) as { failed: boolean; failure?: string };
  expect(other.failed).toBe(true);
  expect(other.failure).toBe(engine.stats().failure);
  // A live change still completes: the dead worker has said it is offline.
  await engine.apply({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name, logToStderr: false },
    pipelines: [{ input: 'a', stages: ['macSwap'], output: 'b' }],
  });
  const path = engine.info.statsPath;
  const stopped = await engine.stop().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(stopped).toBeInstanceOf(FastpathError);
  expect((stopped as FastpathError).code).toBe(ErrorCode.Lcore);
  expect((stopped as FastpathError).message).toMatch(/panicked.*the engine is stopped and its ports, memory and files are released/);
  expect(existsSync(path)).toBe(false);
});
