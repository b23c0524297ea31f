/**
 * DPDK's own tools against a running engine (docs/observability.md, "DPDK's tools"): an engine
 * with `eal.secondaryProcesses` on hugepages lets `dpdk-proc-info` (a secondary process) attach
 * and read its ports' counters, and answers `dpdk-telemetry.py`; its hugepage files stay linked
 * while it runs and are gone after it stops. Without hugepages the option is refused before
 * EAL starts. dpdk-dumpcap is measured in bench/capture.ts, not here: it has crashed the
 * engine it attached to (DPDK's pdump, see the docs).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

import { expect, it } from 'vitest';

import { Engine, isFastpathError, type EngineConfig } from '@fastpath/control';

import { freeHugepages, leftovers } from './helpers.js';

const prefix = `fp-secondary-${process.pid}`;
const io = (hugepages: boolean): EngineConfig => ({
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { main: 0, workers: [1] },
  memory: { hugepages, mbufs: 8191 },
  eal: { filePrefix: prefix, logToStderr: false, secondaryProcesses: true },
  pipelines: [
    { name: 'a-to-b', input: 'a', output: 'b' },
    { name: 'b-to-a', input: 'b', output: 'a' },
  ],
});

it('refuses secondaryProcesses without hugepages, saying what to do', async () => {
  const refused = await Engine.start(io(false)).catch((e: unknown) => e);
  expect(isFastpathError(refused) && refused.code).toBe('ERR_CONFIG');
  expect((refused as Error).message).toContain('eal.secondaryProcesses: DPDK secondary processes (dpdk-dumpcap, dpdk-proc-info) share the engine');
  expect((refused as Error).message).toContain('set memory.hugepages to true');
});

it('lets dpdk-proc-info attach and dpdk-telemetry.py read, and leaves no hugepage file behind', async (ctx) => {
  if (process.getuid?.() !== 0) {
    console.warn('skipped: attaching a DPDK secondary process needs root (hugepages, /var/run/dpdk)');
    ctx.skip();
  }
  const free = freeHugepages()['hugepages-2048kB'] ?? 0;
  if (free < 32) {
    console.warn(`skipped: needs 32 free 2 MiB hugepages (${free} free)`);
    ctx.skip();
  }
  const hugeFiles = () => readdirSync('/dev/hugepages').filter((f) => f.startsWith(`${prefix}map_`));
  const engine = await Engine.start(io(true));
  try {
    expect(engine.info.hugepages).toBe(true);
    expect(engine.info.ealArgs).not.toContain('--huge-unlink=always');
    // What a secondary maps: the primary's hugepage files, by name.
    expect(hugeFiles().length).toBeGreaterThan(0);
    const before = engine.stats().ports[0]!.rxPackets;

    const info = spawnSync('dpdk-proc-info', ['--file-prefix', prefix, '--', '--stats'], { encoding: 'utf8', timeout: 30_000 });
    expect(info.status, info.stderr).toBe(0);
    // "######################## NIC statistics for port 0  ########################", then RX-packets.
    const rx = /NIC statistics for port 0[\s\S]*?RX-packets:\s+(\d+)/.exec(info.stdout);
    expect(rx, info.stdout).not.toBeNull();
    const after = engine.stats().ports[0]!.rxPackets;
    // The driver's count, read between two readings of the engine's own (which lag it by at most a burst).
    expect(Number(rx![1])).toBeGreaterThanOrEqual(before);
    expect(Number(rx![1])).toBeLessThanOrEqual(after + 32);

    const telemetry = spawnSync('dpdk-telemetry.py', ['-f', prefix], { input: '/ethdev/stats,1\n', encoding: 'utf8', timeout: 30_000 });
    expect(telemetry.status, telemetry.stderr).toBe(0);
    const line = telemetry.stdout.split('\n').find((l) => l.includes('"/ethdev/stats"'));
    expect(line, telemetry.stdout).toBeDefined();
    expect((JSON.parse(line!) as { '/ethdev/stats': { ipackets: number } })['/ethdev/stats'].ipackets).toBeGreaterThan(0);
  } finally {
    await engine.stop();
  }
  expect(hugeFiles()).toEqual([]);
  expect(leftovers(prefix)).toEqual([]);
});
