/**
 * The Fastpath side of the routing benches: the config (examples/l3fwd.ts's, through the
 * library: every port into one route stage whose next hop `P` is port P, optionally behind
 * an acl stage), and a child process that runs one measurement and prints it as a line of
 * JSON (one EAL per process: each measurement is a process, as testpmd's and l3fwd's are).
 *
 *   node --import tsx bench/lib/fastpath-routing.ts '<Job as JSON>'
 *
 * Jobs:
 * - `forward`: start, warm up, read the port counters twice `durationS` apart.
 * - `updates`: as `forward`, then the same interval again while batches of `batch` new
 *   routes are added and deleted again through engine.routes().add/.delete, back to back:
 *   routes changed per second, each batch's time, and the forwarding rate during them.
 * - `cliLoad`: start with the config's routes, then `fastpath routes NAME add --file F`
 *   from another process (the CLI as a user runs it), timed, its progress lines kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Engine, type EngineConfig, type EngineStats } from '@fastpath/control';

import { root } from './forward.js';
import { pcapVdev } from './l3fwd.js';

export interface RouteConfigOptions {
  pcaps: readonly string[];
  routesFile: string;
  mbufs: number;
  /** An acl stage before the route stage, with these rules (l3fwd's ACL format). */
  aclRulesFile?: string;
  aclMemoryMiB?: number;
  maxRoutes?: { ipv4?: number; ipv6?: number };
  filePrefix?: string;
}

/** examples/l3fwd.ts's config on net_pcap ports replaying `pcaps`, main lcore 0, one worker on lcore 1. */
export function fastpathRouteConfig(o: RouteConfigOptions): EngineConfig {
  const names = o.pcaps.map((_, p) => `net_pcap${p}`);
  const nextHops = Object.fromEntries(names.map((port, p) => [String(p), { port, dstMac: `02:00:00:00:00:${p.toString(16).padStart(2, '0')}` }]));
  return {
    ports: Object.fromEntries(names.map((name, p) => [name, { vdev: pcapVdev(p, o.pcaps[p]!) }])),
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: true, mbufs: o.mbufs },
    eal: { logToStderr: false, ...(o.filePrefix === undefined ? {} : { filePrefix: o.filePrefix }) },
    pipelines: [
      {
        name: 'l3fwd',
        input: names,
        stages: [
          ...(o.aclRulesFile === undefined ? [] : [{ kind: 'acl' as const, name: 'acl', rulesFile: o.aclRulesFile, ...(o.aclMemoryMiB === undefined ? {} : { memoryMiB: o.aclMemoryMiB }) }]),
          { kind: 'route' as const, name: 'lpm', routesFile: o.routesFile, nextHops, ...(o.maxRoutes === undefined ? {} : { maxRoutes: o.maxRoutes }) },
        ],
        output: names,
      },
    ],
  };
}

export type Job =
  | { kind: 'forward'; config: EngineConfig; warmupS: number; durationS: number }
  | { kind: 'updates'; config: EngineConfig; warmupS: number; durationS: number; batch: number }
  | { kind: 'cliLoad'; config: EngineConfig; name: string; file: string };

export interface Rates {
  rxMpps: number;
  txMpps: number;
}

export interface ForwardResult extends Rates {
  /** Seconds Engine.start took (EAL, ports, tables and their routes). */
  startS: number;
  /** Route counters over the interval: packets forwarded, and dropped for no route or as bad. */
  forwarded: number;
  noRoute: number;
  aclDropped: number;
}

export interface UpdatesResult {
  startS: number;
  before: Rates;
  during: Rates;
  batch: number;
  batches: number;
  routesChanged: number;
  seconds: number;
  routesPerS: number;
  /** Per batch (add or delete), ms: median and max. */
  batchMs: { median: number; max: number };
}

