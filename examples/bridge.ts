/**
 * bridge: an L2 MAC-learning bridge between two kernel interfaces, over AF_PACKET sockets.
 * Frames from one side go to the other; learned stations are forwarded to directly, unknown
 * and broadcast destinations are flooded. Needs root (raw sockets).
 *
 *   npx tsx examples/bridge.ts IFACE_A IFACE_B [--duration S] [--json]
 */
import { allowedCpus, defineConfig, describeEngine, positiveNumber, runLive, startUnlessStopped, summaryJson, summaryLines } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const BRIDGE = defineExample({
  name: 'bridge',
  usage: 'npx tsx examples/bridge.ts IFACE_A IFACE_B [--duration S] [--json]',
  summary: 'An L2 MAC-learning bridge between two kernel interfaces, over AF_PACKET sockets (needs root)',
  options: {
    duration: { type: 'string', default: '3600', value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    json: { type: 'boolean', default: false, help: 'end with the summary as one line of JSON' },
  },
  positionals: { min: 2, max: 2 },
});

runExample(BRIDGE, async (signals, { values, positionals }) => {
  const [ifaceA, ifaceB] = positionals as [string, string];
  const durationS = positiveNumber('--duration', values.duration, 'seconds');
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
  const { last, seconds } = await runLive(engine, { durationS, signals });
  for (const line of summaryLines(engine.info, last, seconds)) console.log(line);
  if (values.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
