/** GET /healthz (this process answers) and /readyz (the engine runs: its heartbeat is recent), for supervisors. */
import { ErrorCode } from '@fastpath/types';

import { z } from 'zod';

import type { Api } from './app.js';
import { errorSchema } from './errors.js';

export function healthRoutes(app: Api): void {
  app.get('/healthz', { schema: { summary: 'The server process is up (open without a token)', response: { 200: z.object({ ok: z.literal(true) }) } } }, async () => ({ ok: true as const }));
  app.get('/readyz', { schema: { summary: 'The engine is running: not stopped, its heartbeat under 2 s old', response: { 200: z.object({ ready: z.literal(true) }), 401: errorSchema, 503: errorSchema } } }, async (_request, reply) => {
    if (app.source.ready) return { ready: true as const };
    return reply.code(503).send({ code: ErrorCode.Stopped, message: `the engine ${app.source.reader.name} is stopped or its heartbeat is stale` });
  });
}
