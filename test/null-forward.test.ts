/**
 * An engine started from TypeScript on two net_null vdevs, in this (forked) test process:
 * packets flow both ways, the counters agree, Node's own thread keeps its CPU affinity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { allowedCpus, Engine, ErrorCode, isFastpathError, type EngineStats } from '@fastpath/control';

describe('io forwarding between two net_null ports', () => {
  const affinityBefore = allowedCpus();
  let engine: Engine;
  let live: EngineStats;

  beforeAll(async () => {
    engine = await Engine.start({
      ports: [{ vdev: 'net_null0' }, { vdev: 'net_null1' }],
      lcores: { main: 0, workers: [1] },
      memory: { hugepages: false, mbufs: 8191, mbufCache: 128 },
      eal: { logLevel: 'notice' },
    });
  });

  afterAll(async () => {
    if (engine && !engine.stopped) await engine.stop();
  });

  it('reports what DPDK chose: IOVA as VA without hugepages, no PCI, the lcore layout', () => {
    expect(engine.iovaMode).toBe('VA');
    expect(engine.info.hugepages).toBe(false);
    expect(engine.info.ealArgs).toContain('--no-pci');
    expect(engine.info.ealArgs).toContain('--no-huge');
    expect(engine.info.workers).toEqual([{ lcore: 1, directions: ['net_null0→net_null1', 'net_null1→net_null0'] }]);
    expect(engine.info.ports.map((p) => p.driver)).toEqual(['net_null', 'net_null']);
    expect(engine.info.mempool.capacity).toBe(8191);
  });

  it("leaves Node's main thread on every CPU it had while the workers poll", async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.stats().lcores[0]!.rxPackets).toBeGreaterThan(0);
    expect(allowedCpus()).toEqual(affinityBefore);
  });

  it('counts on each port what the other one sent', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    live = engine.stats();
    for (const port of live.ports) {
      expect(port.rxPackets).toBeGreaterThan(0);
      expect(port.txPackets).toBeGreaterThan(0);
    }
    const last = await engine.stop();
    const [p0, p1] = last.ports as [(typeof last.ports)[0], (typeof last.ports)[0]];
    // With the workers stopped, every packet received was sent out of the other port or dropped.
    expect(p0.rxPackets).toBe(p1.txPackets + p0.rxDropped);
    expect(p1.rxPackets).toBe(p0.txPackets + p1.rxDropped);
    expect(p0.rxPackets).toBeGreaterThanOrEqual(live.ports[0]!.rxPackets);
    expect(last.lcores[0]!.rxPackets).toBe(p0.rxPackets + p1.rxPackets);
    expect(last.mempoolInUse).toBe(0);
  });

  it('refuses stats after stop, and a second EAL in the same process, with codes', async () => {
    expect(() => engine.stats()).toThrow(expect.objectContaining({ code: ErrorCode.Stopped }));
    const again = await Engine.start({
      ports: [{ vdev: 'net_null2' }, { vdev: 'net_null3' }],
      lcores: { workers: [1] },
      memory: { hugepages: false },
    }).catch((e: unknown) => e);
    expect(isFastpathError(again, ErrorCode.EalOnce)).toBe(true);
    expect((again as Error).message).toMatch(/own process/);
  });
});
