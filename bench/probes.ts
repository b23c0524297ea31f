/**
 * Probe resolution vs ping over the same veth path (issue 15). Two network namespaces, A and
 * B, joined by a veth link, each joined to the engine by another (af_packet ports a and b):
 *
 *   engine a ⇄ prlA|pA (A: 10.82.1.1, 10.82.3.1) ⇄ aB|bA ⇄ (B: 10.82.3.2, 10.82.2.1, 10.82.4.1) pB|prlB ⇄ engine b
 *
 * - probes: the engine's generator sends `--count` probes at 100/s out of a; A routes them to
 *   B, B back into the engine on b, where their round trip is recorded (the `probes`
 *   histogram: p50, p99, p99.9, max);
 * - ping: `ping -c COUNT -i 0.01` from A to 10.82.4.1, routed through the engine: A → pA|prlA
 *   → engine (a → b, destination MAC rewritten to pB's) → prlB|pB → B, whose echo reply goes
 *   back over bA|aB. The same three veth pairs the probes cross, in the other direction, and
 *   the engine once; the probes pass through two kernel forwarding hops where ping's request
 *   and reply are delivered locally (ICMP in B, the socket in A).
 *
 * Per round: a fresh engine (a child process: one EAL per process), the probes, then ping
 * while the engine still runs; rounds repeat. Prints both side by side per round, and min/median/max over the rounds. Needs root
 * (namespaces, raw sockets, ping's 10 ms interval); removes its namespaces and veths on every
 * way out.
 *
 *   npx tsx bench/probes.ts [--count 1000] [--rounds 3] [--json]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { allowedCpus, defineConfig, Engine } from '@fastpath/control';

import { spread } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    // Internal: one round in this process (one EAL per process), its MACs given, a JSON line out.
    'one-round': { type: 'string' },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);
const PPS = 100; // ping -i 0.01
const log = (line: string) => {
  if (!values.json) console.log(line);
};

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const inA = (...args: string[]) => ip('netns', 'exec', 'fpprA', ...args);
const inB = (...args: string[]) => ip('netns', 'exec', 'fpprB', ...args);
const macOf = (dev: string, ns?: string) =>
  (ns ? execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/address`], { encoding: 'utf8' }) : readFileSync(`/sys/class/net/${dev}/address`, 'utf8')).trim();

function setUp(): { macPA: string; macPB: string } {
  tearDown();
  ip('netns', 'add', 'fpprA');
  ip('netns', 'add', 'fpprB');
  ip('link', 'add', 'prlA', 'type', 'veth', 'peer', 'name', 'pA', 'netns', 'fpprA');
  ip('link', 'add', 'prlB', 'type', 'veth', 'peer', 'name', 'pB', 'netns', 'fpprB');
  ip('link', 'add', 'aB', 'netns', 'fpprA', 'type', 'veth', 'peer', 'name', 'bA', 'netns', 'fpprB');
  for (const [run, dev, addr] of [[inA, 'pA', '10.82.1.1/24'], [inA, 'aB', '10.82.3.1/24'], [inB, 'pB', '10.82.2.1/24'], [inB, 'pB', '10.82.4.1/32'], [inB, 'bA', '10.82.3.2/24']] as const) {
    run('ip', 'addr', 'add', addr, 'dev', dev);
    run('ip', 'link', 'set', dev, 'up');
  }
  for (const run of [inA, inB]) run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
  // Probes: A → B over the link, B → the engine's port b.
  inA('ip', 'route', 'add', '10.82.2.0/24', 'via', '10.82.3.2');
  inB('ip', 'route', 'add', '10.82.1.0/24', 'via', '10.82.3.1');
  for (const dev of ['prlA', 'prlB']) ip('link', 'set', dev, 'up');
  // The engine answers no ARP: its ports' MACs, given. B sends probes to prlB; A sends
  // ping's requests for 10.82.4.0/24 to prlA (the engine forwards them to B's pB).
  inB('ip', 'neigh', 'replace', '10.82.2.2', 'lladdr', macOf('prlB'), 'dev', 'pB');
  inA('ip', 'neigh', 'replace', '10.82.1.2', 'lladdr', macOf('prlA'), 'dev', 'pA');
  inA('ip', 'route', 'add', '10.82.4.0/24', 'via', '10.82.1.2', 'dev', 'pA');
  return { macPA: macOf('pA', 'fpprA'), macPB: macOf('pB', 'fpprB') };
}

function tearDown(): void {
  // Deleting a namespace deletes the veths with an end in it (prlA and prlB included).
  for (const ns of ['fpprA', 'fpprB']) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // Not there: nothing to remove.
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the engine; while another live engine polls the worker's CPU (someone's short run), waits and retries for a minute. */
async function start(config: ReturnType<typeof defineConfig>): Promise<Engine> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Engine.start(config);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_LCORE' || attempt >= 30) throw e;
      await sleep(2000);
    }
  }
}

