/**
 * `fastpath mem`: two commands, each with flags of its own.
 *
 *   fastpath mem map [NAME]   a running engine's IOVA mode and IOVA-contiguous memory runs
 *   fastpath mem plan CONFIG  the memory a config needs (--reserve makes its hugepages free, as root)
 */
import type { EngineConfig } from '@fastpath/types';

import { formatSize } from '../live.js';
import { loadConfig } from '../load-config.js';
import { planMemory, reserveHugepages, type HugepageReservation } from '../platform.js';
import { StatsReader } from '../stats-reader.js';
import { CONFIG_NOTE, defineCommand, NAME_NOTE, reportConfigProblems, type CommandGroup } from './command.js';

const memMap = defineCommand({
  name: 'map',
  usage: 'fastpath mem map [NAME] [--json]',
  summary: "Show a running engine's IOVA mode and IOVA-contiguous memory runs",
  options: {
    json: { type: 'boolean', default: false, help: 'print the map as one line of JSON' },
  },
  positionals: { min: 0, max: 1 },
  notes: [NAME_NOTE],
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

const memPlan = defineCommand({
  name: 'plan',
  usage: 'fastpath mem plan CONFIG [--json] [--reserve]',
  summary: 'Print the hugepages a config needs and the EAL memory arguments it gets',
  options: {
    json: { type: 'boolean', default: false, help: 'print the plan as one line of JSON' },
    reserve: { type: 'boolean', default: false, help: 'first make the pages it needs free: raise nr_hugepages, mount hugetlbfs if none is (as root)' },
  },
  positionals: { min: 1, max: 1, missing: 'mem plan needs a CONFIG' },
  notes: [CONFIG_NOTE],
  async run(flags, positionals) {
    const file = positionals[0]!;
    // Once the config passes its shape check and the engine's rules (every problem listed):
    // reserved first, so that a config requiring hugepages is planned once they are free.
    const { plan, reservation } = await reportConfigProblems(file, async () => {
      const config = (await loadConfig(file)) as EngineConfig;
      const reservation = flags.reserve ? reserveHugepages(config) : undefined;
      return { plan: planMemory(config), reservation };
    });
    if (flags.json) {
      console.log(JSON.stringify(reservation === undefined ? plan : { ...plan, reservation }));
      return 0;
    }
    const size = plan.pageSize >= 2 ** 20 ? `${plan.pageSize / 2 ** 20} MiB` : `${plan.pageSize / 1024} KiB`;
    console.log(`${file}: memory plan (${plan.hugepages ? 'hugepages' : `no hugepages: ${plan.hugepagesNote ?? 'memory.hugepages is false'}`})`);
    console.log(`  packet pool   ${formatSize(plan.mempoolBytes)}  (mbufs packed page by page, ring, lcore caches)`);
    console.log(`  ports         ${formatSize(plan.portBytes)}`);
    console.log(`  EAL           ${formatSize(plan.ealBytes)}  (measured)`);
    if (plan.tableBytes > 0) console.log(`  tables        ${formatSize(plan.tableBytes)}  (route FIBs, ACL classifiers; twice, for live changes)`);
    console.log(`  heap          ${formatSize(plan.heapBytes)} = ${plan.heapPages} page(s) of ${size}`);
    if (plan.statsPages > 0) console.log(`  stats segment ${plan.statsPages} page(s)`);
    console.log(`  EAL memory arguments: ${plan.ealArgs.join(' ')}`);
    if (reservation !== undefined) {
      for (const line of reservationLines(reservation)) console.log(line);
    } else if (plan.onHugepages) {
      const h = plan.onHugepages;
      console.log(`on hugepages it needs ${h.pages} page(s) of ${formatSize(h.pageSize)}; ${h.freePages} free, ${h.pages - h.freePages} short (fastpath mem plan CONFIG --reserve makes them free, as root)`);
    } else if (plan.pageSize > 4096) {
      console.log(`needs ${plan.pages} free page(s) of ${size} (fastpath mem plan CONFIG --reserve makes them free, as root)`);
    }
    return 0;
  },
});

/** What `--reserve` did, in a line or two. */
function reservationLines(r: HugepageReservation): string[] {
  const size = r.sizeKb >= 1024 ? `${r.sizeKb / 1024} MiB` : `${r.sizeKb} KiB`;
  const on = r.node === undefined || r.node === null ? '' : ` on NUMA node ${r.node} (the main lcore's)`;
  const lines =
    r.totalAfter > r.totalBefore
      ? [`reserved ${r.totalAfter - r.totalBefore} more page(s) of ${size}${on}: nr_hugepages ${r.totalBefore} -> ${r.totalAfter}, free ${r.freeBefore} -> ${r.freeAfter} (this config needs ${r.wanted})`]
      : [`${r.freeBefore} page(s) of ${size} already free${on}, this config needs ${r.wanted}: nothing to reserve`];
  if (r.mounted) lines.push(`mounted hugetlbfs on ${r.mounted}`);
  return lines;
}

export const memCommand: CommandGroup = {
  name: 'mem',
  summary: 'Memory: the hugepages a config needs, the memory a running engine has',
  commands: [memMap, memPlan],
  missing: 'mem takes map [NAME] or plan CONFIG',
};
