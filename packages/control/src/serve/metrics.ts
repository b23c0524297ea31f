/**
 * GET /metrics: the prom-client registry of prometheus.ts over the served segment. Values are
 * read at scrape time from mapped memory, so a scrape every second costs the data plane nothing.
 */
import { prometheusRegistry } from '../prometheus.js';
import type { Api } from './app.js';

export function metricsRoutes(app: Api): void {
  // A function: an attached server's reader changes when its engine restarts.
  const registry = prometheusRegistry(() => app.source.reader);
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)' } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
