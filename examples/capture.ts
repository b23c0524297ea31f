/**
 * capture: capture from a forwarding engine to a pcapng file, live. A generator's UDP flows
 * loop through a net_ring port into a pipeline that swaps MACs and forwards to a sink; while it
 * forwards, `engine.capture()` copies the packets the filter matches, at the point asked, into
 * FILE (what `fastpath capture` does from another process).
 *
 *   npx tsx examples/capture.ts FILE.pcapng [--at input|output|drops] [--filter EXPR] [--count N] [--duration S]
 *
 * Then: `tshark -r FILE.pcapng`, or `capinfos FILE.pcapng` for the pipeline, point and filter.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { defineConfig, positiveInteger, positiveNumber, startUnlessStopped, UsageError, type CapturePoint } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const config = defineConfig({
  ports: { loop: { ring: {} }, sink: { null: {} } },
  lcores: { workers: [1] },
  memory: { hugepages: false },
  pipelines: [
    { name: 'make', generator: { flows: 16, packetSize: 128, srcIp: '198.18.0.1', dstIp: '198.19.0.1' }, output: 'loop' },
    { name: 'forward', input: 'loop', stages: ['macSwap'], output: 'sink' },
  ],
});

const CAPTURE = defineExample({
  name: 'capture',
  usage: 'npx tsx examples/capture.ts FILE.pcapng [--at input|output|drops] [--filter EXPR] [--count N] [--duration S]',
  summary: 'Capture from a forwarding engine to a pcapng file, live',
  options: {
    at: { type: 'string', default: 'output', value: 'POINT', help: "where in the 'forward' pipeline: input, output (default) or drops" },
    filter: { type: 'string', default: 'udp src port 1024', value: 'EXPR', help: 'a tcpdump filter expression' },
    count: { type: 'string', default: '1000', value: 'N', help: 'stop after N packets' },
    duration: { type: 'string', default: '10', value: 'S', help: 'stop after S seconds at most' },
  },
  positionals: { min: 1, max: 1, missing: 'say which file to write' },
});

runExample(CAPTURE, async (signals, { values, positionals }) => {
  const at = values.at as CapturePoint;
  if (!['input', 'output', 'drops'].includes(at)) throw new UsageError(`--at is input, output or drops, not ${JSON.stringify(at)}`);
  const count = positiveInteger('--count', values.count);
  const durationS = positiveNumber('--duration', values.duration, 'seconds');
  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  try {
    const capture = await engine.capture({ pipeline: 'forward', at, filter: values.filter, count, durationS });
    console.log(`capturing 'forward' at ${at}, filter "${values.filter}" (${capture.jit ? 'JIT-compiled' : 'interpreted'}) into ${positionals[0]}`);
    void signals.stopped.then(() => capture.stop());
    const started = performance.now();
    await pipeline(capture, createWriteStream(positionals[0]!));
    const { captured, dropped } = await capture.done;
    const seconds = (performance.now() - started) / 1000;
    const forwarded = engine.stats().pipelines.find((p) => p.name === 'forward')!.outPackets;
    console.log(`captured ${captured}, dropped ${dropped} in ${seconds.toFixed(2)} s; the engine has forwarded ${forwarded.toLocaleString('en-US')} packets since it started`);
  } finally {
    await engine.stop();
  }
});
