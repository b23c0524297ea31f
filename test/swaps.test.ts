/**
 * Hitless changes: while a generator pushes packets through net_ring ports at full speed,
 * the filter pipeline is replaced 121 times (rules added, removed, changed). Afterwards
 * every packet made is accounted for exactly: arrived + dropped by rules + dropped at full
 * tx queues. Nothing lost, nothing duplicated. Refused changes leave the engine untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, type EngineConfig, type StageConfig } from '@fastpath/control';

const variants: StageConfig[][] = [
  [],
  [{ kind: 'match', name: 'drop-some-flows', match: { proto: 'udp', srcPort: [1024, 1031] }, action: 'drop' }],
  [{ kind: 'match', name: 'count-all', match: { ethertype: 0x0800 }, action: 'count' }, 'macSwap'],
  [{ kind: 'match', name: 'drop-some-flows', match: { proto: 'udp', srcPort: [1024, 1031] }, action: 'drop' }, 'fiveTupleSwap'],
];

const config = (filter: StageConfig[]): EngineConfig => ({
  ports: { gen: { ring: {} }, sink: { ring: {} } },
  lcores: { workers: [1] },
  memory: { hugepages: false },
  pipelines: [
    { name: 'make', generator: { flows: 64, packetSize: 64 }, output: 'gen' },
    { name: 'filter', input: 'gen', stages: filter, output: 'sink' },
    { name: 'arrive', input: 'sink', stages: ['drop'] },
  ],
});

describe('apply() under load on net_ring', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(config(variants[0]!));
  });
  afterAll(async () => {
    if (engine && !engine.stopped) await engine.stop();
  });

  it('refuses changes that need a restart, and bad configs, leaving the engine as it was', async () => {
    const before = engine.stats();
    const queues = await engine.apply({ ...config([]), ports: { gen: { ring: {}, queues: 2 }, sink: { ring: {} } } }).catch((e: unknown) => e);
    expect(queues).toBeInstanceOf(FastpathError);
    expect((queues as FastpathError).code).toBe(ErrorCode.NeedsRestart);
    expect((queues as FastpathError).message).toMatch(/^ports\.gen\.queues changed from 1 to 2: that needs a port or EAL restart/);
    const bad = await engine.apply(config([{ kind: 'match', match: { dst: '10.0.0.0/33' }, action: 'drop' }])).catch((e: unknown) => e);
    expect((bad as FastpathError).code).toBe(ErrorCode.Config);
    expect((bad as FastpathError).message).toBe('pipelines[1].stages[0].match.dst: "10.0.0.0/33" is not a valid IPv4 prefix');
    const after = engine.stats();
    expect(after.generation).toBe(before.generation);
    expect(after.pipelines[1]!.inPackets).toBeGreaterThan(before.pipelines[1]!.inPackets);
  });

  it('swaps 121 times without losing or duplicating a packet', async () => {
    const start = engine.stats().generation;
    for (let i = 1; i <= 121; i++) {
      const generation = await engine.apply(config(variants[i % variants.length]!));
      expect(generation).toBe(start + i);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const last = await engine.stop();
    const [make, filter, arrive] = last.pipelines as [(typeof last.pipelines)[0], (typeof last.pipelines)[0], (typeof last.pipelines)[0]];
    const txDropped = last.ports.reduce((sum, p) => sum + p.txDropped, 0);
    const unrouted = last.ports.reduce((sum, p) => sum + p.unrouted, 0);
    expect(make.generated).toBeGreaterThan(1_000_000);
    expect(filter.dropped).toBeGreaterThan(0);
    expect(arrive.inPackets).toBeGreaterThan(0);
    expect(unrouted).toBe(0);
    // sent = received + counted drops, exactly.
    expect(make.generated).toBe(arrive.inPackets + filter.dropped + txDropped);
    expect(filter.inPackets).toBe(last.ports[0]!.rxPackets);
    expect(arrive.inPackets).toBe(last.ports[1]!.rxPackets);
    // Every match stage the pipeline has run is listed, by name: its count carries over every
    // swap, whether or not the current program still has it. Only the drop rule drops.
    expect(filter.rules.map((r) => r.name)).toEqual(['drop-some-flows', 'count-all']);
    expect(filter.rules[0]!.matched).toBe(filter.dropped);
    expect(filter.rules[1]!.matched).toBeGreaterThan(0);
    expect(last.generation).toBe(1 + 121);
  });
});
