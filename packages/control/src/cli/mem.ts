/**
 * `fastpath mem`: two commands, each with flags of its own.
 *
 *   fastpath mem map [NAME]   a running engine's IOVA mode and IOVA-contiguous memory runs
 *   fastpath mem plan CONFIG  the hugepages a config needs (--reserve raises nr_hugepages, as root)
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { ErrorCode, FastpathError, type EngineConfig } from '@fastpath/types';

import { formatSize } from '../live.js';
import { loadConfig } from '../load-config.js';
import { planMemory } from '../platform.js';
import { StatsReader } from '../stats-reader.js';
import { defineCommand, reportConfigProblems, type CommandGroup } from './command.js';

const MISSING = 'mem takes map [NAME] or plan CONFIG';

/** Both commands take at most one positional: name what follows it. */
const unexpected = (positionals: readonly string[]) => `unexpected ${positionals.slice(1).join(' ')}`;

const memMap = defineCommand({
  name: 'map',
  usage: 'fastpath mem map [NAME] [--json]',
  options: {
    json: { type: 'boolean', default: false },
  },
  positionals: { min: 0, max: 1, problem: unexpected },
  async run(flags, [name]) {
    const reader = StatsReader.attach(name);
    const map = reader.memoryMap();
    if (flags.json) {
      console.log(JSON.stringify(map));
      return 0;
    }
    console.log(`${reader.name} (pid ${reader.pid}): IOVA as ${map.iovaMode ?? 'unknown'}`);
    console.log(`  mapped   ${formatSize(map.bytes)} in ${map.segments} page(s) of ${formatSize(map.pageSize)}`);
    console.log(`  runs     ${map.runsTotal} IOVA-contiguous run(s), largest ${formatSize(map.largestRun)}`);
    console.log(`  heap     ${formatSize(map.heapAllocated)} allocated of ${formatSize(map.heapTotal)} (planned ${formatSize(map.planned)})`);
    console.log('');
    console.log('  virtual address      IOVA                      size  pages  socket');
    for (const r of map.runs) {
      console.log(`  ${r.va.padEnd(20)} ${r.iova.padEnd(20)} ${formatSize(r.bytes).padStart(10)} ${String(r.segments).padStart(6)} ${String(r.socket).padStart(7)}`);
    }
    if (map.runsTotal > map.runs.length) console.log(`  ... and ${map.runsTotal - map.runs.length} more`);
    return 0;
  },
});

/** Raises nr_hugepages so that `pages` pages of `sizeKb` are free; returns the new total. */
function reserve(pages: number, sizeKb: number): number {
  const dir = `/sys/kernel/mm/hugepages/hugepages-${sizeKb}kB`;
  const free = Number(readFileSync(`${dir}/free_hugepages`, 'utf8'));
  const total = Number(readFileSync(`${dir}/nr_hugepages`, 'utf8'));
  if (free >= pages) return total;
  writeFileSync(`${dir}/nr_hugepages`, String(total + pages - free));
  return Number(readFileSync(`${dir}/nr_hugepages`, 'utf8'));
}

const memPlan = defineCommand({
  name: 'plan',
  usage: 'fastpath mem plan CONFIG [--json] [--reserve]',
  options: {
    json: { type: 'boolean', default: false },
    reserve: { type: 'boolean', default: false },
  },
  positionals: { min: 1, max: 1, problem: (positionals) => (positionals.length === 0 ? MISSING : unexpected(positionals)) },
  async run(flags, positionals) {
    const file = positionals[0]!;
    // Planned once the config passes its shape check and the engine's rules (every problem listed).
    const plan = await reportConfigProblems(file, async () => planMemory((await loadConfig(file)) as EngineConfig));
    if (flags.json) {
      console.log(JSON.stringify(plan));
    } else {
      const size = plan.pageSize >= 2 ** 20 ? `${plan.pageSize / 2 ** 20} MiB` : `${plan.pageSize / 1024} KiB`;
      console.log(`${file}: memory plan (${plan.hugepages ? 'hugepages' : `no hugepages: ${plan.hugepagesNote ?? 'memory.hugepages is false'}`})`);
      console.log(`  packet pool   ${formatSize(plan.mempoolBytes)}  (mbufs packed page by page, ring, lcore caches)`);
      console.log(`  ports         ${formatSize(plan.portBytes)}`);
      console.log(`  EAL           ${formatSize(plan.ealBytes)}  (measured)`);
      console.log(`  heap          ${formatSize(plan.heapBytes)} = ${plan.heapPages} page(s) of ${size}`);
      if (plan.statsPages > 0) console.log(`  stats segment ${plan.statsPages} page(s)`);
      console.log(`  EAL memory arguments: ${plan.ealArgs.join(' ')}`);
      if (plan.pageSize > 4096) console.log(`reserve ${plan.pages} page(s) of ${size} (nr_hugepages in hugepages-${plan.pageSize / 1024}kB)`);
    }
    if (flags.reserve) {
      if (plan.pageSize <= 4096) throw new FastpathError(ErrorCode.NoHugepages, 'this plan uses no hugepages (memory.hugepages is false, or none are set up): nothing to reserve');
      if (process.getuid?.() !== 0) throw new FastpathError(ErrorCode.NoHugepages, 'reserving hugepages needs root: run `fastpath mem plan CONFIG --reserve` as root');
      const total = reserve(plan.pages, plan.pageSize / 1024);
      console.log(`nr_hugepages is now ${total}`);
    }
    return 0;
  },
});

export const memCommand: CommandGroup = { name: 'mem', commands: [memMap, memPlan], missing: MISSING };
