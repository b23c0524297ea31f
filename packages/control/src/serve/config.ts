/**
 * GET /api/v1/config: the config the engine runs (as started, then as last applied), to edit
 * and send back. PUT /api/v1/config: a whole config, checked against the same schema `fastpath validate`
 * uses (shape problems: 400 ERR_CONFIG, each `path: reason`), then the engine's rules, then
 * applied live (`engine.apply`: no packet lost). A change only a restart can make is 409
 * ERR_NEEDS_RESTART and leaves the engine as it was.
 */
import { ControlErrorCode, engineConfigSchema, type EngineConfig } from '@fastpath/types';
import { z } from 'zod';

import type { Api } from './app.js';
import { errorResponses, errorSchema, HttpError } from './errors.js';

export function configRoutes(app: Api): void {
  app.get(
    '/config',
    {
      schema: {
        summary: 'The config the engine runs: as started, then as last applied (PUT it back changed)',
        querystring: z.object({}).strict(),
        response: { 200: engineConfigSchema, ...errorResponses },
      },
    },
    async () => {
      const { engine, reader } = app.source;
      if (engine === undefined) {
        // The segment holds counters, not the config: only the engine's own process has it.
        throw new HttpError(404, ControlErrorCode.ReadOnly, `this server is attached to ${reader.name}'s stats segment, which does not hold its config: read it where the engine was started`);
      }
      return engine.config;
    },
  );
  app.put(
    '/config',
    {
      schema: {
        summary: "Apply a config live (pipelines, stages, rules); ports, lcores and memory need a restart",
        body: engineConfigSchema,
        response: {
          200: z.object({ generation: z.number().describe('the pipeline generation now running') }),
          ...errorResponses,
          405: errorSchema,
          409: errorSchema,
          413: errorSchema,
          415: errorSchema,
        },
      },
    },
    async (request) => {
      const engine = app.source.changeable();
      // The schema fills no defaults: the parsed body is the config as sent; apply checks the engine rules.
      return { generation: await engine.apply(request.body as EngineConfig) };
    },
  );
}
