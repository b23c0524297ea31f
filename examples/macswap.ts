/**
 * macswap: reflect packets between two ports, swapping source and destination MAC (testpmd's
 * macswap mode).
 *
 *   npx tsx examples/macswap.ts [--duration S] [--json]
 */
import { defineConfig, describeEngine, positiveNumber, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const config = defineConfig({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { workers: [1] },
  pipelines: [
    { name: 'a-to-b', input: 'a', stages: ['macSwap'], output: 'b' },
    { name: 'b-to-a', input: 'b', stages: ['macSwap'], output: 'a' },
  ],
});

const MACSWAP = defineExample({
  name: 'macswap',
  usage: 'npx tsx examples/macswap.ts [--duration S] [--json]',
  summary: "Reflect packets between two ports, swapping source and destination MAC (testpmd's macswap mode)",
  options: {
    duration: { type: 'string', default: '5', value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    json: { type: 'boolean', default: false, help: 'end with the summary as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
});

runExample(MACSWAP, async (signals, { values }) => {
  const durationS = positiveNumber('--duration', values.duration, 'seconds');
  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS, signals });
  for (const line of summaryLines(engine.info, last, seconds)) console.log(line);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
