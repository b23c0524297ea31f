/** GET /api/v1/info: what the engine is (IOVA mode, lcores, ports, memory map), fixed at start. */
import { z } from 'zod';

import type { Api } from './app.js';
import { errorResponses } from './errors.js';

/** What every /info answer has; loose, so an engine's full `engine` info passes through. */
const info = z.looseObject({
  name: z.string(),
  pid: z.number(),
  attached: z.boolean().describe('true: read from another process\'s stats segment (no `engine`)'),
  iovaMode: z.enum(['PA', 'VA']).nullable(),
  lcores: z.looseObject({ workers: z.array(z.looseObject({ lcore: z.number() })) }),
  ports: z.array(z.looseObject({ name: z.string(), linkUp: z.boolean() })),
  memory: z.looseObject({ bytes: z.number(), pageSize: z.number(), runs: z.array(z.looseObject({ va: z.string(), iova: z.string(), bytes: z.number() })) }).describe('the memory map of `fastpath mem map`'),
});

export function infoRoutes(app: Api): void {
  app.get(
    '/info',
    {
      schema: {
        summary: 'The engine: IOVA mode, lcores, ports, memory map',
        description: 'Served for an engine in this process: `engine` is its full EngineInfo (EAL args, mempool, DPDK version). Attached to another process: what its stats segment says.',
        querystring: z.object({}).strict(),
        response: { 200: info, ...errorResponses },
      },
    },
    // The info types have no index signature; the loose schema passes every field through.
    async (): Promise<z.output<typeof info>> => {
      const { engine, reader } = app.source;
      const memory = reader.memoryMap();
      if (engine) {
        const full = engine.info;
        return { name: reader.name, pid: reader.pid, attached: false, iovaMode: full.iovaMode, lcores: { main: full.mainLcore, workers: full.workers }, ports: full.ports, memory, engine: full } as unknown as z.output<typeof info>;
      }
      const snap = reader.snapshot();
      return {
        name: snap.name,
        pid: snap.pid,
        attached: true,
        iovaMode: memory.iovaMode,
        lcores: { workers: snap.lcores.map((l) => ({ lcore: Number(l.name) })) },
        ports: snap.ports.map((p) => ({ name: p.name, linkUp: p.linkUp !== 0 })),
        memory,
      } as unknown as z.output<typeof info>;
    },
  );
}
