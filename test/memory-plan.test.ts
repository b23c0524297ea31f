/**
 * The memory planner against the real thing: `fastpath mem plan examples/l2fwd.ts` states
 * the pages to reserve; the engine started with that config takes exactly that many
 * hugepages and comes up with less than one page of its heap to spare; `fastpath mem map`
 * from another process shows the IOVA mode and the memory runs the engine reports.
 */
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { Engine, loadConfig, type EngineConfig, type MemoryPlan } from '@fastpath/control';

import { repoRoot, runCli } from './helpers.js';

const HUGEPAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB';
const freePages = () => Number(readFileSync(`${HUGEPAGES}/free_hugepages`, 'utf8'));

it('starts examples/l2fwd.ts on exactly the planned pages, with under a page to spare', async (ctx) => {
  if (freePages() < 64) {
    console.warn(`skipped: needs 64 free 2 MiB hugepages (${freePages()} free); run npm test as root to reserve them`);
    ctx.skip();
  }
  const planned = runCli(['mem', 'plan', 'examples/l2fwd.ts', '--json']);
  expect(planned.status, planned.stderr).toBe(0);
  const plan = JSON.parse(planned.stdout) as MemoryPlan;
  expect(plan.hugepages).toBe(true);
  expect(plan.pageSize).toBe(2 << 20);
  expect(plan.pages).toBe(plan.heapPages + plan.statsPages);
  expect(plan.ealArgs).toContain(String(plan.heapPages * 2));
  const text = runCli(['mem', 'plan', 'examples/l2fwd.ts']);
  expect(text.stdout).toContain(`needs ${plan.pages} free page(s) of 2 MiB`);
  // --reserve (root) raises nr_hugepages only when fewer than the planned pages are free
  // (mem-reserve.test.ts reserves for a plan that needs more).
  const total = Number(readFileSync(`${HUGEPAGES}/nr_hugepages`, 'utf8'));
  const reserved = runCli(['mem', 'plan', 'examples/l2fwd.ts', '--reserve']);
  if (process.getuid?.() === 0) {
    expect(reserved.status, reserved.stderr).toBe(0);
    expect(reserved.stdout).toContain(`already free, this config needs ${plan.pages}: nothing to reserve`);
    expect(Number(readFileSync(`${HUGEPAGES}/nr_hugepages`, 'utf8'))).toBe(total);
  } else {
    expect(reserved.status).toBe(1);
    expect(reserved.stderr).toMatch(/reserving hugepages needs root.*\[ERR_PERMISSION\]/);
  }

  const name = `fp-memplan-${process.pid}`;
  const before = freePages();
  // The config the CLI planned, loaded the way the CLI loads it.
  const l2fwd = (await loadConfig(`${repoRoot}/examples/l2fwd.ts`)) as EngineConfig;
  const engine = await Engine.start({ ...l2fwd, eal: { filePrefix: name, logToStderr: false } });
  try {
    // Every page it took was planned: the heap's, then the stats segment's.
    expect(before - freePages()).toBe(plan.pages);
    const heap = engine.info.memory.heaps.find((h) => h.totalBytes > 0)!;
    expect(heap.totalBytes).toBe(plan.heapPages * plan.pageSize);
    expect(heap.totalBytes - heap.allocatedBytes).toBeLessThan(plan.pageSize);
    // The plan errs high by at most a few hundred KiB (its EAL share is a measured constant).
    expect(plan.heapBytes).toBeGreaterThanOrEqual(heap.allocatedBytes);
    expect(plan.heapBytes - heap.allocatedBytes).toBeLessThan(512 << 10);

    const mapped = runCli(['mem', 'map', name, '--json']);
    expect(mapped.status, mapped.stderr).toBe(0);
    const map = JSON.parse(mapped.stdout) as { iovaMode: string; segments: number; runsTotal: number; runs: { va: string; bytes: number }[]; heapTotal: number; planned: number };
    expect(map.iovaMode).toBe(engine.info.iovaMode);
    expect(map.segments).toBe(engine.info.memory.segments);
    expect(map.runs.map((r) => r.va)).toEqual(engine.info.memory.runs.map((r) => r.va));
    expect(map.runs.reduce((sum, r) => sum + r.bytes, 0)).toBe(engine.info.memory.bytes);
    expect([map.heapTotal, map.planned]).toEqual([heap.totalBytes, plan.heapPages * plan.pageSize]);
    const table = runCli(['mem', 'map', name]);
    expect(table.stdout).toMatch(new RegExp(`IOVA as ${engine.info.iovaMode}`));
    expect(table.stdout).toMatch(/^ {2}runs {5}\d+ IOVA-contiguous run\(s\), largest \d+\.\d MiB$/m);
  } finally {
    await engine.stop();
  }
  expect(freePages()).toBe(before);
});
