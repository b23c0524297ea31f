/**
 * Links that go away under a running engine: an af_packet port whose kernel interface is set
 * down, brought back, deleted and created again. The port reads link down (engine.stats(),
 * `fastpath stats`, `ls`, `top`, Prometheus' fastpath_port_link_up) while it is, what is sent to it then
 * is counted (txLinkDown), the other ports keep forwarding throughout, nothing crashes, and
 * traffic resumes when the interface comes back up. The same for a memif port whose peer
 * engine stops and a new one connects. An interface deleted and created again
 * is another interface, which the port's socket never sees: the port stays down until the
 * engine restarts (docs/config.md). A tap port (the engine's own kernel interface) set down
 * and up: the same. Needs root; skipped with the reason printed otherwise.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, prometheusRegistry, StatsReader, type EngineStats } from '@fastpath/control';

import { leftovers, repoRoot, runCli, scratchDir, waitFor } from './helpers.js';
import { cannotUseNamespaces } from './netns.js';

const IFACE = 'fplinkA';
const PEER = 'fplinkB';
/** The tap port's interface, which the engine creates. */
const TAP = 'fplinkT';
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const makeVeth = () => {
  ip('link', 'add', IFACE, 'type', 'veth', 'peer', 'name', PEER);
  ip('link', 'set', IFACE, 'up');
  ip('link', 'set', PEER, 'up');
};
const removeVeth = () => {
  try {
    ip('link', 'del', IFACE);
  } catch {
    // not there
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const skip = cannotUseNamespaces();
if (skip) console.warn(`reliability-links: skipped: ${skip}`);

describe.skipIf(skip !== undefined)('reliability: ports whose link goes away', () => {
  const name = `fp-links-${process.pid}`;
  const dir = scratchDir('links');
  const socket = join(dir, 'memif.sock');
  let engine: Engine;
  beforeAll(async () => {
    removeVeth();
    makeVeth();
    // x → k sends into the af_packet port at full speed; n → m are the other ports; s is a
    // memif server whose clients come and go.
    engine = await Engine.start({
      ports: { k: { afPacket: { iface: IFACE } }, x: { null: {} }, n: { null: {} }, m: { null: {} }, s: { memif: { role: 'server', socket } }, t: { tap: { iface: TAP } }, y: { null: {} } },
      lcores: { main: 0, workers: [1] },
      memory: { hugepages: false, mbufs: 32767 },
      pipelines: [
        { name: 'x-to-k', input: 'x', output: 'k' },
        { name: 'y-to-t', input: 'y', output: 't' },
        { name: 'n-to-m', input: 'n', output: 'm' },
        { name: 'from-client', input: 's', stages: ['drop'] },
      ],
      eal: { filePrefix: name, logToStderr: false },
    });
  });
  afterAll(async () => {
    await engine?.stop();
    removeVeth();
    rmSync(dir, { recursive: true, force: true });
    expect(leftovers(name)).toEqual([]);
  });

  const port = (name: string) => (s: EngineStats) => s.ports.find((p) => p.name === name)!;
  const k = port('k');
  const others_ = (s: EngineStats) => s.pipelines.find((p) => p.name === 'n-to-m')!.inPackets;
  /** Waits (up to 2 s) for port `of`'s link (k's unless named) to read `up`, and returns the stats then. */
  async function linkReads(up: 0 | 1, of = k): Promise<EngineStats> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const s = engine.stats();
      if (of(s).linkUp === up || Date.now() > deadline) return s;
      await sleep(20);
    }
  }
  /** Over 300 ms: what port `of` (k unless named) sent and dropped at a down link, and what the other ports forwarded. */
  async function over300ms(of = k) {
    const a = engine.stats();
    await sleep(300);
    const b = engine.stats();
    return { sent: of(b).txPackets - of(a).txPackets, linkDown: of(b).txLinkDown! - of(a).txLinkDown!, others: others_(b) - others_(a) };
  }

  it('reads up, then down while set down (everywhere), then up again with traffic resumed', async () => {
    expect(k(await linkReads(1)).linkUp).toBe(1);
    expect((await over300ms()).sent).toBeGreaterThan(0);

    ip('link', 'set', IFACE, 'down');
    expect(k(await linkReads(0)).linkUp).toBe(0);
    const down = await over300ms();
    expect(down.sent).toBe(0);
    expect(down.linkDown).toBeGreaterThan(0);
    expect(down.others).toBeGreaterThan(0);
    // The same from another process, and for Prometheus.
    const text = runCli(['stats', name]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}k +.*link down/m);
    expect(text.stdout).not.toMatch(/^ {2}n +.*link down/m);
    const listed = runCli(['ls']);
    expect(listed.stdout).toMatch(new RegExp(`^${name} .* alive .*  link down: k, s$`, 'm'));
    const top = runCli(['top', name, '--frames', '2']);
    expect(top.status, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^k \(down\) +\d/m);
    expect(top.stdout).not.toMatch(/n \(down\)/);
    const reader = StatsReader.attach(name);
    try {
      const metrics = await prometheusRegistry(reader).metrics();
      expect(metrics).toMatch(new RegExp(`^fastpath_port_link_up\\{engine="${name}",port="k"\\} 0$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^fastpath_port_link_up\\{engine="${name}",port="n"\\} 1$`, 'm'));
    } finally {
      reader.close();
    }

    ip('link', 'set', IFACE, 'up');
    expect(k(await linkReads(1)).linkUp).toBe(1);
    const resumed = await over300ms();
    expect(resumed.sent).toBeGreaterThan(0);
    expect(resumed.others).toBeGreaterThan(0);
  });

  it('reads down once deleted, and stays down for an interface created again under its name, the other ports forwarding', async () => {
    ip('link', 'del', IFACE);
    expect(k(await linkReads(0)).linkUp).toBe(0);
    expect((await over300ms()).others).toBeGreaterThan(0);

    makeVeth();
    await sleep(300);
    const again = await over300ms();
    expect(k(engine.stats()).linkUp).toBe(0);
    expect(again.sent).toBe(0);
    expect(again.linkDown).toBeGreaterThan(0);
    expect(again.others).toBeGreaterThan(0);
  });

  it('reads a memif port down while its peer is gone, and up with traffic again when a peer reconnects', async () => {
    const s = () => engine.stats().ports.find((p) => p.name === 's')!;
    await sleep(100);
    expect(s().linkUp).toBe(0);
    for (const round of [1, 2]) {
      // A client engine in another process (its worker on CPU 0) sends 10,000 packets, then stops.
      const prefix = `fp-links-client-${process.pid}-${round}`;
      const file = join(dir, `${prefix}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          ports: { p: { memif: { role: 'client', socket } } },
          lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
          memory: { hugepages: false },
          eal: { filePrefix: prefix, logLevel: 'warning' },
          pipelines: [{ name: 'gen', generator: { count: 10_000 }, output: 'p' }],
        }),
      );
      const before = s().rxPackets;
      const client = spawn(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), 'run', file], { cwd: repoRoot, stdio: 'ignore' });
      const exited = new Promise((resolve) => client.on('close', resolve));
      expect(await waitFor(() => s().linkUp === 1 && s().rxPackets - before === 10_000, 20_000), `round ${round}: ${JSON.stringify(s())}`).toBe(true);
      const others = others_(engine.stats());
      client.kill('SIGINT');
      expect(await exited).toBe(130);
      // The peer gone: the port reads down, the other ports carry on.
      expect(await waitFor(() => s().linkUp === 0, 2000)).toBe(true);
      expect(others_(engine.stats())).toBeGreaterThan(others);
      expect(leftovers(prefix)).toEqual([]);
    }
  });

  it('a tap port reads down while its interface is set down, and sends again once it is up', async () => {
    const tap = port('t');
    expect(tap(await linkReads(1, tap)).linkUp).toBe(1);
    expect((await over300ms(tap)).sent).toBeGreaterThan(0);
    ip('link', 'set', TAP, 'down');
    expect(tap(await linkReads(0, tap)).linkUp).toBe(0);
    const down = await over300ms(tap);
    expect(down.sent).toBe(0);
    expect(down.linkDown).toBeGreaterThan(0);
    expect(down.others).toBeGreaterThan(0);
    ip('link', 'set', TAP, 'up');
    expect(tap(await linkReads(1, tap)).linkUp).toBe(1);
    expect((await over300ms(tap)).sent).toBeGreaterThan(0);
  });
});
