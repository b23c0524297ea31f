/**
 * examples/bridge.ts between two network namespaces: ping and an iperf3 TCP run cross the
 * Fastpath bridge (af_packet ports on the host ends of two veth pairs). Before the bridge
 * runs, nothing crosses. After it stops, each interface is as promiscuous as it was before.
 * Needs root; skipped with the reason printed otherwise.
 */
import { execFileSync, spawn } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lastLine, repoRoot } from './helpers.js';
import { cannotUseNamespaces, createNamespaces, iperf, ping, removeNamespaces, type Namespaces } from './netns.js';

/** Whether interface `name` is in promiscuous mode, as `ip link` shows it. */
const promiscuous = (name: string) => /[<,]PROMISC[,>]/.test(execFileSync('ip', ['link', 'show', name], { encoding: 'utf8' }));

const skip = cannotUseNamespaces(['ping', 'iperf3']);
if (skip) console.warn(`bridge-netns: skipped: ${skip}`);

describe.skipIf(skip !== undefined)('the bridge example between two namespaces', () => {
  let n: Namespaces;
  beforeAll(() => {
    n = createNamespaces('br');
  });
  afterAll(() => {
    if (n) removeNamespaces(n);
  });

  it('carries ping and iperf3 only while it runs, and leaves each interface as promiscuous as it was', async () => {
    expect(ping(n, 1)).toBe(0);
    // One host end promiscuous before the bridge (as a capture would leave it), one not.
    execFileSync('ip', ['link', 'set', n.hostB, 'promisc', 'on']);
    expect([promiscuous(n.hostA), promiscuous(n.hostB)]).toEqual([false, true]);

    const bridge = spawn(process.execPath, ['--import', 'tsx', 'examples/bridge.ts', n.hostA, n.hostB, '--duration', '60', '--json'], { cwd: repoRoot });
    let out = '';
    let err = '';
    bridge.stdout.on('data', (d: Buffer) => (out += d.toString()));
    bridge.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => bridge.on('close', resolve));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('time  port') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(out, err).toContain(`bridging ${n.hostA} <-> ${n.hostB}`);

      // The first exchange also resolves ARP through the bridge (flooded, then learned).
      const ready = Date.now() + 10_000;
      while (ping(n, 1) === 0 && Date.now() < ready);
      expect(ping(n, 3)).toBe(3);
      const bps = await iperf(n, 3);
      expect(bps).toBeGreaterThan(10e6);
    } finally {
      bridge.kill('SIGINT');
    }
    // Stopped by SIGINT after a clean stop: 130, as a shell reports a command Ctrl-C ended.
    expect(await exited).toBe(130);
    // The bridge set both promiscuous; its stop put back what was there.
    expect([promiscuous(n.hostA), promiscuous(n.hostB)]).toEqual([false, true]);
    const summary = JSON.parse(lastLine(out)) as { pipelines: { name: string; inPackets: number; outPackets: number }[]; ports: { name: string; rxPackets: number }[] };
    expect(summary.pipelines[0]!.inPackets).toBeGreaterThan(1000);
    expect(summary.ports.every((p) => p.rxPackets > 0)).toBe(true);
  });
});
