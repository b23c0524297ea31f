/**
 * Reliability, what dead engines leave: an engine killed with -9 leaves its stats segment (a
 * hugepage) and EAL's runtime directory; default names (`fastpath-<pid>`) never repeat. Every
 * engine start and `fastpath clean` remove what dead engines of any name left, judged dead by
 * the lock an engine holds on its segment for its life, and say what they freed; `fastpath ls`
 * marks them dead. A live engine's files, another DPDK program's prefix and a directory not
 * known to be Fastpath's are never touched; another user's segment that cannot be read is
 * refused naming its owner.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { StatsReader, type EngineConfig } from '@fastpath/control';

import { ealRuntimeDirs, freeHugepages, leftovers, repoRoot, runCli, scratchDir, segmentDirs } from './helpers.js';

const dir = scratchDir('reclaim');
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = join(repoRoot, 'packages/control/bin/fastpath.js');
const hugetlbfs = segmentDirs().filter((d) => d !== '/dev/shm');
const root = process.getuid?.() === 0;

/** A two-null-port config; without `prefix`, the engine's default name (`fastpath-<pid>`). */
function config(tag: string, prefix?: string, extra: Partial<EngineConfig> = {}): string {
  const file = join(dir, `${tag}.json`);
  const base: EngineConfig = {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1], shareCpus: true },
    eal: { ...(prefix === undefined ? {} : { filePrefix: prefix }), logToStderr: false },
    pipelines: [{ input: 'a', output: 'b' }],
  };
  writeFileSync(file, JSON.stringify({ ...base, ...extra }));
  chmodSync(file, 0o644);
  return file;
}

/** Starts `fastpath run CONFIG` for a minute; resolves once it forwards (its live table shows). */
function startEngine(file: string, name?: (pid: number) => string): Promise<{ child: ChildProcess; name: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'run', file, '--duration', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no live table within 30 s:\n${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('rx Mpps')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ child, name: name ? name(child.pid!) : `fastpath-${child.pid}` });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  });
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Runs dpdk-testpmd (interactive, prefix `prefix`), calls `meanwhile` once it prompts, then
 * quits it; false when dpdk-testpmd is not installed.
 */
