/**
 * Real drivers between engines: memif (a server engine and a client engine) and virtio_user ↔
 * vhost, each pair two `fastpath run` processes, and af_xdp on a veth pair in a network
 * namespace. Every engine generates a counted 100,000 packets into its port and counts what
 * arrives; the second engine of a pair starts once the first runs, so the first one's link
 * comes up only then. Its generator waits for the link (it used to send at once and lose
 * every packet at tx), and a port that cannot take a burst holds it (it used to drop the
 * rest), so each side receives exactly what the other made. A port whose link never comes
 * up counts what is forwarded to it as `txLinkDown`.
 *
 * memif and vhost-user need only Unix sockets (made in a scratch directory, removed by the
 * servers as they stop) and run without hugepages; af_xdp needs root, a kernel with AF_XDP
 * and DPDK's net_af_xdp: skipped with the reason printed where they are missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { lastLine, leftovers, repoRoot, runCli, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('drivers');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COUNT = 100_000;
const CLI = join(repoRoot, 'packages/control/bin/fastpath.js');

interface PortCounts {
  name: string;
  rxPackets: number;
  txPackets: number;
  txDropped: number;
  txLinkDown: number;
  rxMissed: number;
  linkUp?: number | null;
}
interface PipelineCounts {
  name: string;
  inPackets: number;
  outPackets: number;
  generated: number;
}
interface Counts {
  ports: PortCounts[];
  pipelines: PipelineCounts[];
}

/** A `fastpath run` in a process of its own, until it is signalled. */
interface Run {
  prefix: string;
  output: () => string;
  /** Whether it has exited (a start it refused, for one). */
  exited: () => boolean;
  /** SIGINT (Ctrl-C), then its exit code, output and `--json` summary. */
  stop: () => Promise<{ status: number | null; stdout: string; stderr: string; summary?: Counts }>;
}

/** Starts `fastpath run` on `config` (in network namespace `ns` when given). */
function start(prefix: string, config: object, ns?: string): Run {
  const file = join(dir, `${prefix}.json`);
  writeFileSync(file, JSON.stringify(config));
  const argv = [process.execPath, CLI, 'run', file, '--json'];
  const child = ns ? spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: repoRoot }) : spawn(argv[0]!, argv.slice(1), { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (status) => {
      closed = true;
      resolve(status);
    }),
  );
  return {
    prefix,
    output: () => stdout + stderr,
    exited: () => closed,
    stop: async () => {
      child.kill('SIGINT');
      const status = await exited;
      let summary: Counts | undefined;
      try {
        summary = JSON.parse(lastLine(stdout)) as Counts;
      } catch {
        summary = undefined;
      }
      return { status, stdout, stderr, summary };
    },
  };
}

