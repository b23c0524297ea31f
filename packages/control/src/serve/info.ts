/** GET /api/v1/info: what the engine is (IOVA mode, lcores, ports, memory map), fixed at start. */
import { z } from 'zod';

import type { Api } from './app.js';

export function infoRoutes(app: Api): void {
  app.get(
    '/info',
    {
      schema: {
        summary: 'The engine: IOVA mode, lcores, ports, memory map',
        description: 'Served for an engine in this process: `engine` is its full EngineInfo (EAL args, mempool, DPDK version). Attached to another process: what its stats segment says.',
        querystring: z.object({}).strict(),
      },
    },
    async () => {
      const { engine, reader } = app.source;
      const memory = reader.memoryMap();
      if (engine) {
        const info = engine.info;
        return { name: reader.name, pid: reader.pid, attached: false, iovaMode: info.iovaMode, lcores: { main: info.mainLcore, workers: info.workers }, ports: info.ports, memory, engine: info };
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
      };
    },
  );
}
