/**
 * Route tables across live changes: apply() swaps in a program with new tables while the old
 * still route, and the old are freed once every worker has moved on. Ten swaps between two
 * configs that send the generator's traffic to different next hops must each take effect,
 * on the memory the engine planned at start (without hugepages: nothing grows on demand).
 */
import { expect, it } from 'vitest';

import { Engine, type EngineConfig } from '@fastpath/control';

import { waitFor } from './helpers.js';

/** The generator's packets to 198.18.0.5, routed by a /24 (and 64 more routes) to `via`. */
function config(via: 'x' | 'y'): EngineConfig {
  const routes = Array.from({ length: 64 }, (_, i) => ({ prefix: `10.${i}.0.0/16`, via: 'x' }));
  return {
    ports: { out: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [
      {
        name: 'gen',
        generator: { dstIp: '198.18.0.5', flows: 16 },
        stages: [
          {
            kind: 'route',
            name: 'r',
            routes: [...routes, { prefix: '198.18.0.0/24', via }],
            nextHops: { x: { port: 'out', dstMac: '02:00:00:00:00:0a' }, y: { port: 'out', dstMac: '02:00:00:00:00:0b' } },
          },
        ],
        output: 'out',
      },
    ],
  };
}

it('swaps route tables live, each change taking effect, on the memory planned at start', async () => {
  const engine = await Engine.start(config('x'));
  const forwarded = (hop: number) => engine.stats().pipelines[0]!.routes[0]!.nextHops[hop]!.forwarded;
  try {
    for (let i = 0; i < 10; i++) {
      const via = i % 2 === 0 ? 'y' : 'x';
      await engine.apply(config(via));
      // The hop the new table names moves on; the other stops (after what was in flight).
      const [moving, still] = via === 'x' ? [0, 1] : [1, 0];
      const before = forwarded(moving);
      expect(await waitFor(() => forwarded(moving) > before + 1000), `swap ${i} to ${via}`).toBe(true);
      const settled = forwarded(still);
      await new Promise((r) => setTimeout(r, 50));
      expect(forwarded(still), `swap ${i}: ${via === 'x' ? 'y' : 'x'} still counts`).toBe(settled);
    }
  } finally {
    await engine.stop();
  }
}, 60_000);