/** An engine on `port` whose workers sink what it receives and generate COUNT packets into it. */
function engine(prefix: string, port: object, cpu: 0 | 1, generate = true): object {
  return {
    ports: { p: port },
    // Each engine's worker on a CPU of its own; the main lcore does not busy-poll.
    lcores: cpu === 1 ? { main: 0, workers: [1] } : { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
    memory: { hugepages: false },
    eal: { filePrefix: prefix, logLevel: 'warning' },
    pipelines: [{ name: 'sink', input: 'p', stages: ['drop'] }, ...(generate ? [{ name: 'gen', generator: { count: COUNT }, output: 'p' }] : [])],
  };
}

/** Waits until `run`'s workers run; false when it exits first or takes over 20 s. */
async function running(run: Run): Promise<boolean> {
  await waitFor(() => run.exited() || snapshot(run.prefix) !== undefined, 20_000);
  return !run.exited() && snapshot(run.prefix) !== undefined;
}

/** A running engine's counters (`fastpath stats NAME --json`), once its workers run. */
function snapshot(prefix: string): (Counts & { uptimeNs: number }) | undefined {
  const r = runCli(['stats', prefix, '--json'], 10_000);
  if (r.status !== 0) return undefined;
  const snap = JSON.parse(r.stdout) as Counts & { uptimeNs: number };
  return snap.uptimeNs > 0 ? snap : undefined;
}

const pipeline = (c: Counts, name: string) => c.pipelines.find((p) => p.name === name)!;

/** What an engine of {@link engine} made, sent and received. */
function counted(c: Counts) {
  const [port] = c.ports;
  return {
    generated: pipeline(c, 'gen').generated,
    sent: port!.txPackets,
    txDropped: port!.txDropped,
    txLinkDown: port!.txLinkDown,
    received: port!.rxPackets,
    sunk: pipeline(c, 'sink').inPackets,
  };
}

const exact = { generated: COUNT, sent: COUNT, txDropped: 0, txLinkDown: 0, received: COUNT, sunk: COUNT };

/**
 * Two engines on the two ends of a link: the first (worker on CPU 1) starts, waits with its
 * link down until the second (worker on CPU 0) comes up, then both send COUNT each way.
 */
async function pair(tag: string, first: object, second: object, socket: string) {
  const [one, two] = [`fp-drv-${tag}-1`, `fp-drv-${tag}-2`];
  const a = start(one, engine(one, first, 1));
  let b: Run | undefined;
  try {
    expect(await running(a), a.output()).toBe(true);
    expect(existsSync(socket), a.output()).toBe(true);
    // Alone, its link is down and its generator waits: nothing made, nothing lost.
    const alone = snapshot(one)!;
    expect(alone.ports[0]!.linkUp).toBe(0);
    expect(counted(alone)).toMatchObject({ generated: 0, sent: 0, txDropped: 0, txLinkDown: 0 });

    b = start(two, engine(two, second, 0));
    expect(await running(b), b.output()).toBe(true);
    const done = (prefix: string) => {
      const s = snapshot(prefix);
      return s !== undefined && counted(s).sunk === COUNT && counted(s).sent === COUNT;
    };
    await waitFor(() => done(one) && done(two), 30_000);
  } finally {
    const rb = await b?.stop();
    const ra = await a.stop();
    // Stopped by Ctrl-C after a clean stop: 130, with the summary.
    expect(ra.status, ra.stderr).toBe(130);
    expect(counted(ra.summary!), `${tag} first engine`).toEqual(exact);
    if (rb) {
      expect(rb.status, rb.stderr).toBe(130);
      expect(counted(rb.summary!), `${tag} second engine`).toEqual(exact);
    }
  }
  expect(existsSync(socket), 'the server removed its socket').toBe(false);
  expect([...leftovers(one), ...leftovers(two)]).toEqual([]);
}

it('reliability: memif between a server engine and a client engine carries 100,000 packets each way, exactly', async () => {
  const socket = join(dir, 'memif.sock');
  await pair('memif', { memif: { role: 'server', socket } }, { memif: { role: 'client', socket } }, socket);
});

it('reliability: virtio_user to a vhost engine carries 100,000 packets each way, exactly', async () => {
  const socket = join(dir, 'vhost.sock');
  await pair('vhost', { vhost: { socket } }, { virtioUser: { path: socket } }, socket);
});

it('reliability: a port whose link is down counts what is forwarded to it (txLinkDown) and its generator waits', async () => {
  const socket = join(dir, 'lonely.sock');
  const prefix = 'fp-drv-down';
  const config = {
    ports: { m: { memif: { role: 'server', socket } }, n: { null: {} } },
    lcores: { main: 0, workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: prefix, logLevel: 'warning' },
    pipelines: [
      { name: 'fwd', input: 'n', output: 'm' },
      { name: 'gen', generator: { count: 1000 }, output: 'm' },
    ],
  };
  const file = join(dir, `${prefix}.json`);
  writeFileSync(file, JSON.stringify(config));
  const r = runCli(['run', file, '--duration', '1', '--json']);
  expect(r.status, r.stderr).toBe(0);
  const summary = JSON.parse(lastLine(r.stdout)) as Counts;
  const m = summary.ports.find((p) => p.name === 'm')!;
  const forwarded = pipeline(summary, 'fwd').outPackets;
  expect(forwarded).toBeGreaterThan(0);
  // Every forwarded packet is counted as lost to the link; none was offered to the driver.
  expect([m.txPackets, m.txDropped, m.txLinkDown]).toEqual([0, 0, forwarded]);
  expect(pipeline(summary, 'gen').generated).toBe(0);
  expect(r.stdout).toContain(`tx link down ${forwarded}`);
  expect(existsSync(socket)).toBe(false);
  expect(leftovers(prefix)).toEqual([]);
});

/** Why af_xdp cannot be tried here, or undefined. */
function cannotUseAfXdp(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (AF_XDP sockets, an XDP program, network namespaces)';
  if (spawnSync('sh', ['-c', 'command -v ip'], { stdio: 'ignore' }).status !== 0) return 'needs ip (apt-get install iproute2)';
  return undefined;
}

it('reliability: af_xdp on a veth pair: every packet sent arrives or is counted dropped by the kernel', async (ctx) => {
  const why = cannotUseAfXdp();
  if (why) {
    console.warn(`af_xdp: skipped: ${why}`);
    ctx.skip(why);
    return;
  }
  const ns = 'fpdrvxdp';
  const sh = (...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  const made = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  try {
    expect(sh('ip', 'link', 'add', 'fpxA', 'type', 'veth', 'peer', 'name', 'fpxB').status).toBe(0);
    for (const i of ['fpxA', 'fpxB']) {
      // No IPv6: the kernel then sends nothing of its own on the pair.
      sh('sysctl', '-qw', `net.ipv6.conf.${i}.disable_ipv6=1`);
      expect(sh('ip', 'link', 'set', i, 'up').status).toBe(0);
    }
    // The receiver first (sink only), then the sender (generator only).
    const [rx, tx] = ['fp-drv-xdp-rx', 'fp-drv-xdp-tx'];
    const receiver = start(rx, engine(rx, { afXdp: { iface: 'fpxB' }, rxDescriptors: 4096 }, 1, false), ns);
    if (!(await running(receiver))) {
      const r = await receiver.stop();
      // Only the kernel refusing what the driver asks (an XDP socket, its umem, the XDP
      // program), in the driver's or libbpf's own words, skips; anything else is a failure.
      const refusal = /Failed to (create xsk socket|configure xdp socket|create umem|load program|set prog fd|probe)|bpf_xdp_query_id failed|^libbpf:/;
      const said = r.stderr.split('\n').find((l) => refusal.test(l));
      expect(said, r.stderr).toBeDefined();
      console.warn(`af_xdp: skipped: the engine could not open an af_xdp port here: ${said!.slice(0, 300)}`);
      ctx.skip(`the engine could not open an af_xdp port here: ${said!.slice(0, 300)}`);
      return;
    }
    const sender = start(tx, { ...engine(tx, { afXdp: { iface: 'fpxA' } }, 0), pipelines: [{ name: 'gen', generator: { count: COUNT }, output: 'p' }] }, ns);
    expect(await running(sender), sender.output()).toBe(true);
    const kernel = () => {
      const link = JSON.parse(sh('ip', '-j', '-s', 'link', 'show', 'dev', 'fpxB').stdout || '[{}]') as { stats64?: { rx: { packets: number; dropped: number } } }[];
      return link[0]?.stats64?.rx ?? { packets: 0, dropped: 0 };
    };
    await waitFor(() => kernel().packets >= COUNT, 30_000);
    // Let the receiver's worker take what its rings still hold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [ts, rs] = [await sender.stop(), await receiver.stop()];
    expect([ts.status, rs.status], ts.stderr + rs.stderr).toEqual([130, 130]);
    const sent = ts.summary!.ports[0]!;
    expect([pipeline(ts.summary!, 'gen').generated, sent.txPackets, sent.txDropped]).toEqual([COUNT, COUNT, 0]);
    // All reached fpxB; the XDP program handed each to the receiver's socket or the kernel
    // dropped it there (its ring was full: AF_XDP has no backpressure to the sender).
    const k = kernel();
    const received = rs.summary!.ports[0]!.rxPackets;
    console.log(`af_xdp: ${COUNT} sent, ${received} received, ${k.dropped} dropped by the kernel at the receiver's full ring`);
    expect(k.packets).toBe(COUNT);
    expect(received).toBeGreaterThan(0);
    expect(received + k.dropped).toBe(COUNT);
    expect([...leftovers(rx), ...leftovers(tx)]).toEqual([]);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
});
