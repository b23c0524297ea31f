/**
 * Soak: forwards on two net_null ports for a while with a live pipeline swap every second
 * (alternating between a plain forward and a MAC swap), and checks that nothing leaks: the
 * pool's in-use count returns to its baseline once the engine is idle, and the process's
 * resident memory stays flat after warm-up. A line per minute (or per 10 s when short);
 * --json prints the result as one line. Exits 1 if a check fails.
 *
 *   npx tsx bench/soak.ts [--seconds 600] [--json]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Engine, type EngineConfig } from '@fastpath/control';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, json: { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);
const say = (line: string) => {
  if (!values.json) console.log(line);
};

/** Resident set size in MiB, from /proc. */
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

const config = (stages: EngineConfig['pipelines'][number]['stages'], inputs = true): EngineConfig => ({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { workers: [1] },
  memory: { hugepages: false },
  eal: { filePrefix: `fp-soak-${process.pid}`, logToStderr: false },
  pipelines: inputs
    ? [
        { name: 'a-to-b', input: 'a', stages, output: 'b' },
        { name: 'b-to-a', input: 'b', stages, output: 'a' },
      ]
    : [],
});

const engine = await Engine.start(config([]));

/**
 * The pool's in-use count with nothing held: the least of 50 of the sampler's 10 ms reads.
 * Quiesced, the worker still polls (and frees) what the null ports offer, so a single read
 * can catch a burst in flight.
 */
async function settledInUse(): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 50; i++) {
    least = Math.min(least, engine.stats().mempool.inUse);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return least;
}
let failed = false;
try {
  // Baseline: quiesced (no pipeline takes the inputs, nothing in flight), measured the
  // same way as the end.
  await engine.apply(config([], false));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const baseline = await settledInUse();
  await engine.apply(config([]));
  const swaps = [];
  const rss: number[] = [];
  const started = Date.now();
  const report = seconds >= 120 ? 60 : 10;
  for (let s = 1; s <= seconds; s++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + s * 1000 - Date.now())));
    const t0 = process.hrtime.bigint();
    await engine.apply(config(s % 2 === 1 ? ['macSwap'] : []));
    swaps.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rss.push(rssMiB());
    if (s % report === 0) {
      const st = engine.stats();
      say(`${s} s: ${swaps.length} swaps, ${st.ports[0]!.rxPackets} packets on a, pool in use ${st.mempool.inUse}, rss ${rss.at(-1)!.toFixed(1)} MiB`);
    }
  }
  // Quiesce: no pipeline takes the inputs, so nothing is in flight; the pool must be back
  // where it started (mbufs parked in the per-lcore caches are counted as in use by DPDK,
  // and are the same at both points).
  await engine.apply(config([], false));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const end = { ...engine.stats(), mempoolInUse: await settledInUse() };
  // RSS after the first 10% (JIT and allocator warm-up) against the end.
  const warm = rss[Math.floor(rss.length / 10)] ?? rss[0] ?? 0;
  const result = {
    seconds,
    swaps: swaps.length,
    swapMedianMs: Number([...swaps].sort((a, b) => a - b)[Math.floor(swaps.length / 2)]!.toFixed(3)),
    packets: end.ports[0]!.rxPackets + end.ports[1]!.rxPackets,
    mempoolInUseBaseline: baseline,
    mempoolInUseEnd: end.mempoolInUse,
    rssWarmMiB: Number(warm.toFixed(1)),
    rssEndMiB: Number((rss.at(-1) ?? 0).toFixed(1)),
    failure: end.failure ?? null,
  };
  // Flat: within 16 MiB of the warmed-up size (V8's heap breathes; a leak per swap or per
  // burst grows without bound).
  // The worker may hold a burst per rx queue at any instant, even quiesced (it still polls
  // and frees what the null ports offer): beyond that, mbufs went missing.
  const inFlight = 32 * 2;
  failed = result.mempoolInUseEnd > result.mempoolInUseBaseline + inFlight || result.rssEndMiB - result.rssWarmMiB > 16 || result.failure !== null;
  if (values.json) console.log(JSON.stringify({ ...result, ok: !failed }));
  else {
    say(`pool in use: ${baseline} at start, ${end.mempoolInUse} at the end; rss ${result.rssWarmMiB} → ${result.rssEndMiB} MiB; swap median ${result.swapMedianMs} ms`);
    say(failed ? 'LEAK or failure: see above' : 'ok: no leak');
  }
} finally {
  await engine.stop();
}
process.exitCode = failed ? 1 : 0;
