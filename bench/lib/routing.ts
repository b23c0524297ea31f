/**
 * Routing and ACLs at scale, Fastpath next to DPDK's l3fwd in the same run (issue 14, "Scale
 * and speed"). Each row is a route set (or the ACL) and its traffic (bench/lib/routing-data.ts)
 * on two net_pcap ports replaying a pcap each (infinite_rx), one worker on lcore 1, 32767
 * mbufs, bursts of 32:
 *
 * - l3fwd in LPM and FIB modes (ACL mode for the ACL row), each started once per row and
 *   paused (SIGSTOP) while the others measure: its LPM mode takes minutes to load a million
 *   routes;
 * - Fastpath: examples/l3fwd.ts's config through the library (an acl stage before the route
 *   stage for the ACL row), a fresh process per round.
 *
 * Rounds alternate l3fwd LPM, Fastpath, l3fwd FIB (A B C A B C), each measuring the ports'
 * received packets over the same interval after the same warm-up; the ratios
 * (Fastpath / l3fwd) are per round, reported as min, median and max.
 *
 * Then loading and changing a million IPv4 routes: Engine.start with the routes file,
 * `fastpath routes NAME add --file` into a running engine (its progress lines kept), and
 * batches added and deleted through engine.routes() while traffic runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { routeSet, aclSet, type Table } from './routing-data.js';
import { ensureHugepages, L3fwd, type L3fwdLookup, type L3fwdRun } from './l3fwd.js';
import { fastpathRouteConfig, runFastpath, type CliLoadResult, type ForwardResult, type UpdatesResult } from './fastpath-routing.js';
import { root, spread } from './forward.js';

export const ROWS = ['v4-16', 'v6-16', 'v4-1m', 'v6-10k', 'acl-10k'] as const;
export type Row = (typeof ROWS)[number];

export const MBUFS = 32767;
/**
 * Free 2 MiB hugepages the rows need: l3fwd's LPM and FIB modes and Fastpath side by side.
 * l3fwd's tables are sized when it is built (room for 1M IPv4 routes: its FIB mode takes
 * 1.3 GiB even with 16), Fastpath's by the routes it is given (2 GiB for 1M IPv4).
 */
const hugepagesNeeded = (rows: readonly Row[], load: boolean) => (load || rows.includes('v4-1m') || rows.includes('v6-10k') ? 2600 : 1200);
/** The ACL stage's bound on its tries: generous, as l3fwd's rte_acl_build has none. */
const ACL_MEMORY_MIB = 128;

export interface RoutingOptions {
  durationS: number;
  warmupS: number;
  rounds: number;
}

type Spread = ReturnType<typeof spread>;

export interface RowResult {
  row: Row;
  /** When the row was measured (UTC, ISO). */
  at: string;
  family: 'ipv4' | 'ipv6';
  /** Routes (or ACL rules) of the family measured. */
  size: number;
  /** Per l3fwd mode: its start time (to its main loop) and Mpps per port. */
  l3fwd: Partial<Record<L3fwdLookup, { startS: number; mpps: Spread; rounds: number[] }>>;
  fastpath: { startS: Spread; mpps: Spread; rounds: number[]; noRoute: number; aclDropped: number; forwardedShare: number };
  /** Fastpath / l3fwd per round, per mode. */
  ratio: Partial<Record<L3fwdLookup, Spread>>;
}

export interface LoadResult {
  /** When it was measured (UTC, ISO). */
  at: string;
  /** Engine.start with 16 routes and with the 1M-route file (medians over the rows' rounds). */
  startS16: number;
  startS1m: number;
  cli: CliLoadResult;
  /** Batches of 10,000 routes. */
  updates: UpdatesResult;
  /** Batches of 1,000: what a batch costs beyond its routes (the swap and grace period). */
  updatesSmall?: UpdatesResult;
}

