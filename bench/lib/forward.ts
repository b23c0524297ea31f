/**
 * One forwarding measurement on each side, same vdevs, lcores (main 0, one worker on lcore
 * 1), mbuf count, burst size (32), descriptors (testpmd's and Fastpath's default: 1024) and
 * memory mode:
 *
 * - testpmd measures itself: `show port stats all` Rx-pps (Tx-pps for txonly) over the run,
 *   after 0.5 s of warm-up;
 * - Fastpath runs the equivalent pipelines through `fastpath run --json` and reports its own
 *   counters over its run, with the workers' software counters on (the default) or off.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ealRuntimeDir, type EngineConfig, type PipelineConfig } from '@fastpath/control';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The modes: testpmd's forwarding modes on two net_null ports, and `ring`: two net_ring
 * ports (each receives what it sends) primed with 16 bursts per port and forwarded io-style
 * between them (testpmd `start tx_first 16`; Fastpath a generator of 512 packets per port).
 */
export const MODES = ['io', 'mac', 'macswap', '5tswap', 'rxonly', 'txonly', 'ring'] as const;
export type Mode = (typeof MODES)[number];

export interface ForwardOptions {
  durationS: number;
  noHuge: boolean;
  mbufs: number;
}

/** Packets each ring port is primed with: 16 bursts of 32, as `start tx_first 16`. */
const RING_PRIMED = 16 * 32;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What the mode measures: received packets, or sent ones for the generators. */
/** Whether a mode is measured by what it sends (txonly makes packets, receives none). */
export const measuresTx = (mode: Mode) => mode === 'txonly';

/** testpmd's command that starts forwarding in `mode` (ring: primed with bursts sent first). */
export const testpmdStart = (mode: Mode) => (mode === 'ring' ? `start tx_first ${RING_PRIMED / 32}` : 'start');

/** testpmd's command line for `mode` (shared with the memory and instruction measurements). */
export function testpmdArgs(mode: Mode, opts: Pick<ForwardOptions, 'noHuge'> & { mbufs?: number; prefix: string; burst?: number }): string[] {
  const memory = opts.noHuge ? ['--no-huge', '-m', '256', '--no-shconf'] : ['--huge-unlink=always'];
  const vdevs = mode === 'ring' ? ['--vdev', 'net_ring0', '--vdev', 'net_ring1'] : ['--vdev', 'net_null0', '--vdev', 'net_null1'];
  const pool = opts.mbufs === undefined ? [] : [`--total-num-mbufs=${opts.mbufs}`];
  const burst = opts.burst === undefined ? [] : [`--burst=${opts.burst}`];
  return ['-l', '0,1', '--no-pci', '--file-prefix', opts.prefix, ...memory, ...vdevs, '--', '-i', '--no-mlockall', ...pool, ...burst, `--forward-mode=${mode === 'ring' ? 'io' : mode}`];
}

/**
 * Starts dpdk-testpmd with `args` (its EAL `--file-prefix` among them) under `wrapper`
 * (`stdbuf -oL`, valgrind), every stream piped. EAL leaves its runtime directory behind
 * even after `quit`: it is removed when testpmd exits.
 */
