/**
 * `stats: { counters: false }`: the workers keep no software counters (what the stats
 * on/off benchmark compares), while the drivers' counters still reach the segment and every reader.
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
    expect(await waitFor(() => reader.snapshot().ports[0]!.driverRxPackets > 0)).toBe(true);
    const snap = reader.snapshot();
    // The workers count nothing: their loop, pipeline, lane and sample counters stay 0...
    expect(snap.lcores[0]!.loops).toBe(0);
    expect(snap.lcores[0]!.rxPackets).toBeUndefined();
    expect(snap.pipelines[0]!.inPackets).toBe(0);
    expect(snap.ports.map((p) => [p.unrouted, p.busyPolls])).toEqual([[0, 0], [0, 0]]);
    expect(reader.sample(reader.samplesWritten - 1)?.ports[0]!.rxPackets).toBe(0);
    // ...and the segment's directory points the ports' packet counts at the drivers' counts,
    // for every reader alike (this process's engine.stats() included).
    expect(snap.ports.map((p) => p.rxPackets)).toEqual(snap.ports.map((p) => p.driverRxPackets));
    expect(snap.ports.map((p) => p.txPackets)).toEqual(snap.ports.map((p) => p.driverTxPackets));
    const api = engine.stats();
    expect(api.ports[0]!.rxPackets).toBeGreaterThanOrEqual(snap.ports[0]!.driverRxPackets);
    expect(api.ports[1]!.txPackets).toBeGreaterThan(0);
  } finally {
    await engine.stop();
  }
});
