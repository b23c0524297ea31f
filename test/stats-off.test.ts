/**
 * `stats: { counters: false }`: the workers keep no software counters (what the stats
 * on/off benchmark compares), while the drivers' counters still reach the segment and the API.
 */
import { expect, it } from 'vitest';

import { Engine, StatsReader } from '@fastpath/control';

import { waitFor } from './helpers.js';

it('with stats.counters off, the workers count nothing and the drivers still do', async () => {
  const engine = await Engine.start({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: `fp-nocount-${process.pid}` },
    pipelines: [{ input: 'a', output: 'b' }],
    stats: { counters: false },
  });
  try {
    const reader = StatsReader.attach(`fp-nocount-${process.pid}`);
    expect(await waitFor(() => reader.snapshot().ports[0]!.driver.rxPackets > 0)).toBe(true);
    const snap = reader.snapshot();
    expect(snap.ports.map((p) => [p.rxPackets, p.txPackets])).toEqual([[0, 0], [0, 0]]);
    expect(snap.lcores[0]!.loops).toBe(0);
    expect(snap.pipelines[0]!.inPackets).toBe(0);
    // The API falls back to the drivers' counts.
    const api = engine.stats();
    expect(api.ports[0]!.rxPackets).toBeGreaterThanOrEqual(snap.ports[0]!.driver.rxPackets);
    expect(api.ports[1]!.txPackets).toBeGreaterThan(0);
  } finally {
    await engine.stop();
  }
});
