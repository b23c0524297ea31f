/**
 * iperf3 TCP throughput across two network namespaces, through the Fastpath bridge
 * (examples/bridge.ts) and through `dpdk-testpmd --forward-mode=io` on the same veth pair
 * (af_packet ports, same lcores, no hugepages for both), in the same run. Needs root.
 *
 *   npx tsx bench/bridge.ts [--seconds S] [--rounds N] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { cannotUseNamespaces, createNamespaces, iperf, ping, removeNamespaces, type Namespaces } from '../test/netns.js';
import { spawnTestpmd } from './lib/forward.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const why = cannotUseNamespaces();
if (why) {
  // `npm run bench` runs this last; without root the other benchmarks still count.
  console.error(`bench/bridge: skipped: ${why}`);
  process.exit(0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `child`, waits for `ready` in its stdout, runs `body`, then stops it with `stop`. */
async function around<T>(child: ChildProcess, ready: string, stop: () => void, n: Namespaces, body: () => Promise<T>): Promise<T> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((resolve) => child.on('close', resolve));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes(ready)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(ready)}`);
      await sleep(50);
    }
    const warm = Date.now() + 10_000;
    while (ping(n, 1) === 0 && Date.now() < warm);
    return await body();
  } finally {
    stop();
    await closed;
  }
}

async function fastpath(n: Namespaces): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/bridge.ts', n.hostA, n.hostB, '--duration', '600'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
  return around(child, 'time  port', () => child.kill('SIGINT'), n, () => iperf(n, seconds));
}

async function testpmd(n: Namespaces): Promise<number> {
  const args = ['-l', '0,1', '--no-pci', '--no-huge', '-m', '512', '--no-shconf', '--file-prefix', `bench-bridge-${process.pid}`,
    '--vdev', `net_af_packet0,iface=${n.hostA}`, '--vdev', `net_af_packet1,iface=${n.hostB}`,
    '--', '-i', '--no-mlockall', '--total-num-mbufs=8191', '--forward-mode=io'];
  const child = spawnTestpmd(args);
  child.stderr.resume(); // read and let go: EAL's log is not what is measured
  const send = (line: string) => child.stdin?.write(`${line}\n`);
  let started = false;
  child.stdout?.on('data', (d: Buffer) => {
    if (!started && d.toString().includes('testpmd> ')) {
      started = true;
      send('start');
    }
  });
  return around(child, 'Logical Core', () => { send('stop'); send('quit'); }, n, () => iperf(n, seconds));
}

const n = createNamespaces('bench');
const samples: { fastpathGbps: number; testpmdGbps: number }[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const t = (await testpmd(n)) / 1e9;
    const f = (await fastpath(n)) / 1e9;
    samples.push({ fastpathGbps: f, testpmdGbps: t });
    if (!values.json) console.log(`round ${round}: testpmd io ${t.toFixed(2)} Gbit/s, fastpath bridge ${f.toFixed(2)} Gbit/s, ratio ${(f / t).toFixed(3)}`);
  }
} finally {
  removeNamespaces(n);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = {
  test: 'iperf3 TCP across af_packet on a veth pair',
  seconds,
  rounds,
  testpmdGbps: Number(median(samples.map((s) => s.testpmdGbps)).toFixed(2)),
  fastpathGbps: Number(median(samples.map((s) => s.fastpathGbps)).toFixed(2)),
  ratio: Number(median(samples.map((s) => s.fastpathGbps / s.testpmdGbps)).toFixed(3)),
};
console.log(values.json ? JSON.stringify(summary) : `median: ${JSON.stringify(summary)}`);
