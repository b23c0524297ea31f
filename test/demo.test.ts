/**
 * The demo as a newcomer runs it (examples/l2fwd.ts in a child process): the JSON summary,
 * the IOVA mode, no PCI probe in the EAL log, and one-line errors for bad input.
 */
import { describe, expect, it } from 'vitest';

import { lastLine, runDemo } from './helpers.js';

interface Summary {
  iovaMode: 'PA' | 'VA';
  lcores: { id: number; role: string }[];
  ports: { name: string; rxPackets: number; txPackets: number; txDropped: number; unrouted: number; rxMissed: number; rxNombuf: number }[];
  mempool: { drySamples: number };
  durationS: number;
}

describe('examples/l2fwd.ts', () => {
  it('forwards on net_null0/net_null1 and ends with a JSON summary (--no-huge → VA)', () => {
    const run = runDemo(['--duration', '2', '--json', '--no-huge']);
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(lastLine(run.stdout)) as Summary;
    expect(summary.iovaMode).toBe('VA');
    expect(summary.ports.map((p) => p.name)).toEqual(['net_null0', 'net_null1']);
    for (const port of summary.ports) {
      expect(port.rxPackets).toBeGreaterThan(0);
      expect(port.txPackets).toBeGreaterThan(0);
    }
    expect(summary.lcores.map((l) => l.role)).toEqual(['main', 'worker']);
    expect(summary.durationS).toBeGreaterThan(1.5);
    expect(run.stdout).toMatch(/IOVA mode: VA/);
    expect(run.stdout).toMatch(/worker lcore 1 \(cpu 1\): rx net_null0:0, rx net_null1:0/);
    expect(run.stdout).toMatch(/mempool: fastpath_pktmbuf, 8191 mbufs/);
    // Without hugepages EAL maps 4 KiB pages, all one IOVA-contiguous run (IOVA as VA).
    expect(run.stdout).toMatch(/^memory: \d+\.\d MiB in \d+ page\(s\) of 4 KiB, 1 IOVA-contiguous run\(s\)/m);
    expect(summary.mempool.drySamples).toBe(0);
    expect(run.stdout).toMatch(/net_null0 +\d+\.\d\d +\d+\.\d\d/);
    expect(run.stderr).toContain("EAL: Selected IOVA mode 'VA'");
    expect(run.stderr).not.toMatch(/PCI|pci_/);
    expect(run.stdout).not.toContain('no port received a packet');
  });

  it('on two ring ports, which return only what was sent into them, says why nothing moved', () => {
    const run = runDemo(['--duration', '1', '--vdev', 'net_ring0', '--vdev', 'net_ring1', '--no-huge']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ {2}net_ring0: rx 0 /m);
    expect(run.stdout).toContain('  no port received a packet: a ring port (net_ring) returns only what is sent into it: feed it from a generator pipeline');
  });

  it('says in one line what is wrong with an unknown vdev, and exits non-zero', () => {
    const run = runDemo(['--duration', '1', '--vdev', 'net_bogus0', '--vdev', 'net_null1', '--no-huge']);
    expect(run.status).toBe(1);
    const line = lastLine(run.stderr);
    expect(line).toMatch(/^l2fwd: DPDK could not start .*net_bogus0.*check each --vdev spec.*\[ERR_EAL_INIT\]$/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses zero worker lcores before EAL starts', () => {
    const run = runDemo(['--duration', '1', '--lcores', '0']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('l2fwd: lcores.workers: no worker lcores: the poll loops need at least one, e.g. workers: [1] [ERR_CONFIG]');
  });

  it('refuses a bad flag in one line', () => {
    const run = runDemo(['--duration', 'soon']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('l2fwd: --duration must be a positive number of seconds, got "soon"');
  });
});
