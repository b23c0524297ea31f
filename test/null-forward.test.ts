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
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { main: 0, workers: [1] },
      memory: { hugepages: false, mbufs: 8191, mbufCache: 128 },
      eal: { logLevel: 'notice' },
      pipelines: [
        { name: 'a-to-b', input: 'a', output: 'b' },
        { name: 'b-to-a', input: 'b', output: 'a' },
      ],
    });
  });

  afterAll(async () => {
    if (engine && !engine.stopped) await engine.stop();
  });

  it('reports what DPDK chose: IOVA as VA without hugepages, no PCI, the lcore → queue map', () => {
    expect(engine.iovaMode).toBe('VA');
    expect(engine.info.hugepages).toBe(false);
    expect(engine.info.ealArgs).toContain('--no-pci');
    expect(engine.info.ealArgs).toContain('--no-huge');
    expect(engine.info.workers).toEqual([{ lcore: 1, cpu: 1, rxQueues: ['a:0', 'b:0'], generators: [] }]);
    expect(engine.info.ports.map((p) => [p.name, p.driver, p.device])).toEqual([
      ['a', 'net_null', 'net_null0'],
      ['b', 'net_null', 'net_null1'],
    ]);
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
    const [a, b] = last.ports as [(typeof last.ports)[0], (typeof last.ports)[0]];
    // With the workers stopped, every packet received was sent out of the other port or dropped there.
    expect(a.rxPackets).toBe(b.txPackets + b.txDropped);
    expect(b.rxPackets).toBe(a.txPackets + a.txDropped);
    expect(a.rxPackets).toBeGreaterThanOrEqual(live.ports[0]!.rxPackets);
    expect(last.pipelines.map((p) => p.inPackets)).toEqual([a.rxPackets, b.rxPackets]);
    expect(last.lcores[0]!.rxPackets).toBe(a.rxPackets + b.rxPackets);
    expect(last.mempool.inUse).toBe(0);
  });

  it('refuses stats after stop, and a second EAL in the same process, with codes', async () => {
    expect(() => engine.stats()).toThrow(expect.objectContaining({ code: ErrorCode.Stopped }));
    const again = await Engine.start({
      ports: { c: { null: {} } },
      lcores: { workers: [1] },
      memory: { hugepages: false },
      pipelines: [{ input: 'c', stages: ['drop'] }],
    }).catch((e: unknown) => e);
    expect(isFastpathError(again, ErrorCode.EalAlready)).toBe(true);
    expect((again as Error).message).toMatch(/own process/);
  });
});
