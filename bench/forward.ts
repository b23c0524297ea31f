/**
 * io forwarding, Fastpath next to dpdk-testpmd, in the same run on the same vdevs, lcores and
 * memory mode. Prints per-port Mpps for both and their ratio; with --json, one JSON line.
 *
 *   npx tsx bench/forward.ts [--duration S] [--rounds N] [--no-huge] [--json]
 *
 * testpmd measures itself (`show port stats all` Rx-pps over the run); Fastpath reports its
 * counters over the same span through examples/l2fwd.ts. Rounds alternate the two so that
 * machine noise lands on both.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'no-huge': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const noHuge = values['no-huge'];
const MBUFS = 8191;
const VDEVS = ['net_null0', 'net_null1'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `ready` until it holds; fails loudly instead of hanging. */
async function waitFor(ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** testpmd io forwarding; returns the mean per-port rx Mpps over `durationS`. */
async function testpmd(): Promise<number> {
  const memory = noHuge ? ['--no-huge', '-m', '256', '--no-shconf'] : ['--huge-unlink=always'];
  const args = ['-l', '0,1', '--no-pci', '--file-prefix', `bench-testpmd-${process.pid}`, ...memory,
    ...VDEVS.flatMap((v) => ['--vdev', v]), '--', '-i', '--no-mlockall', `--total-num-mbufs=${MBUFS}`, '--forward-mode=io'];
  // Line-buffered: testpmd's printf output would otherwise sit in a pipe buffer.
  const child = spawn('stdbuf', ['-oL', 'dpdk-testpmd', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const send = (line: string) => child.stdin.write(`${line}\n`);
  await waitFor(() => out.includes('testpmd> '), 'the testpmd prompt');
  send('start');
  await sleep(500);
  send('show port stats all'); // starts testpmd's own rate interval
  await sleep(durationS * 1000);
  const mark = out.length;
  send('show port stats all');
  await waitFor(() => (out.slice(mark).match(/Tx-pps/g) ?? []).length >= VDEVS.length, 'testpmd port stats');
  send('stop');
  send('quit');
  await new Promise((resolve) => child.on('close', resolve));
  const rates = [...out.slice(mark).matchAll(/Rx-pps:\s+(\d+)/g)].map((m) => Number(m[1]));
  return rates.reduce((a, b) => a + b, 0) / rates.length / 1e6;
}

/** Fastpath io forwarding through the l2fwd example; returns the mean per-port rx Mpps. */
function fastpath(): number {
  const args = ['--import', 'tsx', 'examples/l2fwd.ts', '--duration', String(durationS), '--json', '--lcores', '0,1'];
  if (noHuge) args.push('--no-huge');
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`l2fwd failed: ${run.stderr}`);
  const summary = JSON.parse(run.stdout.trimEnd().split('\n').at(-1)!) as { ports: { rxPackets: number }[]; durationS: number };
  const rx = summary.ports.reduce((a, p) => a + p.rxPackets, 0) / summary.ports.length;
  return rx / summary.durationS / 1e6;
}

const results: { round: number; testpmdMpps: number; fastpathMpps: number }[] = [];
for (let round = 1; round <= rounds; round++) {
  const testpmdMpps = await testpmd();
  const fastpathMpps = fastpath();
  results.push({ round, testpmdMpps, fastpathMpps });
  if (!values.json) {
    console.log(`round ${round}: testpmd ${testpmdMpps.toFixed(2)} Mpps/port, fastpath ${fastpathMpps.toFixed(2)} Mpps/port, ratio ${(fastpathMpps / testpmdMpps).toFixed(3)}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = {
  mode: 'io',
  vdevs: VDEVS,
  memory: noHuge ? 'no-huge' : 'hugepages',
  durationS,
  rounds,
  testpmdMpps: Number(median(results.map((r) => r.testpmdMpps)).toFixed(2)),
  fastpathMpps: Number(median(results.map((r) => r.fastpathMpps)).toFixed(2)),
  ratio: Number(median(results.map((r) => r.fastpathMpps / r.testpmdMpps)).toFixed(3)),
};
console.log(values.json ? JSON.stringify(summary) : `median: ${JSON.stringify(summary)}`);