/** What a signal must end: this round's engine and ping, or (in the parent) the round's child. */
let running: Engine | undefined;
let pinging: ChildProcess | undefined;
let roundChild: ChildProcess | undefined;

/** ping from A through the engine: its per-packet times (µs) and its summary line (ms). */
async function ping(): Promise<{ us: number[]; minMs: number; avgMs: number; maxMs: number; mdevMs: number; lost: number }> {
  const child = (pinging = spawn('ip', ['netns', 'exec', 'fpprA', 'ping', '-c', String(count), '-i', '0.01', '-I', '10.82.1.1', '10.82.4.1'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const summary = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
  const sent = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!summary || !sent) throw new Error(`ping failed (exit ${code}): ${out.slice(-500)}`);
  const us = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  return { us, minMs: Number(summary[1]), avgMs: Number(summary[2]), maxMs: Number(summary[3]), mdevMs: Number(summary[4]), lost: Number(sent[1]) - Number(sent[2]) };
}

/** Nearest-rank percentile of sorted `xs`. */
const percentile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;

interface Round {
  probes: { count: number; lost: number; minUs: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  ping: { count: number; lost: number; minUs: number; avgUs: number; maxUs: number; mdevUs: number; p50Us: number; p99Us: number; p999Us: number };
}

async function round(macPA: string, macPB: string): Promise<Round> {
  const [main = 0, worker = 1] = allowedCpus();
  const config = defineConfig({
    ports: { a: { afPacket: { iface: 'prlA' } }, b: { afPacket: { iface: 'prlB' } } },
    lcores: { main, workers: [worker] },
    memory: { hugepages: false },
    eal: { logToStderr: false, filePrefix: `bench-probes-${process.pid}` },
    pipelines: [
      { name: 'probe', generator: { probe: true, rate: { pps: PPS }, count, dstMac: macPA, srcIp: '10.82.1.2', dstIp: '10.82.2.2', dstPort: 7 }, output: 'a' },
      { name: 'ping', input: 'a', stages: [{ kind: 'macRewrite', dst: macPB }], output: 'b' },
      { name: 'back', input: 'b', stages: ['drop'] },
    ],
  });
  const engine = (running = await start(config));
  try {
    const probe = () => engine.stats().pipelines.find((p) => p.name === 'probe')!;
    // The probes: until all are sent and nothing more comes back for half a second.
    let last = -1;
    for (const deadline = Date.now() + (count / PPS) * 1000 + 30_000; Date.now() < deadline; ) {
      await sleep(500);
      const s = probe();
      if (s.generated >= count && s.probes.count === last) break;
      last = s.probes.count;
    }
    const s = probe();
    const us = (ns: number | null) => (ns ?? NaN) / 1000;
    const probes = { count: s.probes.count, lost: s.probesLost, minUs: us(s.probes.minNs), p50Us: us(s.probes.p50Ns), p99Us: us(s.probes.p99Ns), p999Us: us(s.probes.p999Ns), maxUs: us(s.probes.maxNs) };
    const p = await ping();
    const sorted = [...p.us].sort((x, y) => x - y);
    return {
      probes,
      ping: { count: p.us.length, lost: p.lost, minUs: p.minMs * 1000, avgUs: p.avgMs * 1000, maxUs: p.maxMs * 1000, mdevUs: p.mdevMs * 1000, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), p999Us: percentile(sorted, 99.9) },
    };
  } finally {
    await engine.stop();
  }
}

async function main(): Promise<void> {
  const results: Round[] = [];
  // The round's child and its ping end first (SIGTERM to their process group; the child stops its
  // engine when its handler runs), then the namespaces go.
  const onSignal = () => {
    const child = roundChild;
    if (!child) {
      tearDown();
      process.exit(130);
    }
    child.once('close', () => {
      tearDown();
      process.exit(130);
    });
    // Its own process group (detached): the child and its ping.
    process.kill(-child.pid!, 'SIGTERM');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { macPA, macPB } = setUp();
    log(`${rounds} rounds of ${count} probes at ${PPS}/s, then ping -c ${count} -i 0.01 across the same veth path (µs)`);
    log('round  probes:  min      p50      p99    p99.9      max  lost │ ping: min      avg      max     mdev      p50      p99  lost');
    const f = (x: number) => ` ${x.toFixed(1).padStart(7)}`;
    for (let i = 1; i <= rounds; i++) {
      const me = fileURLToPath(import.meta.url);
      const child = (roundChild = spawn(process.execPath, [...process.execArgv, me, '--count', String(count), '--one-round', `${macPA},${macPB}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
      roundChild = undefined;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) throw new Error(`round ${i} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
      const r = JSON.parse(line) as Round;
      results.push(r);
      log(`${String(i).padStart(5)}   ${f(r.probes.minUs)}${f(r.probes.p50Us)}${f(r.probes.p99Us)}${f(r.probes.p999Us)}${f(r.probes.maxUs)}${String(r.probes.lost).padStart(6)} │ ${f(r.ping.minUs)}${f(r.ping.avgUs)}${f(r.ping.maxUs)}${f(r.ping.mdevUs)}${f(r.ping.p50Us)}${f(r.ping.p99Us)}${String(r.ping.lost).padStart(6)}`);
    }
  } finally {
    tearDown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const over = <K extends string>(side: 'probes' | 'ping', keys: K[]) =>
    Object.fromEntries(keys.map((k) => [k, spread(results.map((r) => (r[side] as Record<string, number>)[k]!))]));
  const summary = {
    measuredAt: new Date().toISOString(),
    count,
    rounds,
    pps: PPS,
    probesUs: over('probes', ['minUs', 'p50Us', 'p99Us', 'p999Us', 'maxUs', 'lost']),
    pingUs: over('ping', ['minUs', 'avgUs', 'maxUs', 'mdevUs', 'p50Us', 'p99Us', 'lost']),
    rounds_: results,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    const m = (x: Record<string, { min: number; median: number; max: number }>, k: string) => `${x[k]!.median} (${x[k]!.min}-${x[k]!.max})`;
    console.log(`probes (median of rounds, min-max): p50 ${m(summary.probesUs, 'p50Us')} µs, p99 ${m(summary.probesUs, 'p99Us')}, p99.9 ${m(summary.probesUs, 'p999Us')}, max ${m(summary.probesUs, 'maxUs')}`);
    console.log(`ping   (median of rounds, min-max): min ${m(summary.pingUs, 'minUs')} µs, avg ${m(summary.pingUs, 'avgUs')}, max ${m(summary.pingUs, 'maxUs')}, mdev ${m(summary.pingUs, 'mdevUs')}`);
  }
}

if (values['one-round']) {
  const [macPA, macPB] = values['one-round'].split(',') as [string, string];
  const stop = () => {
    pinging?.kill('SIGTERM');
    void (running?.stopped === false ? running.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(JSON.stringify(await round(macPA, macPB)));
} else if (process.getuid?.() !== 0) {
  console.error('bench/probes.ts needs root (network namespaces, af_packet, ping -i 0.01): run it with sudo');
  process.exitCode = 1;
} else {
  await main();
}
