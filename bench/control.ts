/**
 * What controlling the engine from JavaScript costs, measured while it forwards at full rate
 * on two net_null ports: a bare native call (`schemaVersion()`), a stats read
 * (`engine.stats()`: no native call, the engine's own stats segment decoded into one JS
 * object, as any process reads it), and a live pipeline swap
 * (`engine.apply()`, resolved once every worker runs the new program).
 *
 *   npx tsx bench/control.ts [--swaps 100] [--json]
 */
import { parseArgs } from 'node:util';

import { Engine, native, type EngineConfig } from '@fastpath/control';

const { values } = parseArgs({ options: { swaps: { type: 'string', default: '100' }, json: { type: 'boolean', default: false } } });

const config = (stages: EngineConfig['pipelines'][number]['stages']): EngineConfig => ({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { main: 0, workers: [1] },
  eal: { filePrefix: `fp-bench-control-${process.pid}`, logToStderr: false },
  pipelines: [
    { name: 'a-to-b', input: 'a', stages, output: 'b' },
    { name: 'b-to-a', input: 'b', stages, output: 'a' },
  ],
});

/** Median and 99th percentile of per-call times in µs over `batches` batches of `n` calls. */
function perCall(batches: number, n: number, call: () => unknown): { medianUs: number; p99Us: number } {
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) call();
    times.push(Number(process.hrtime.bigint() - start) / n / 1000);
  }
  return quantiles(times);
}

function quantiles(xs: number[]): { medianUs: number; p99Us: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
  return { medianUs: at(0.5), p99Us: at(0.99) };
}

const engine = await Engine.start(config([]));
try {
  const binding = native();
  const bare = perCall(20, 10_000, () => binding.schemaVersion());
  const stats = perCall(20, 1_000, () => engine.stats());
  // Swaps alternate between a stage-less pipeline and one with a MAC swap, under full load.
  const swaps: number[] = [];
  for (let i = 0; i < Number(values.swaps); i++) {
    const next = config(i % 2 === 0 ? ['macSwap'] : []);
    const start = process.hrtime.bigint();
    await engine.apply(next);
    swaps.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const forwarded = engine.stats().ports[0]!.rxPackets;
  const summary = { nativeCall: bare, statsCall: stats, swap: quantiles(swaps), swaps: swaps.length, forwardedDuring: forwarded };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    console.log(`bare native call: median ${bare.medianUs} µs, p99 ${bare.p99Us} µs`);
    console.log(`engine.stats(): median ${stats.medianUs} µs, p99 ${stats.p99Us} µs`);
    console.log(`engine.apply() swap under load (${swaps.length}): median ${summary.swap.medianUs} µs, p99 ${summary.swap.p99Us} µs`);
  }
} finally {
  await engine.stop();
}
