/**
 * Instructions per forwarded packet, counted by valgrind's callgrind for both sides (this
 * VM exposes no hardware counters to `perf stat`), so a gap in Mpps can be explained, not
 * guessed.
 *
 * Each side runs twice under callgrind, for a short and a long time, on two net_null ports
 * without hugepages (valgrind and hugetlbfs do not mix); instructions per packet are the
 * difference in instructions over the difference in packets, which cancels start-up and
 * shutdown. Only the forwarding lcore's thread is counted (callgrind counts each thread
 * apart; the forwarding thread is the one whose count grows most from the short run to the
 * long one): the other threads do work per unit of time on other CPUs (Fastpath's sampler
 * every 10 ms, testpmd's prompt), which valgrind's one-thread-at-a-time run at about 1 Mpps
 * would otherwise charge to packets some 30 times over. testpmd (a stripped binary: no symbols to narrow the count to) runs
 * interactively (`start`, `stop`); Fastpath runs as crates/engine/examples/forward.rs, the
 * engine with no Node.js in the process.
 *
 * Both sides move bursts of 32 packets (testpmd's default, and Fastpath's `BURST_SIZE`);
 * `--testpmd-burst N` runs testpmd at another burst size (its `--burst`), to find its best.
 *
 *   npx tsx bench/instructions.ts [--modes io,macswap,…] [--short 2] [--long 6] [--testpmd-burst N] [--json]   (default: every mode)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { toWire, validateConfig } from '@fastpath/types';

import { fastpathConfig, measuresTx, MODES, root, spawnTestpmd, testpmdArgs, testpmdStart, type Mode } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: MODES.join(',') },
    short: { type: 'string', default: '2' },
    long: { type: 'string', default: '6' },
    'testpmd-burst': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const modes = values.modes.split(',') as Mode[];
const testpmdBurst = values['testpmd-burst'] === undefined ? undefined : Number(values['testpmd-burst']);
const scratch = mkdtempSync(join(tmpdir(), 'fastpath-callgrind-'));

/** Instructions callgrind counted in one output file. */
function totals(file: string): number {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('totals:'));
  if (!line) throw new Error(`${file}: no totals line`);
  return Number(line.split(/\s+/)[1]);
}

/** Instructions per thread of a run whose per-thread files are `out-NN` (NN: the thread's number, in creation order). */
function threads(out: string): Map<string, number> {
  const dir = dirname(out);
  const files = readdirSync(dir).filter((f) => f.startsWith(`${basename(out)}-`));
  if (files.length === 0) throw new Error(`${out}: no per-thread callgrind files`);
  return new Map(files.map((f) => [f.slice(basename(out).length + 1), totals(join(dir, f))]));
}

/** The forwarding lcore's instructions between two runs: the thread whose count grew most from the short run to the long one. */
function forwardingGrowth(short: Map<string, number>, long: Map<string, number>): number {
  return Math.max(...[...long].map(([thread, n]) => n - (short.get(thread) ?? 0)));
}

function callgrind(out: string): string[] {
  // --fair-sched: a busy-polling lcore would otherwise starve the thread that reads commands.
  return ['valgrind', '--tool=callgrind', '--fair-sched=yes', '--separate-threads=yes', `--callgrind-out-file=${out}`];
}

/** testpmd under callgrind for `seconds` of forwarding: (instructions, packets received, or sent in txonly). */
async function testpmd(mode: Mode, seconds: number, tag: string): Promise<[Map<string, number>, number]> {
  const out = join(scratch, `testpmd-${mode}-${tag}.out`);
  const args = testpmdArgs(mode, { noHuge: true, mbufs: 8191, prefix: `bench-cg-${process.pid}-${tag}`, burst: testpmdBurst });
  const child = spawnTestpmd(args, callgrind(out));
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + 120_000;
  // The prompt (no newline) is written before testpmd reads its first command.
  while (!text.includes('testpmd> ')) {
    if (Date.now() > deadline) throw new Error(`testpmd under valgrind did not start:\n${text}`);
    await sleep(100);
  }
  child.stdin.write(`${testpmdStart(mode)}\n`);
  await sleep(seconds * 1000);
  // testpmd's stdout is a pipe here (block-buffered): its totals arrive when it exits.
  child.stdin.write('stop\nquit\n');
  await new Promise((resolve) => child.on('close', resolve));
  const accumulated = text.slice(text.lastIndexOf('Accumulated forward statistics'));
  const packets = Number((measuresTx(mode) ? /TX-packets:\s+(\d+)/ : /RX-packets:\s+(\d+)/).exec(accumulated)?.[1]);
  return [threads(out), packets];
}

/** The Fastpath engine (no Node) under callgrind for `seconds`: (instructions, packets received, or sent in txonly). */
function fastpath(mode: Mode, seconds: number, tag: string, counters = true): [Map<string, number>, number] {
  const out = join(scratch, `fastpath-${mode}-${tag}.out`);
  const config = fastpathConfig(mode, { noHuge: true, mbufs: 8191 }, counters);
  const file = join(scratch, `${mode}-${tag}.json`);
  // The example reads the config itself: the wire's `config`, beside which the version goes.
  writeFileSync(file, JSON.stringify(toWire(validateConfig({ ...config, eal: { filePrefix: `bench-cg-fp-${process.pid}-${tag}`, logToStderr: false } })).config));
  const [cmd, ...rest] = callgrind(out);
  const run = spawnSync(cmd!, [...rest, join(root, 'target/release/examples/forward'), file, String(seconds)], { encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`forward under valgrind failed:\n${run.stderr.slice(-2000)}`);
  const counts = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { rxPackets: number[]; txPackets: number[] };
  return [threads(out), (measuresTx(mode) ? counts.txPackets : counts.rxPackets).reduce((a, b) => a + b, 0)];
}

const build = spawnSync('cargo', ['build', '--release', '--quiet', '-p', 'engine', '--example', 'forward'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('cargo build of the forward example failed');

const results = [];
try {
  for (const mode of modes) {
    type Run = [Map<string, number>, number];
    const perPacket = async (side: (s: number, tag: string) => Promise<Run> | Run) => {
      const [i1, p1] = await side(Number(values.short), 'short');
      const [i2, p2] = await side(Number(values.long), 'long');
      return { instructionsPerPacket: Number((forwardingGrowth(i1, i2) / (p2 - p1)).toFixed(1)), packets: p2 - p1 };
    };
    const t = await perPacket((s, tag) => testpmd(mode, s, tag));
    const f = await perPacket((s, tag) => fastpath(mode, s, tag));
    const off = await perPacket((s, tag) => fastpath(mode, s, `${tag}-off`, false));
    results.push({ mode, testpmd: t, fastpath: f, fastpathCountersOff: off, ratio: Number((f.instructionsPerPacket / t.instructionsPerPacket).toFixed(3)) });
    if (!values.json) {
      console.log(`${mode}: testpmd${testpmdBurst === undefined ? '' : ` (burst ${testpmdBurst})`} ${t.instructionsPerPacket} instructions/packet, fastpath ${f.instructionsPerPacket} (ratio ${results.at(-1)!.ratio}), fastpath with counters off ${off.instructionsPerPacket}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (values.json) console.log(JSON.stringify({ tool: 'callgrind', memory: 'no-huge', counted: 'the forwarding lcore thread', ...(testpmdBurst === undefined ? {} : { testpmdBurst }), results }));
