/**
 * macswap: reflect packets between two ports, swapping source and destination MAC (testpmd's
 * macswap mode).
 *
 *   npx tsx examples/macswap.ts [--duration S] [--json]
 */
import { parseArgs } from 'node:util';

import { defineConfig, describeEngine, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { runExample } from './lib/run.js';

const config = defineConfig({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { workers: [1] },
  pipelines: [
    { name: 'a-to-b', input: 'a', stages: ['macSwap'], output: 'b' },
    { name: 'b-to-a', input: 'b', stages: ['macSwap'], output: 'a' },
  ],
});

runExample('macswap', async (signals) => {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS: Number(values.duration), signals });
  for (const line of summaryLines(last, seconds)) console.log(line);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
