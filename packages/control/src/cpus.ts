import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list (`0-2,5`) into ids. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [lo, hi = lo] = part.split('-').map(Number);
    if (lo === undefined || hi === undefined || !Number.isInteger(lo) || !Number.isInteger(hi)) {
      throw new Error(`not a CPU list: ${JSON.stringify(text)}`);
    }
    for (let cpu = lo; cpu <= hi; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/**
 * The CPUs a thread may run on (its affinity), from /proc. `tid` defaults to this process's
 * main thread, which is Node's JavaScript thread.
 */
export function allowedCpus(tid: number = process.pid): number[] {
  const status = readFileSync(`/proc/${process.pid}/task/${tid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  if (!line) throw new Error('/proc status has no Cpus_allowed_list');
  return parseCpuList(line.slice('Cpus_allowed_list:'.length));
}