export interface CliLoadResult {
  startS: number;
  routes: number;
  /** Wall time of `fastpath routes NAME add --file F`, process start to exit. */
  seconds: number;
  /** What the engine says the change took. */
  engineMs: number;
  progressLines: string[];
  size: { ipv4: number; ipv6: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rates(a: EngineStats, b: EngineStats, seconds: number): Rates {
  const per = (f: 'rxPackets' | 'txPackets') => b.ports.reduce((sum, p, i) => sum + p[f] - a.ports[i]![f], 0) / b.ports.length / seconds / 1e6;
  return { rxMpps: per('rxPackets'), txMpps: per('txPackets') };
}

async function interval(engine: Engine, seconds: number, during?: () => Promise<void>): Promise<{ a: EngineStats; b: EngineStats; seconds: number }> {
  const a = engine.stats();
  const t0 = performance.now();
  if (during) await during();
  else await sleep(seconds * 1000);
  const b = engine.stats();
  return { a, b, seconds: (performance.now() - t0) / 1000 };
}

async function start(config: EngineConfig): Promise<{ engine: Engine; startS: number }> {
  const t0 = performance.now();
  const engine = await Engine.start(config);
  return { engine, startS: (performance.now() - t0) / 1000 };
}

async function forward(job: Extract<Job, { kind: 'forward' }>): Promise<ForwardResult> {
  const { engine, startS } = await start(job.config);
  try {
    await sleep(job.warmupS * 1000);
    const { a, b, seconds } = await interval(engine, job.durationS);
    const route = (s: EngineStats) => s.pipelines[0]!.routes[0]!;
    const acl = (s: EngineStats) => s.pipelines[0]!.acls[0];
    const hits = (s: EngineStats) => acl(s)?.aclRules.reduce((sum, r) => sum + r.hits, 0) ?? 0;
    const fwd = (s: EngineStats) => route(s).nextHops.reduce((sum, h) => sum + h.forwarded, 0);
    return { ...rates(a, b, seconds), startS, forwarded: fwd(b) - fwd(a), noRoute: route(b).noRoute - route(a).noRoute, aclDropped: hits(b) - hits(a) };
  } finally {
    await engine.stop();
  }
}

/** `count` IPv4 /24s in 240.0.0.0/8 (reserved: in no table and no traffic), as `prefix via` lines. */
function spareRoutes(count: number, offset: number): { prefix: string; via: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    return { prefix: `240.${(n >> 8) & 255}.${n & 255}.0/24`, via: String(n % 2) };
  });
}

/**
 * Keeps this process's threads other than the workers on the main lcore's CPU, as a
 * deployment keeps its control plane off the workers' CPUs: Node's threads (where
 * engine.routes() changes run) and the engine's control thread may otherwise run on any
 * CPU, and the scheduler put the busy JS thread on the worker's (forwarding halved).
 */
function pinControlThreads(cpu: number): void {
  for (const tid of readdirSync('/proc/self/task')) {
    const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    if (!comm.startsWith('rte-worker')) spawnSync('taskset', ['-pc', String(cpu), tid], { stdio: 'ignore' });
  }
}

async function updates(job: Extract<Job, { kind: 'updates' }>): Promise<UpdatesResult> {
  const { engine, startS } = await start(job.config);
  try {
    pinControlThreads(typeof job.config.lcores.main === 'number' ? job.config.lcores.main : 0);
    await sleep(job.warmupS * 1000);
    const base = await interval(engine, job.durationS);
    const table = engine.routes('lpm');
    const times: number[] = [];
    let changed = 0;
    let batches = 0;
    const deadline = performance.now() + job.durationS * 1000;
    const during = await interval(engine, job.durationS, async () => {
      // Batches until the interval is over; each route added is deleted by the next batch.
      while (performance.now() < deadline) {
        const routes = spareRoutes(job.batch, (batches % 2) * job.batch);
        let t = performance.now();
        await table.add(routes);
        times.push(performance.now() - t);
        t = performance.now();
        await table.delete(routes.map((r) => r.prefix));
        times.push(performance.now() - t);
        changed += 2 * job.batch;
        batches += 2;
      }
    });
    const sorted = [...times].sort((x, y) => x - y);
    return {
      startS,
      before: rates(base.a, base.b, base.seconds),
      during: rates(during.a, during.b, during.seconds),
      batch: job.batch,
      batches,
      routesChanged: changed,
      seconds: during.seconds,
      routesPerS: changed / during.seconds,
      batchMs: { median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! },
    };
  } finally {
    await engine.stop();
  }
}

async function cliLoad(job: Extract<Job, { kind: 'cliLoad' }>): Promise<CliLoadResult> {
  const { engine, startS } = await start(job.config);
  try {
    const routes = readFileSync(job.file, 'utf8').split('\n').filter((l) => l.startsWith('R')).length;
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'packages/control/bin/fastpath.js'), 'routes', job.name, 'add', '--file', job.file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`fastpath routes add failed (${code}): ${err}`);
    const change = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; size: { ipv4: number; ipv6: number } };
    return { startS, routes, seconds, engineMs: change.ms, progressLines: err.split('\n').filter((l) => l.length > 0), size: change.size };
  } finally {
    await engine.stop();
  }
}

const runAsScript = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (runAsScript) {
  const job = JSON.parse(process.argv[2]!) as Job;
  const result = job.kind === 'forward' ? await forward(job) : job.kind === 'updates' ? await updates(job) : await cliLoad(job);
  console.log(JSON.stringify(result));
}

/**
 * Runs `job` in a child process and returns what it printed. An engine refuses to start while
 * another live engine polls CPU 1 (ERR_LCORE: a test of someone else's, say): then it waits
 * and tries again, for up to a minute.
 */
export async function runFastpath<T>(job: Job): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code === 0) return JSON.parse(out.trim().split('\n').at(-1)!) as T;
    if (err.includes("code: 'ERR_LCORE'") && attempt < 30) {
      await sleep(2000);
      continue;
    }
    throw new Error(`Fastpath ${job.kind} failed (exit ${code}): ${err.slice(-3000)}`);
  }
}
