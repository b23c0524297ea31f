/**
 * DPDK's dpdk-dumpcap against a running engine (a secondary process: the engine needs
 * `eal.secondaryProcesses` on hugepages), for the capture benches.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const haveDumpcap = () => spawnSync('dpdk-dumpcap', ['--version'], { stdio: 'ignore' }).status === 0;

export interface DumpcapRun {
  /** Seconds from its first count (after its own EAL start) until it exited. */
  seconds: number;
  /** `counter()` at its first count and when it exited. */
  counted: [number, number];
  /** Its final "Packets received/dropped on interface" line: what pdump offered it, what it dropped. */
  received: number;
  dropped: number;
}

/**
 * `dpdk-dumpcap --file-prefix PREFIX -i IFACE -s 64 -w FILE -a duration:S`, its file in a scratch
 * directory removed after. It counts captured packets on stderr (its stdout is buffered until it
 * exits): `counter` is read at its first count and at its exit, so the caller can rate the engine
 * over the interval dumpcap really captured.
 */
export async function runDumpcap(prefix: string, iface: string, durationS: number, counter: () => number): Promise<DumpcapRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'fastpath-bench-dumpcap-'));
  try {
    const child = spawn('dpdk-dumpcap', ['--file-prefix', prefix, '-i', iface, '-s', '64', '-w', join(scratch, 'dumpcap.pcapng'), '-a', `duration:${durationS}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Its progress counter rewrites one line with backspaces (megabytes a run): keep the tail.
    let tail = '';
    let start: { count: number; at: number } | undefined;
    const watch = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4096);
      if (!start && d.includes('Packets captured')) start = { count: counter(), at: performance.now() };
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const end = { count: counter(), at: performance.now() };
    const totals = /received\/dropped on interface '[^']*': (\d+)\/(\d+)/.exec(tail);
    if (code !== 0 || !totals || !start) throw new Error(`dpdk-dumpcap failed (exit ${code}); its last output:\n${tail.replace(/[\b]/g, '')}`);
    return { seconds: (end.at - start.at) / 1000, counted: [start.count, end.count], received: Number(totals[1]), dropped: Number(totals[2]) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