async function runTestpmd(prefix: string, meanwhile: () => Promise<void>): Promise<boolean> {
  if (spawnSync('sh', ['-c', 'command -v dpdk-testpmd']).status !== 0) return false;
  const child = spawn('dpdk-testpmd', ['-l', '0,1', '--file-prefix', prefix, '--no-pci', '--vdev', 'net_null0', '-m', '32', '--', '-i', '--total-num-mbufs=2048'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = new Promise((resolve) => child.on('close', resolve));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('testpmd> ')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`testpmd did not prompt:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await meanwhile();
  } finally {
    child.stdin.end('quit\n');
    await closed;
  }
  return true;
}

const listed = (name: string) => StatsReader.list().find((e) => e.name === name);

describe('reclaiming what dead engines left', () => {
  it('reliability: five kill -9\'d default-named engines, then one start, leave zero stale files and the free hugepage count back where it was', async () => {
    // What earlier dead engines left would be reclaimed too, and count as freed.
    runCli(['clean']);
    const before = freeHugepages();
    const file = config('default', undefined, { memory: { hugepages: hugetlbfs.length > 0 } });
    const engines = await Promise.all(Array.from({ length: 5 }, () => startEngine(file)));
    for (const e of engines) await kill9(e.child);
    for (const e of engines) {
      expect(listed(e.name)?.alive, e.name).toBe(false);
      expect(leftovers(e.name).length, e.name).toBeGreaterThan(0);
    }
    if (hugetlbfs.length > 0) {
      // Each dead engine's segment keeps a hugepage.
      const held = Object.keys(before).reduce((n, size) => n + before[size]! - freeHugepages()[size]!, 0);
      expect(held).toBe(5);
    }

    const next = runCli(['run', file, '--duration', '0.5']);
    expect(next.status, next.stderr).toBe(0);
    for (const e of engines) {
      const pid = e.child.pid!;
      // EAL's runtime directory: /var/run/dpdk as root, else under $XDG_RUNTIME_DIR or /tmp.
      const runtime = ealRuntimeDirs(e.name).map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
      expect(next.stdout).toMatch(new RegExp(`note: reclaimed what dead engine "${e.name}" \\(pid ${pid}\\) left: .*fastpath-stats\\.${e.name}, (?:${runtime}) \\(\\d+ files, [\\d.]+ MiB, ${hugetlbfs.length > 0 ? 1 : 0} hugepages?\\)`));
      expect(leftovers(e.name), e.name).toEqual([]);
    }
    expect(freeHugepages()).toEqual(before);
  });

  it('reliability: fastpath ls marks dead engines; clean --dry-run says what clean frees; a live engine, another DPDK program and an unknown directory are left alone', async () => {
    const live = await startEngine(config('live', `fp-live-${process.pid}`), () => `fp-live-${process.pid}`);
    const deadName = `fp-dead-${process.pid}`;
    const other = `other-${process.pid}`;
    const unknown = ealRuntimeDirs(`fastpath-${2 ** 22 + (process.pid % 1000)}`)[0]!;
    try {
      // Another DPDK program: testpmd, whose prefix is not Fastpath's. While it runs, an engine
      // given its prefix is refused before EAL (the marker it would leave there removed); it
      // quits leaving its files.
      const otherFiles = () => [...ealRuntimeDirs(other).filter(existsSync), ...hugetlbfs.flatMap((m) => readdirSync(m).filter((f) => f.startsWith(`${other}map_`)))];
      const testpmd = await runTestpmd(other, async () => {
        const taken = runCli(['run', config('taken', other), '--duration', '1']);
        expect(taken.status).toBe(1);
        expect(taken.stderr).toMatch(/eal\.filePrefix: \S+ is in use by a live DPDK process that is not a Fastpath engine.*\[ERR_CONFIG\]/);
        expect(readdirSync(ealRuntimeDirs(other)[0]!)).not.toContain('fastpath.lock');
      });
      if (testpmd) expect(otherFiles().length).toBeGreaterThan(0);
      else console.warn('reliability-reclaim: the other-DPDK-program checks skipped: dpdk-testpmd is not installed (apt-get install dpdk; CI has it)');
      // After that refused start, which reclaimed what it found: the engine that dies.
      const dead = await startEngine(config('dead', deadName, { memory: { hugepages: hugetlbfs.length > 0 } }), () => deadName);
      await kill9(dead.child);
      // A hugepage file of the dead engine's prefix, as an EAL that does not unlink them leaves
      // (made after testpmd: EAL removes every unlocked `*map_*` file when it starts).
      const pageFile = hugetlbfs.length > 0 ? join(hugetlbfs[0]!, `${deadName}map_0`) : undefined;
      if (pageFile) expect(spawnSync('fallocate', ['-l', '2M', pageFile]).status).toBe(0);
      // A directory named like a default engine's, not known to be Fastpath's.
      mkdirSync(unknown, { recursive: true });
      writeFileSync(join(unknown, 'config'), 'not an engine');

      const ls = runCli(['ls']);
      expect(ls.stdout).toMatch(new RegExp(`^${deadName} +pid ${dead.child.pid} +dead +\\S+fastpath-stats\\.${deadName}$`, 'm'));
      expect(ls.stdout).toMatch(new RegExp(`^${live.name} +pid ${live.child.pid} +alive `, 'm'));
      expect(ls.stdout).toContain('`fastpath clean` (or the next engine start) removes what it left');

      const left = leftovers(deadName);
      const dry = runCli(['clean', '--dry-run']);
      expect(dry.status, dry.stderr).toBe(0);
      const pages = hugetlbfs.length > 0 ? `, ${hugetlbfs[0]}/${deadName}map_\\*` : '';
      const says = (verb: string) =>
        new RegExp(`^${verb} dead engine "${deadName}" \\(pid ${dead.child.pid}\\): \\S+fastpath-stats\\.${deadName}, /var/run/dpdk/${deadName}${pages} \\(\\d+ files, [\\d.]+ MiB, ${hugetlbfs.length > 0 ? 2 : 0} hugepages?\\)$`, 'm');
      expect(dry.stdout).toMatch(says('would free'));
      expect(dry.stdout).toMatch(/^would free \d+ files, [\d.]+ MiB, \d+ hugepages? of \d+ dead engines? \(dry run: nothing removed\)$/m);
      expect(leftovers(deadName)).toEqual(left);
      if (pageFile) expect(existsSync(pageFile)).toBe(true);
      const json = JSON.parse(runCli(['clean', '--dry-run', '--json']).stdout) as { dryRun: boolean; engines: { name: string; files: number; hugepages: number }[] };
      expect(json.dryRun).toBe(true);
      expect(json.engines.find((e) => e.name === deadName)).toMatchObject({ hugepages: hugetlbfs.length > 0 ? 2 : 0 });

      const clean = runCli(['clean']);
      expect(clean.status, clean.stderr).toBe(0);
      expect(clean.stdout).toMatch(says('freed'));
      expect(clean.stdout).toMatch(/^freed \d+ files, [\d.]+ MiB, \d+ hugepages? of \d+ dead engines?$/m);
      expect(leftovers(deadName)).toEqual([]);
      if (pageFile) expect(existsSync(pageFile)).toBe(false);
      expect(clean.stdout).not.toContain(live.name);
      expect(clean.stdout).not.toContain(other);
      expect(listed(live.name)?.alive).toBe(true);
      expect(ealRuntimeDirs(live.name).some(existsSync)).toBe(true);
      if (testpmd) expect(otherFiles().length).toBeGreaterThan(0);
      expect(existsSync(join(unknown, 'config'))).toBe(true);
      expect(runCli(['clean']).stdout).not.toContain(deadName);
    } finally {
      await kill9(live.child);
      runCli(['clean']);
      rmSync(unknown, { recursive: true, force: true });
      for (const d of ealRuntimeDirs(other)) rmSync(d, { recursive: true, force: true });
      for (const m of hugetlbfs) for (const f of readdirSync(m)) if (f.startsWith(`${other}map_`)) rmSync(join(m, f));
    }
    expect(leftovers(live.name)).toEqual([]);
  });

  it("reliability: another user's segment it may not read is ERR_CONFIG naming its owner, and stays as it was", async (ctx) => {
    if (!root) {
      console.warn('skipped: switching to an unprivileged user needs root (CI runs as root)');
      ctx.skip();
    }
    const name = `fp-owned-${process.pid}`;
    const file = config('owned', name, { memory: { hugepages: false } });
    const owner = await startEngine(file, () => name);
    try {
      const path = listed(name)!.path;
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', process.execPath, join(publicCheckout(), 'packages/control/bin/fastpath.js'), 'run', file, '--duration', '1'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`eal.filePrefix: the stats segment ${path} of an engine named "${name}" is user root's, and this user may not read it`);
      expect(r.stderr).toMatch(/have user root stop that engine \(if it is dead, `fastpath clean` as user root removes its segment\) \[ERR_CONFIG\]/);
      expect(listed(name)?.alive).toBe(true);
    } finally {
      await kill9(owner.child);
      runCli(['clean']);
    }
  });
});

/** The checkout, or a copy any user may read when it sits below a directory only root can enter. */
let copy: string | undefined;
function publicCheckout(): string {
  const everyoneEnters = (path: string): boolean => (statSync(path).mode & 0o005) === 0o005 && (path === dirname(path) || everyoneEnters(dirname(path)));
  if (everyoneEnters(repoRoot)) return repoRoot;
  if (copy) return copy;
  copy = mkdtempSync(join(tmpdir(), 'fastpath-public-'));
  chmodSync(copy, 0o755);
  const skip = new Set([join(repoRoot, 'target'), join(repoRoot, '.git')]);
  cpSync(repoRoot, copy, { recursive: true, verbatimSymlinks: true, filter: (src) => !skip.has(src) });
  return copy;
}
afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});
