/**
 * Two network namespaces joined through veth pairs whose host ends (`vA`, `vB` by default)
 * a bridge can sit between:  [ns A: pA 10.77.0.1] ─ vA ⇄ (bridge) ⇄ vB ─ [ns B: pB 10.77.0.2]
 * Offloads are off on both ends, as AF_PACKET needs (TCP checksums would arrive unfilled and
 * TSO/GRO super-frames would not fit a frame). Created and removed by the test that uses it.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface Namespaces {
  a: string;
  b: string;
  hostA: string;
  hostB: string;
  ipA: string;
  ipB: string;
}

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (args: string[]) => spawnSync(args[0]!, args.slice(1), { stdio: 'ignore' }).status === 0;

/**
 * Why namespace tests cannot run here, or undefined when they can: root, and the `tools` the
 * test runs (ip always; ethtool only tunes offloads, so it is not required).
 */
export function cannotUseNamespaces(tools: ('ping' | 'iperf3')[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth, raw sockets)';
  for (const tool of ['ip', ...tools]) {
    if (!quiet(['sh', '-c', `command -v ${tool}`])) return `needs ${tool} (apt-get install iproute2 ethtool iputils-ping iperf3)`;
  }
  return undefined;
}

export function createNamespaces(tag: string): Namespaces {
  const n: Namespaces = { a: `fp${tag}A`, b: `fp${tag}B`, hostA: `v${tag}A`, hostB: `v${tag}B`, ipA: '10.77.0.1', ipB: '10.77.0.2' };
  removeNamespaces(n);
  for (const [ns, host, peer, ip] of [[n.a, n.hostA, 'pA', n.ipA], [n.b, n.hostB, 'pB', n.ipB]] as const) {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
    sh(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', peer]);
    sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up']);
    sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    quiet(['ip', 'netns', 'exec', ns, 'ethtool', '-K', peer, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
    sh(['ip', 'link', 'set', host, 'up']);
    quiet(['ethtool', '-K', host, 'gro', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  }
  return n;
}

export function removeNamespaces(n: Namespaces): void {
  quiet(['ip', 'netns', 'del', n.a]);
  quiet(['ip', 'netns', 'del', n.b]);
  quiet(['ip', 'link', 'del', n.hostA]);
  quiet(['ip', 'link', 'del', n.hostB]);
}

/** `ping` from A to B; returns how many of `count` replies came back. */
export function ping(n: Namespaces, count = 3): number {
  const r = spawnSync('ip', ['netns', 'exec', n.a, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', n.ipB], { encoding: 'utf8' });
  const m = /(\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/** An iperf3 TCP run from A to B; returns the receiver's bits per second. */
export async function iperf(n: Namespaces, seconds = 3): Promise<number> {
  const server: ChildProcess = spawn('ip', ['netns', 'exec', n.b, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const r = spawnSync('ip', ['netns', 'exec', n.a, 'iperf3', '-c', n.ipB, '-t', String(seconds), '-J'], { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
    const report = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    if (report.error) throw new Error(`iperf3: ${report.error}`);
    return report.end?.sum_received?.bits_per_second ?? 0;
  } finally {
    server.kill();
  }
}
