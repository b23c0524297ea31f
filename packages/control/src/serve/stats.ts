/** GET /api/v1/stats and /rates: the counters, read from the stats segment (plain memory reads). */
import { z } from 'zod';

import type { Api } from './app.js';

export function statsRoutes(app: Api): void {
  app.get(
    '/stats',
    { schema: { summary: 'Every counter: the same JSON as `fastpath stats --json`', querystring: z.object({}).strict() } },
    async () => app.source.stats(),
  );
  app.get(
    '/rates',
    {
      schema: {
        summary: 'Per-port packet and byte rates over a recent window, from the 10 ms sample ring',
        querystring: z.object({ windowMs: z.coerce.number().int().min(10).max(60_000).default(1000).describe('the window, in ms (default 1000)') }).strict(),
      },
    },
    async (request) => app.source.reader.rates(request.query.windowMs),
  );
}
