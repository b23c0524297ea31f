/**
 * generator: a flowgen-style generator makes UDP packets of 16 flows into ring r0; a second
 * pipeline forwards what r0 receives into ring r1, and a third counts what arrives on r1.
 * Every packet made is accounted for: made = arrived + dropped.
 *
 *   npx tsx examples/generator.ts [--duration S] [--size BYTES] [--flows N] [--json]
 */
import { defineConfig, describeEngine, positiveInteger, positiveNumber, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const GENERATOR = defineExample({
  name: 'generator',
  usage: 'npx tsx examples/generator.ts [--duration S] [--size BYTES] [--flows N] [--json]',
  summary: 'Generate UDP packets into a ring, forward them into another and count them: made = arrived + dropped',
  options: {
    duration: { type: 'string', default: '5', value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    size: { type: 'string', default: '64', value: 'BYTES', help: 'size of each packet made' },
    flows: { type: 'string', default: '16', value: 'N', help: 'how many UDP flows to make packets of' },
    json: { type: 'boolean', default: false, help: 'end with the summary as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
});

runExample(GENERATOR, async (signals, { values }) => {
  const durationS = positiveNumber('--duration', values.duration, 'seconds');
  const packetSize = positiveInteger('--size', values.size);
  const flows = positiveInteger('--flows', values.flows);
  const config = defineConfig({
    ports: { r0: { ring: {} }, r1: { ring: {} } },
    lcores: { workers: [1] },
    pipelines: [
      { name: 'make', generator: { packetSize, flows }, output: 'r0' },
      { name: 'carry', input: 'r0', output: 'r1' },
      { name: 'arrive', input: 'r1', stages: ['drop'] },
    ],
  });

  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS, signals });
  for (const line of summaryLines(engine.info, last, seconds)) console.log(line);

  const [make, , arrive] = last.pipelines;
  const dropped = last.ports.reduce((sum, p) => sum + p.txDropped, 0);
  console.log(`made ${make!.generated} = arrived ${arrive!.inPackets} + dropped ${dropped}: ${make!.generated === arrive!.inPackets + dropped ? 'ok' : 'MISMATCH'}`);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
