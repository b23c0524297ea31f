/**
 * The stats segment is the one source of every number the engine reports: `engine.stats()`
 * in the engine's process and `fastpath stats --json` in another are the same decoding of
 * the same bytes (stats-new-counter.test.ts shows a new counter reaching every reader).
 */
import { expect, it } from 'vitest';

import { Engine, type EngineConfig } from '@fastpath/control';

import { lastLine, runCli, waitFor } from './helpers.js';

/**
 * Checks that `mid` has exactly the keys of `before` (recursively), equal strings and
 * booleans, and every number between its value in `before` and in `after`: read between
 * two reads of a quiet engine whose loop and cycle counters keep running, a number that
 * is equal in all three is a number that was copied, not recomputed. Returns the paths of
 * the numbers compared.
 */
function between(before: unknown, mid: unknown, after: unknown, path = 'stats'): string[] {
  if (typeof before === 'number') {
    expect(typeof mid, path).toBe('number');
    expect(mid as number, path).toBeGreaterThanOrEqual(Math.min(before, after as number));
    expect(mid as number, path).toBeLessThanOrEqual(Math.max(before, after as number));
    return [path];
  }
  if (Array.isArray(before)) {
    expect(Array.isArray(mid) && (mid as unknown[]).length, path).toBe(before.length);
    return before.flatMap((b, i) => between(b, (mid as unknown[])[i], (after as unknown[])[i], `${path}[${i}]`));
  }
  if (before !== null && typeof before === 'object') {
    expect(Object.keys(mid as object).sort(), path).toEqual(Object.keys(before).sort());
    return Object.entries(before).flatMap(([k, b]) => between(b, (mid as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], `${path}.${k}`));
  }
  expect(mid, path).toEqual(before);
  return [];
}

it('fastpath stats --json, run from another process, equals engine.stats() field for field', async () => {
  const name = `fp-onesource-${process.pid}`;
  const config = (count: number): EngineConfig => ({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [
      { name: 'make', generator: { count, flows: 4 }, stages: [{ kind: 'match', name: 'udp', match: { proto: 'udp' }, action: 'count' }], output: 'b' },
    ],
  });
  const engine = await Engine.start(config(1000));
  try {
    // Let the generator finish: then only time-like counters (loops, cycles, uptime) move.
    expect(await waitFor(() => engine.stats().pipelines[0]!.generated === 1000)).toBe(true);
    expect(await engine.apply(config(2000))).toBe(2);
    expect(await waitFor(() => engine.stats().pipelines[0]!.generated === 2000)).toBe(true);
    const before = engine.stats();
    const cli = runCli(['stats', name, '--json']);
    const after = engine.stats();
    expect(cli.status, cli.stderr).toBe(0);
    const other = JSON.parse(lastLine(cli.stdout)) as unknown;
    const compared = between(before, other, after);
    // Everything a snapshot carries was compared, the once in-process-only values included.
    for (const path of ['stats.mempool.inUse', 'stats.mempool.available', 'stats.mempool.drySamples', 'stats.generation', 'stats.uptimeNs', 'stats.pipelines[0].rules[0].matched', 'stats.ports[1].driverTxPackets', 'stats.lcores[0].busyCycles']) {
      expect(compared).toContain(path);
    }
    expect(before.generation).toBe(2);
    expect(before.pipelines[0]!.rules[0]!.matched).toBe(2000);
    expect(before.mempool.capacity).toBe(engine.info.mempool.capacity);
    expect(before.failed).toBe(false);
    expect('failure' in (other as object)).toBe(false);
  } finally {
    await engine.stop();
  }
});