export function spawnTestpmd(args: readonly string[], wrapper: readonly string[] = ['stdbuf', '-oL']) {
  const [cmd, ...rest] = [...wrapper, 'dpdk-testpmd'];
  const child = spawn(cmd!, [...rest, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const at = args.indexOf('--file-prefix');
  if (at === -1) throw new Error('testpmd needs its own --file-prefix, so that its runtime directory can be removed');
  child.on('close', () => rmSync(ealRuntimeDir(args[at + 1]!), { recursive: true, force: true }));
  return child;
}

/** testpmd in `mode`; returns the mean per-port Mpps it reports over the run. */
export async function testpmd(mode: Mode, opts: ForwardOptions): Promise<number> {
  const args = testpmdArgs(mode, { ...opts, prefix: `bench-testpmd-${process.pid}` });
  // Line-buffered (the default wrapper): testpmd's printf output would otherwise sit in a pipe buffer.
  const child = spawnTestpmd(args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const send = (line: string) => child.stdin.write(`${line}\n`);
  await waitFor(() => out.includes('testpmd> '), 'the testpmd prompt');
  send(testpmdStart(mode));
  await sleep(500);
  send('show port stats all'); // starts testpmd's own rate interval
  await sleep(opts.durationS * 1000);
  const mark = out.length;
  send('show port stats all');
  await waitFor(() => (out.slice(mark).match(/Tx-pps/g) ?? []).length >= 2, 'testpmd port stats');
  send('stop');
  send('quit');
  await new Promise((resolve) => child.on('close', resolve));
  const field = measuresTx(mode) ? 'Tx-pps' : 'Rx-pps';
  const rates = [...out.slice(mark).matchAll(new RegExp(`${field}:\\s+(\\d+)`, 'g'))].map((m) => Number(m[1]));
  return rates.reduce((a, b) => a + b, 0) / rates.length / 1e6;
}

function pipelines(mode: Mode): PipelineConfig[] {
  const both = (stages: PipelineConfig['stages']): PipelineConfig[] => [
    { name: 'a-to-b', input: 'a', stages, output: 'b' },
    { name: 'b-to-a', input: 'b', stages, output: 'a' },
  ];
  switch (mode) {
    case 'io': return both([]);
    case 'mac': return both([{ kind: 'macRewrite', dst: '02:00:00:00:00:01' }]);
    case 'macswap': return both(['macSwap']);
    case '5tswap': return both(['fiveTupleSwap']);
    case 'rxonly': return [{ name: 'sink', input: ['a', 'b'], stages: ['drop'] }];
    case 'txonly': return [
      { name: 'make-a', generator: { packetSize: 64 }, output: 'a' },
      { name: 'make-b', generator: { packetSize: 64 }, output: 'b' },
    ];
    case 'ring': return [
      ...both([]),
      { name: 'prime-a', generator: { packetSize: 64, count: RING_PRIMED }, output: 'a' },
      { name: 'prime-b', generator: { packetSize: 64, count: RING_PRIMED }, output: 'b' },
    ];
  }
}

/** The Fastpath config for `mode` (shared with the memory and instruction measurements). */
export function fastpathConfig(mode: Mode, opts: Pick<ForwardOptions, 'noHuge' | 'mbufs'>, counters = true): EngineConfig {
  const port = mode === 'ring' ? { ring: {} } : { null: {} };
  return {
    ports: { a: port, b: port },
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: !opts.noHuge, mbufs: opts.mbufs },
    eal: { logToStderr: false },
    pipelines: pipelines(mode),
    stats: { counters },
  };
}

/** Fastpath in `mode` through `fastpath run`; returns the mean per-port Mpps. */
export function fastpath(mode: Mode, opts: ForwardOptions, counters = true): number {
  const scratch = mkdtempSync(join(tmpdir(), 'fastpath-bench-'));
  try {
    const file = join(scratch, `${mode}.json`);
    writeFileSync(file, JSON.stringify(fastpathConfig(mode, opts, counters)));
    const start = () => spawnSync(process.execPath, [join(root, 'packages/control/bin/fastpath.js'), 'run', file, '--duration', String(opts.durationS), '--json'], { encoding: 'utf8' });
    let run = start();
    // Refused because another live engine polls the worker's CPU (someone's test): wait and retry, for up to a minute.
    for (let attempt = 1; run.status !== 0 && run.stderr.includes('[ERR_LCORE]') && attempt < 30; attempt++) {
      spawnSync('sleep', ['2']);
      run = start();
    }
    if (run.status !== 0) throw new Error(`fastpath run failed: ${run.stderr}`);
    const summary = JSON.parse(run.stdout.trimEnd().split('\n').at(-1)!) as { ports: { rxPackets: number; txPackets: number }[]; durationS: number };
    const packets = summary.ports.reduce((a, p) => a + (measuresTx(mode) ? p.txPackets : p.rxPackets), 0) / summary.ports.length;
    return packets / summary.durationS / 1e6;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** min, median, max. */
export function spread(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const round = (x: number) => Number(x.toFixed(3));
  return { min: round(s[0]!), median: round(s[Math.floor(s.length / 2)]!), max: round(s.at(-1)!) };
}

export interface ModeResult {
  mode: Mode;
  memory: 'hugepages' | 'no-huge';
  rounds: { testpmd: number; fastpath: number; countersOff?: number }[];
  testpmdMpps: ReturnType<typeof spread>;
  fastpathMpps: ReturnType<typeof spread>;
  countersOffMpps?: ReturnType<typeof spread>;
  /** Fastpath / testpmd, per round. */
  ratio: ReturnType<typeof spread>;
  /** Stats on / stats off, per round: what counting costs (1.00 = nothing). */
  statsOnOff?: ReturnType<typeof spread>;
}

/**
 * `rounds` rounds of testpmd, Fastpath and (with `countersOff`) Fastpath with its counters
 * off, alternating (A B A B) so that machine noise lands on all of them.
 */
export async function measureMode(mode: Mode, opts: ForwardOptions, rounds: number, countersOff: boolean, log: (line: string) => void): Promise<ModeResult> {
  const samples: ModeResult['rounds'] = [];
  for (let round = 1; round <= rounds; round++) {
    const t = await testpmd(mode, opts);
    const f = fastpath(mode, opts);
    const off = countersOff ? fastpath(mode, opts, false) : undefined;
    samples.push({ testpmd: t, fastpath: f, countersOff: off });
    const offText = off === undefined ? '' : ` (counters off ${off.toFixed(2)})`;
    log(`${mode}${opts.noHuge ? ' (no-huge)' : ''} round ${round}: testpmd ${t.toFixed(2)} Mpps/port, fastpath ${f.toFixed(2)}${offText}, ratio ${(f / t).toFixed(3)}`);
  }
  const off = samples.flatMap((s) => (s.countersOff === undefined ? [] : [{ on: s.fastpath, off: s.countersOff }]));
  return {
    mode,
    memory: opts.noHuge ? 'no-huge' : 'hugepages',
    rounds: samples,
    testpmdMpps: spread(samples.map((s) => s.testpmd)),
    fastpathMpps: spread(samples.map((s) => s.fastpath)),
    ratio: spread(samples.map((s) => s.fastpath / s.testpmd)),
    ...(off.length > 0 ? { countersOffMpps: spread(off.map((s) => s.off)), statsOnOff: spread(off.map((s) => s.on / s.off)) } : {}),
  };
}
