/**
 * bridge: an L2 MAC-learning bridge between two kernel interfaces, over AF_PACKET sockets.
 * Frames from one side go to the other; learned stations are forwarded to directly, unknown
 * and broadcast destinations are flooded. Needs root (raw sockets).
 *
 *   npx tsx examples/bridge.ts IFACE_A IFACE_B [--duration S] [--json]
 */
import { parseArgs } from 'node:util';

import { allowedCpus, defineConfig, describeEngine, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { fail, runExample } from './lib/run.js';

runExample('bridge', async (signals) => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { duration: { type: 'string', default: '3600' }, json: { type: 'boolean', default: false } },
  });
  const [ifaceA, ifaceB] = positionals;
  if (!ifaceA || !ifaceB || positionals.length !== 2) fail('bridge', 'usage: bridge IFACE_A IFACE_B [--duration S] [--json]');
  const [main = 0, worker = 1] = allowedCpus();

  const config = defineConfig({
    ports: { a: { afPacket: { iface: ifaceA } }, b: { afPacket: { iface: ifaceB } } },
    lcores: { main, workers: [worker] },
    memory: { hugepages: false },
    pipelines: [{ name: 'bridge', input: ['a', 'b'], stages: [{ kind: 'bridge', agingS: 300 }], output: ['a', 'b'] }],
  });

  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  console.log(`bridging ${ifaceA} <-> ${ifaceB}`);
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS: Number(values.duration), signals });
  for (const line of summaryLines(last, seconds)) console.log(line);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