export interface RoutingResults {
  method: RoutingOptions & { mbufs: number; burst: number; lcores: string; traffic: string; fastpathBuild?: string };
  rows: RowResult[];
  load?: LoadResult;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which native build the Fastpath side ran: the checkout's commit and the binding's build time. */
function fastpathBuild(): string {
  const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const binding = join(root, 'packages/control/native/fastpath.linux-x64-gnu.node');
  const built = existsSync(binding) ? statSync(binding).mtime.toISOString().slice(0, 16).replace('T', ' ') : 'missing';
  return `commit ${commit || 'unknown'}, binding built ${built} UTC`;
}

/** One row: l3fwd's modes started once and paused between their turns, Fastpath fresh each round. */
export async function measureRow(row: Row, opts: RoutingOptions, log: (line: string) => void): Promise<RowResult> {
  const acl = row === 'acl-10k' ? aclSet() : undefined;
  const set = acl === undefined ? routeSet(row as Table) : undefined;
  const pcaps = (acl ?? set)!.pcaps;
  const modes: L3fwdLookup[] = acl ? ['acl'] : ['lpm', 'fib'];
  const config = fastpathRouteConfig(
    acl ? { pcaps, routesFile: acl.fastpathRoutes, aclRulesFile: acl.fastpathRules, aclMemoryMiB: ACL_MEMORY_MIB, mbufs: MBUFS } : { pcaps, routesFile: set!.fastpath, mbufs: MBUFS },
  );
  const runs: Partial<Record<L3fwdLookup, L3fwd>> = {};
  try {
    for (const lookup of modes) {
      const run: L3fwdRun = { lookup, rulesV4: (acl ?? set)!.l3fwdV4, rulesV6: (acl ?? set)!.l3fwdV6, pcaps, mbufs: MBUFS };
      log(`${row}: starting l3fwd --lookup=${lookup}`);
      const l3fwd = await L3fwd.start(run);
      l3fwd.pause();
      runs[lookup] = l3fwd;
      log(`${row}: l3fwd ${lookup} forwarding after ${l3fwd.startS.toFixed(1)} s`);
    }
    const samples: { l3fwd: Partial<Record<L3fwdLookup, number>>; fastpath: ForwardResult }[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const l3: Partial<Record<L3fwdLookup, number>> = {};
      const turn = async (lookup: L3fwdLookup) => {
        const l3fwd = runs[lookup]!;
        l3fwd.resume();
        try {
          l3[lookup] = (await l3fwd.measure(opts.warmupS, opts.durationS)).rxMpps;
        } finally {
          l3fwd.pause();
        }
        // Let the CPU settle before the next side starts.
        await sleep(100);
      };
      await turn(modes[0]!);
      const fastpath = await runFastpath<ForwardResult>({ kind: 'forward', config, warmupS: opts.warmupS, durationS: opts.durationS });
      for (const lookup of modes.slice(1)) await turn(lookup);
      samples.push({ l3fwd: l3, fastpath });
      log(`${row} round ${round}: fastpath ${fastpath.rxMpps.toFixed(2)} Mpps/port, ${modes.map((m) => `l3fwd ${m} ${l3[m]!.toFixed(2)} (×${(fastpath.rxMpps / l3[m]!).toFixed(3)})`).join(', ')}`);
    }
    const fp = samples.map((s) => s.fastpath);
    const rx = fp.reduce((sum, s) => sum + s.rxMpps, 0);
    const forwarded = fp.reduce((sum, s) => sum + s.forwarded, 0);
    return {
      row,
      at: new Date().toISOString(),
      family: set?.family ?? 'ipv4',
      size: acl?.rules ?? set!.routes,
      l3fwd: Object.fromEntries(modes.map((m) => [m, { startS: runs[m]!.startS, mpps: spread(samples.map((s) => s.l3fwd[m]!)), rounds: samples.map((s) => s.l3fwd[m]!) }])),
      fastpath: {
        startS: spread(fp.map((s) => s.startS)),
        mpps: spread(fp.map((s) => s.rxMpps)),
        rounds: fp.map((s) => s.rxMpps),
        noRoute: fp.reduce((sum, s) => sum + s.noRoute, 0),
        aclDropped: fp.reduce((sum, s) => sum + s.aclDropped, 0),
        // Packets forwarded out of those received, over every round's interval (rx summed over two ports).
        forwardedShare: Number((forwarded / (rx * 2 * 1e6 * opts.durationS)).toFixed(3)),
      },
      ratio: Object.fromEntries(modes.map((m) => [m, spread(samples.map((s) => s.fastpath.rxMpps / s.l3fwd[m]!))])),
    };
  } finally {
    for (const l3fwd of Object.values(runs)) await l3fwd.stop();
  }
}

/** Loading 1M IPv4 routes from the CLI into a running engine, and live batches while it forwards. */
export async function measureLoad(opts: RoutingOptions & { batch: number }, rows: RowResult[], log: (line: string) => void): Promise<LoadResult> {
  const big = routeSet('v4-1m');
  const small = routeSet('v4-16');
  const name = `bench-routes-${process.pid}`;
  log('fastpath routes NAME add --file (1M IPv4 routes) into a running engine');
  const cli = await runFastpath<CliLoadResult>({
    kind: 'cliLoad',
    name,
    file: big.l3fwdV4,
    config: fastpathRouteConfig({ pcaps: big.pcaps, routesFile: small.fastpath, mbufs: MBUFS, maxRoutes: { ipv4: 1 << 20 }, filePrefix: name }),
  });
  log(`  ${cli.routes} routes in ${cli.seconds.toFixed(2)} s (engine ${(cli.engineMs / 1000).toFixed(2)} s); ${cli.progressLines.length} progress lines`);
  log(`live updates: batches of ${opts.batch} routes added and deleted while forwarding with 1M routes`);
  const updates = await runFastpath<UpdatesResult>({ kind: 'updates', config: fastpathRouteConfig({ pcaps: big.pcaps, routesFile: big.fastpath, mbufs: MBUFS }), warmupS: opts.warmupS, durationS: opts.durationS, batch: opts.batch });
  log(`  ${Math.round(updates.routesPerS)} routes/s; forwarding ${updates.before.rxMpps.toFixed(2)} → ${updates.during.rxMpps.toFixed(2)} Mpps/port during updates`);
  const smallBatch = opts.batch / 10;
  log(`live updates: batches of ${smallBatch}`);
  const updatesSmall = await runFastpath<UpdatesResult>({ kind: 'updates', config: fastpathRouteConfig({ pcaps: big.pcaps, routesFile: big.fastpath, mbufs: MBUFS }), warmupS: opts.warmupS, durationS: opts.durationS, batch: smallBatch });
  log(`  ${Math.round(updatesSmall.routesPerS)} routes/s; forwarding ${updatesSmall.before.rxMpps.toFixed(2)} → ${updatesSmall.during.rxMpps.toFixed(2)} Mpps/port during updates`);
  const startOf = (row: Row) => rows.find((r) => r.row === row)?.fastpath.startS.median ?? Number.NaN;
  return { at: new Date().toISOString(), startS16: startOf('v4-16'), startS1m: startOf('v4-1m'), cli, updates, updatesSmall };
}

/**
 * `results` with the rows (and load measurements) of `earlier` that it did not measure
 * again, in the order of ROWS: so that a quick rerun of some rows keeps the slow ones.
 */
export function mergeRouting(results: RoutingResults, earlier: RoutingResults): RoutingResults {
  const rows = ROWS.flatMap((row) => results.rows.find((r) => r.row === row) ?? earlier.rows.find((r) => r.row === row) ?? []);
  let load = results.load ?? earlier.load;
  // Start times come from the rows (a load measured without them has none of its own).
  const startOf = (row: Row) => rows.find((r) => r.row === row)?.fastpath.startS.median;
  if (load) load = { ...load, startS16: startOf('v4-16') ?? load.startS16, startS1m: startOf('v4-1m') ?? load.startS1m };
  // A run of the load measurements alone keeps the method its rows were measured with.
  return { method: results.rows.length > 0 ? results.method : earlier.method, rows, ...(load ? { load } : {}) };
}

/** Every row asked for, then the load measurements when asked. */
export async function measureRouting(rows: readonly Row[], opts: RoutingOptions, load: boolean, log: (line: string) => void): Promise<RoutingResults> {
  ensureHugepages(hugepagesNeeded(rows, load), log);
  const results: RowResult[] = [];
  for (const row of rows) results.push(await measureRow(row, opts, log));
  return {
    method: { ...opts, mbufs: MBUFS, burst: 32, lcores: 'main 0, one worker on lcore 1 (l3fwd: lcore 1 alone)', traffic: 'two net_pcap ports, infinite_rx, 8192 frames each', fastpathBuild: fastpathBuild() },
    rows: results,
    ...(load ? { load: await measureLoad({ ...opts, batch: 10_000 }, results, log) } : {}),
  };
}
