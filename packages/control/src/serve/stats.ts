/** GET /api/v1/stats and /rates: the counters, read from the stats segment (plain memory reads). */
import { z } from 'zod';

import type { Api } from './app.js';
import { errorResponses } from './errors.js';

/**
 * The snapshot's top level (the full shape is generated from the segment's directory, see
 * docs/stats-layout.md); loose, so every field the engine adds passes through unchanged.
 */
const snapshot = z.looseObject({
  name: z.string(),
  pid: z.number(),
  alive: z.boolean(),
  uptimeNs: z.number(),
  generation: z.number(),
  ports: z.array(z.looseObject({ name: z.string(), rxPackets: z.number(), txPackets: z.number() })),
  lcores: z.array(z.looseObject({ name: z.string() })),
  pipelines: z.array(z.looseObject({ name: z.string(), inPackets: z.number(), outPackets: z.number(), dropped: z.number() })),
});

/** One port's rates (StatsReader.rates). */
const portRates = z.object({
  name: z.string(),
  rxPps: z.number().describe('packets received per second'),
  txPps: z.number().describe('packets sent per second'),
  dropPps: z.number().describe('packets dropped per second'),
});

/** The counter routes: /stats and /rates. */
export function statsRoutes(app: Api): void {
  app.get(
    '/stats',
    { schema: { summary: 'Every counter: the same JSON as `fastpath stats --json`', querystring: z.object({}).strict(), response: { 200: snapshot, ...errorResponses } } },
    // EngineStats has no index signature; the loose schema passes every field through as is.
    async () => app.source.stats() as unknown as z.output<typeof snapshot>,
  );
  app.get(
    '/rates',
    {
      schema: {
        summary: 'Per-port rx, tx and drop packets per second over a recent window, from the 10 ms sample ring',
        querystring: z.object({ windowMs: z.coerce.number().int().min(10).max(60_000).default(1000).describe('the window, in ms (default 1000)') }).strict(),
        response: { 200: z.array(portRates), ...errorResponses },
      },
    },
    async (request) => app.source.reader.rates(request.query.windowMs),
  );
}
