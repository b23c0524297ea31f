/** GET /healthz (this process answers) and /readyz (the engine runs: its heartbeat is recent), for supervisors. */
import { ErrorCode } from '@fastpath/types';

import type { Api } from './app.js';

export function healthRoutes(app: Api): void {
  app.get('/healthz', { schema: { summary: 'The server process is up (open without a token)' } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { summary: "The engine is running: not stopped, its heartbeat under 2 s old" } }, async (_request, reply) => {
    if (app.source.ready) return { ready: true };
    return reply.code(503).send({ code: ErrorCode.Stopped, message: `the engine ${app.source.reader.name} is stopped or its heartbeat is stale` });
  });
}
