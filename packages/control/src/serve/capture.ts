/**
 * GET /api/v1/capture: a live capture as a pcapng download that lasts as long as the request
 * (or `count` packets, or `durationS`): what `engine.capture()` and `fastpath capture` give,
 * over HTTP, for an engine of this process or an attached one. Packets are data, not counters:
 * the route always needs the token, as changes do. Closing the request stops the capture.
 *
 *   curl -H "Authorization: Bearer $(cat token)" -N \
 *     'http://127.0.0.1:9400/api/v1/capture?filter=udp&count=100' > dns.pcapng
 */
import { z } from 'zod';

import { Capture } from '../capture.js';
import type { Api } from './app.js';
import { errorResponses, errorSchema } from './errors.js';

/** The route, for the token check (auth.ts): it needs a token as changes do. */
export const CAPTURE_PATH = '/api/v1/capture';

export function captureRoutes(app: Api): void {
  app.get(
    '/capture',
    {
      schema: {
        summary: 'A live capture, streamed as pcapng (application/x-pcapng) until count, durationS or the client closes',
        querystring: z
          .object({
            pipeline: z.string().optional().describe('the pipeline (its name); none: every pipeline'),
            at: z.enum(['input', 'output', 'drops']).optional().describe('where packets are copied (default input)'),
            filter: z.string().optional().describe('a tcpdump filter expression'),
            snaplen: z.coerce.number().int().min(1).max(65_535).optional(),
            count: z.coerce.number().int().min(1).optional().describe('stop after this many packets'),
            durationS: z.coerce.number().positive().max(86_400).optional().describe('stop after this many seconds'),
          })
          .strict(),
        // 200 is a pcapng stream, not JSON (Fastify sends a stream as it is).
        response: { 200: z.unknown().describe('pcapng (application/x-pcapng)'), ...errorResponses, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const capture = await Capture.start(app.source.control, request.query);
      // The client went away (or the server closes): the engine stops copying.
      reply.raw.once('close', () => capture.destroy());
      return reply
        .header('content-type', 'application/x-pcapng')
        .header('content-disposition', 'attachment; filename="capture.pcapng"')
        .header('cache-control', 'no-store')
        .send(capture);
    },
  );
}
