/**
 * PUT /api/v1/config: a whole config, checked against the same schema `fastpath validate`
 * uses (shape problems: 400 ERR_CONFIG, each `path: reason`), then the engine's rules, then
 * applied live (`engine.apply`: no packet lost). A change only a restart can make is 409
 * ERR_NEEDS_RESTART and leaves the engine as it was.
 */
import { engineConfigSchema, type EngineConfig } from '@fastpath/types';
import { z } from 'zod';

import type { Api } from './app.js';
import { errorResponses, errorSchema } from './errors.js';

export function configRoutes(app: Api): void {
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
