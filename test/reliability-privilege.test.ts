/**
 * Reliability, least privilege: the demo runs as an unprivileged user (without hugepages,
 * IOVA as VA); the stats segment is 0640 and readable by the group it is given and no one
 * else; devbind refuses to write the real /sys unless root. And a 30-second soak: forwarding
 * with a live swap every second leaks no mbuf and no memory.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { lastLine, repoRoot } from './helpers.js';

const NOBODY = 65534;
const nogroup = () => Number(spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]);

/**
 * A copy of the checkout (without target/ and .git) that any user may read: the checkout
 * itself may sit below a directory only root can enter (a mktemp dir, /root).
 */
let publicRoot: string | undefined;
function publicCopy(): string {
  if (publicRoot) return publicRoot;
  const dir = mkdtempSync(join(tmpdir(), 'fastpath-public-'));
  chmodSync(dir, 0o755);
  const skip = new Set([join(repoRoot, 'target'), join(repoRoot, '.git')]);
  cpSync(repoRoot, dir, { recursive: true, verbatimSymlinks: true, filter: (src) => !skip.has(src) });
  publicRoot = dir;
  return dir;
}
afterAll(() => {
  if (publicRoot) rmSync(publicRoot, { recursive: true, force: true });
});

/** Runs node with `args` in the public copy as uid `uid` and gid `gid`, no supplementary groups (setpriv). */
function asUser(uid: number, gid: number, args: string[], timeout = 60_000) {
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'env', 'HOME=/tmp', process.execPath, ...args], { cwd: publicCopy(), encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const root = process.getuid?.() === 0;

describe('least privilege', () => {
  it('reliability: the demo runs unprivileged with --no-huge and IOVA as VA', (ctx) => {
    if (!root) {
      console.warn('skipped: switching to an unprivileged user needs root (CI runs as root)');
      ctx.skip();
    }
    const r = asUser(NOBODY, nogroup(), ['--import', 'tsx', 'examples/l2fwd.ts', '--no-huge', '--duration', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('IOVA mode: VA (no hugepages, --no-huge)');
    const summary = JSON.parse(lastLine(r.stdout)) as { ports: { rxPackets: number }[] };
    expect(summary.ports[0]!.rxPackets).toBeGreaterThan(0);
  });

  it('reliability: unprivileged, the default config sees hugepages it may not write and runs without them, saying why', (ctx) => {
    if (!root) {
      console.warn('skipped: switching to an unprivileged user needs root (CI runs as root)');
      ctx.skip();
    }
    // No --no-huge: the engine decides. Root's hugetlbfs mount is not nobody's to write.
    const r = asUser(NOBODY, nogroup(), ['--import', 'tsx', 'examples/l2fwd.ts', '--duration', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('IOVA mode: VA (no hugepages, --no-huge)');
    expect(r.stdout).toMatch(/hugepages not used: .* is not writable by this user: run as root, give this user the mount/);
    expect((JSON.parse(lastLine(r.stdout)) as { ports: { rxPackets: number }[] }).ports[0]!.rxPackets).toBeGreaterThan(0);
    // Required, they are refused with a permission code and what to do, before EAL starts.
    const required = asUser(NOBODY, nogroup(), ['packages/control/bin/fastpath.js', 'mem', 'plan', 'test/fixtures/hugepages-required.config.json']);
    expect(required.status).toBe(1);
    expect(required.stderr).toMatch(/is not writable by this user.*\[ERR_PERMISSION\]/);
  });

  it('reliability: the stats segment is 0640, given to stats.group, readable by its members only', async (ctx) => {
    if (!root) {
      console.warn('skipped: giving the segment to another group and reading it as another user needs root');
      ctx.skip();
    }
    const name = `fp-group-${process.pid}`;
    const engine = await Engine.start({
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { workers: [1] },
      memory: { hugepages: false },
      eal: { filePrefix: name, logToStderr: false },
      pipelines: [{ input: 'a', output: 'b' }],
      stats: { group: 'nogroup' },
    });
    try {
      const st = statSync(engine.info.statsPath);
      expect(st.mode & 0o777).toBe(0o640);
      expect(st.gid).toBe(nogroup());
      const cli = 'packages/control/bin/fastpath.js';
      const member = asUser(NOBODY, nogroup(), [cli, 'stats', name, '--json']);
      expect(member.status, member.stderr).toBe(0);
      expect((JSON.parse(lastLine(member.stdout)) as { name: string }).name).toBe(name);
      const outsider = asUser(NOBODY, 1, [cli, 'stats', name, '--json']);
      expect(outsider.status).toBe(1);
      expect(outsider.stderr).toMatch(/Permission denied.*read it as the engine's user or as a member of the group it was given \(stats\.group\) \[ERR_STATS\]/);
    } finally {
      await engine.stop();
    }
  });

  it('reliability: devbind writes the real /sys only as root and with --yes', (ctx) => {
    if (!root) {
      console.warn('skipped: needs root to run the check as another user');
      ctx.skip();
    }
    const cli = 'packages/control/bin/fastpath.js';
    // An address no device has: even a broken root check could not reach this machine's NIC.
    const r = asUser(NOBODY, nogroup(), [cli, 'devbind', '--bind', 'vfio-pci', '0000:99:00.0', '--yes']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/binding devices needs root.*\[ERR_DEVBIND\]/);
  });
});

it('reliability: a 30-second soak with a swap every second leaks neither mbufs nor memory', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/soak.ts', '--seconds', '30', '--json'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  const soak = JSON.parse(lastLine(r.stdout)) as { ok: boolean; swaps: number; packets: number; mempoolInUseBaseline: number; mempoolInUseEnd: number; rssWarmMiB: number; rssEndMiB: number };
  expect(soak.swaps).toBe(30);
  expect(soak.packets).toBeGreaterThan(1e6);
  // Quiesced, the worker still polls: a burst per rx queue (2 × 32) may be in flight.
  expect(soak.mempoolInUseEnd).toBeLessThanOrEqual(soak.mempoolInUseBaseline + 64);
  expect(soak.rssEndMiB - soak.rssWarmMiB).toBeLessThanOrEqual(16);
  expect(soak.ok).toBe(true);
}, 120_000);
