/**
 * generator: a flowgen-style generator makes UDP packets of 16 flows into ring r0; a second
 * pipeline forwards what r0 receives into ring r1, and a third counts what arrives on r1.
 * Every packet made is accounted for: made = arrived + dropped.
 *
 *   npx tsx examples/generator.ts [--duration S] [--size BYTES] [--flows N] [--json]
 */
import { parseArgs } from 'node:util';

import { defineConfig, describeEngine, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { runExample } from './lib/run.js';

runExample('generator', async (signals) => {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      size: { type: 'string', default: '64' },
      flows: { type: 'string', default: '16' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = defineConfig({
    ports: { r0: { ring: {} }, r1: { ring: {} } },
    lcores: { workers: [1] },
    pipelines: [
      { name: 'make', generator: { packetSize: Number(values.size), flows: Number(values.flows) }, output: 'r0' },
      { name: 'carry', input: 'r0', output: 'r1' },
      { name: 'arrive', input: 'r1', stages: ['drop'] },
    ],
  });

  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS: Number(values.duration), signals });
  for (const line of summaryLines(last, seconds)) console.log(line);

  const [make, , arrive] = last.pipelines;
  const dropped = last.ports.reduce((sum, p) => sum + p.txDropped, 0);
  console.log(`made ${make!.generated} = arrived ${arrive!.inPackets} + dropped ${dropped}: ${make!.generated === arrive!.inPackets + dropped ? 'ok' : 'MISMATCH'}`);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
