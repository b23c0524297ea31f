/**
 * exporter: serve Prometheus metrics for an engine this process does not own, read from its
 * shared-memory stats segment.
 *
 *   npx tsx examples/exporter.ts [NAME] [--port PORT]
 *
 * NAME is the engine's EAL file prefix (`fastpath ls` lists them); without it, the only
 * running engine. If the engine stops and another of that name starts, the next scrape
 * finds the new one.
 */
import { createServer } from 'node:http';

import { positiveInteger, prometheusRegistry, StatsReader } from '@fastpath/control';

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
  const name = positionals[0];
  const port = positiveInteger('--port', values.port, 65535);

  // Re-attach whenever the engine we read is gone (stopped, restarted, killed).
  let reader: StatsReader | undefined;
  const source = () => {
    if (!reader?.alive) reader = StatsReader.attach(name);
    return reader;
  };
  const registry = prometheusRegistry(source);

  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(`${String(error)}\n`),
    );
  });
  server.listen(port, '127.0.0.1', () => console.log(`serving http://127.0.0.1:${port}/metrics for ${name ?? 'the running engine'}`));
  // Serve until a signal; then stop taking connections and end those open.
  await signals.stopped;
  server.close();
  server.closeAllConnections();
});
