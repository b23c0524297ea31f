/**
 * The platform commands of `fastpath`: doctor, devbind, mem map, mem plan.
 *
 *   fastpath doctor [--json] [--root DIR] [--no-huge]
 *   fastpath devbind --status | --bind DRIVER PCI... | --unbind PCI...  [--yes] [--root DIR] [--json]
 *   fastpath mem map [NAME] [--json]
 *   fastpath mem plan CONFIG [--json] [--reserve]
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { ErrorCode, FastpathError, type EngineConfig } from '@fastpath/types';

import { formatSize } from './live.js';
import { loadConfig } from './load-config.js';
import { devbind, devbindStatus, devunbind, doctor, planMemory } from './platform.js';
import { StatsReader } from './stats-reader.js';

export interface PlatformFlags {
  json: boolean;
  root?: string;
  noHuge: boolean;
  yes: boolean;
  status: boolean;
  bind?: string;
  unbind: boolean;
  reserve: boolean;
}



function doctorCommand(flags: PlatformFlags): number {
  const report = doctor({ root: flags.root, noHuge: flags.noHuge });
  if (flags.json) {
    const { text: _text, ...json } = report;
    console.log(JSON.stringify(json, null, 2));
  } else {
    process.stdout.write(report.text.endsWith('\n') ? report.text : `${report.text}\n`);
  }
  // Exit 1 when EAL would fail as things are, so scripts can gate on it.
  return report.iova.ealFails ? 1 : 0;
}

function devbindCommand(flags: PlatformFlags, devices: string[]): number {
  const modes = [flags.status, flags.bind !== undefined, flags.unbind].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('devbind takes exactly one of --status, --bind DRIVER PCI..., --unbind PCI...');
  if (flags.status) {
    const devices = devbindStatus({ root: flags.root });
    if (flags.json) {
      console.log(JSON.stringify(devices));
      return 0;
    }
    for (const d of devices) {
      const iface = d.interface ? ` if=${d.interface}${d.active ? ' *Active*' : ''}` : '';
      console.log(`${d.pci} '${d.ids}' drv=${d.driver ?? '(none)'}${d.dpdk ? ' [DPDK]' : ''}${iface}`);
    }
    return 0;
  }
  if (devices.length === 0) throw new UsageError(`devbind ${flags.unbind ? '--unbind' : '--bind DRIVER'} needs at least one PCI address`);
  // Writing to the real /sys needs root; a fixture tree (--root) does not.
  if (flags.yes && flags.root === undefined && process.getuid?.() !== 0) {
    throw new FastpathError(ErrorCode.Devbind, 'binding devices needs root: run it as root, or without --yes to see what it would write');
  }
  const options = { root: flags.root, apply: flags.yes };
  const writes = flags.unbind ? devunbind(devices, options) : devbind(flags.bind!, devices, options);
  if (flags.json) {
    console.log(JSON.stringify({ applied: flags.yes, writes }));
    return 0;
  }
  console.log(flags.yes ? 'wrote:' : 'dry run (add --yes to write):');
  for (const w of writes) console.log(`  ${JSON.stringify(w.value.trimEnd())} > ${w.path}`);
  return 0;
}

function memMap(name: string | undefined, json: boolean): number {
  const reader = StatsReader.attach(name);
  const map = reader.memoryMap();
  if (json) {
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
}

/** Raises nr_hugepages so that `pages` pages of `sizeKb` are free; returns the new total. */
function reserve(pages: number, sizeKb: number): number {
  const dir = `/sys/kernel/mm/hugepages/hugepages-${sizeKb}kB`;
  const free = Number(readFileSync(`${dir}/free_hugepages`, 'utf8'));
  const total = Number(readFileSync(`${dir}/nr_hugepages`, 'utf8'));
  if (free >= pages) return total;
  writeFileSync(`${dir}/nr_hugepages`, String(total + pages - free));
  return Number(readFileSync(`${dir}/nr_hugepages`, 'utf8'));
}

async function memPlan(file: string, flags: PlatformFlags): Promise<number> {
  const plan = planMemory((await loadConfig(file)) as EngineConfig);
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
}

/** A command line that does not make sense: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Runs a platform command; returns the exit code. Throws FastpathError or UsageError. */
export async function platformCommand(command: string, args: string[], flags: PlatformFlags): Promise<number> {
  if (command === 'doctor') {
    if (args.length > 0) throw new UsageError('doctor takes no positional arguments');
    return doctorCommand(flags);
  }
  if (command === 'devbind') return devbindCommand(flags, args);
  const [sub, target, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
  if (sub === 'map') return memMap(target, flags.json);
  if (sub === 'plan' && target !== undefined) return memPlan(target, flags);
  throw new UsageError('mem takes map [NAME] or plan CONFIG');
}
