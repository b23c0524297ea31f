/**
 * exporter: serve Prometheus metrics for an engine this process does not own, read from its
 * shared-memory stats segment, with `serve()` of @fastpath/control (so the same port also has
 * the read-only API and the dashboard; `fastpath serve --attach NAME` is this from the CLI).
 *
 *   npx tsx examples/exporter.ts [NAME] [--port PORT]
 *
 * NAME is the engine's EAL file prefix (`fastpath ls` lists them); without it, the only
 * running engine. Once that engine stops, /metrics says fastpath_up 0; when another of its
 * name starts, the next scrape finds it.
 */
import { positiveInteger, serve, StatsReader } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const EXPORTER = defineExample({
  name: 'exporter',
  usage: 'npx tsx examples/exporter.ts [NAME] [--port PORT]',
  summary: 'Serve Prometheus metrics for an engine this process does not own, read from its stats segment',
  options: {
    port: { type: 'string', default: '9464', value: 'PORT', help: 'serve http://127.0.0.1:PORT/metrics' },
  },
  positionals: { min: 0, max: 1 },
  notes: ["NAME: the engine's EAL file prefix, as `fastpath ls` lists it; without it, the only running engine."],
});

runExample(EXPORTER, async (signals, { values, positionals }) => {
  const port = positiveInteger('--port', values.port, 65535);
  const server = await serve(StatsReader.attach(positionals[0]), { listen: `127.0.0.1:${port}` });
  console.log(`serving ${server.url}/metrics for ${positionals[0] ?? 'the running engine'}`);
  // Serve until a signal; then stop taking connections and end those open.
  await signals.stopped;
  await server.close();
});
