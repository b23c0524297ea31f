/**
 * Engines do not outlive their launchers (issue 13, item 1).
 *
 * Each README launcher runs in a process group of its own, started as a user's shell starts a
 * command. Once its engine forwards, one signal goes to the launcher's pid alone (what a
 * supervisor, `timeout --foreground` or `kill PID` does; Ctrl-C would signal the whole group),
 * or kill -9. Within 5 s every process of the group has ended, the engine after a clean stop
 * (its summary printed), nothing of it is left (stats segment, hugepage files, EAL's runtime
 * directory) and the free hugepages are what they were.
 *   npm run demo      npm → node (the demo script execs node): npm passes SIGINT and SIGTERM on;
 *                     it dies of SIGHUP and kill -9, and the engine sees its launcher gone
 *   npx fastpath run  npm → sh → node: npm passes SIGTERM to sh, which dies of it
 *   npx tsx           npm → sh → tsx → node: the same
 *   node --import tsx the engine's own process: the signal reaches it
 * The shell status is 128 + the signal's number, as npm or the program reports it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { freeHugepages, groupMembers, lastLine, leftovers, repoRoot, segmentDirs, waitFor } from './helpers.js';

/** How the engine's stop came: its own signal, or its watch seeing a launcher gone. */
type Stop = 'signal' | 'launcher';

const demo = ['examples/l2fwd.ts', '--duration', '60'];
/** A launcher (command, arguments), the signal its pid alone gets, and how the engine's stop should come. */
type Try = [string, string[], NodeJS.Signals, Stop];

const tries: Try[] = [
  ['npm', ['run', 'demo', '--', '--duration', '60'], 'SIGTERM', 'signal'],
  ['npm', ['run', 'demo', '--', '--duration', '60'], 'SIGINT', 'signal'],
  ['npm', ['run', 'demo', '--', '--duration', '60'], 'SIGHUP', 'launcher'],
  ['npm', ['run', 'demo', '--', '--duration', '60'], 'SIGKILL', 'launcher'],
  ['npx', ['fastpath', 'run', 'examples/configs/generator.config.ts'], 'SIGTERM', 'launcher'],
  ['npx', ['fastpath', 'run', 'examples/configs/generator.config.ts'], 'SIGKILL', 'launcher'],
  ['npx', ['tsx', ...demo], 'SIGTERM', 'launcher'],
  ['npx', ['tsx', ...demo], 'SIGHUP', 'launcher'],
  [process.execPath, ['--import', 'tsx', ...demo], 'SIGTERM', 'signal'],
];

/** The group's processes still running (a zombie has ended, only not been reaped yet). */
function running(pgid: number): number[] {
  return groupMembers(pgid)
    .map((m) => m.pid)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat[stat.lastIndexOf(')') + 2] !== 'Z';
      } catch {
        return false;
      }
    });
}

/** The process of the group running an engine: the one whose stats segment (default name fastpath-<pid>) exists. */
function engineOf(pgid: number): number | undefined {
  return groupMembers(pgid).find((m) => segmentDirs().some((d) => existsSync(join(d, `fastpath-stats.fastpath-${m.pid}`))))?.pid;
}

/** Starts the launcher, waits until its engine forwards, sends `signal` to the launcher alone, checks the group's end. */
async function tryLauncher(file: string, args: string[], signal: NodeJS.Signals, stop: Stop): Promise<void> {
  const before = freeHugepages();
  const launcher = spawn(file, args, { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = launcher.pid!;
  let out = '';
  launcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
  launcher.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => launcher.on('exit', (code, sig) => resolve(code ?? 128 + constants.signals[sig!])));
  let engine: number | undefined;
  try {
    const up = await waitFor(() => out.includes('rx Mpps') && (engine = engineOf(pgid)) !== undefined, 30_000);
    expect(up, `no engine forwarding within 30 s:\n${out}`).toBe(true);
    const sentAt = Date.now();
    process.kill(pgid, signal);
    const ended = await waitFor(() => running(pgid).length === 0, 5000);
    const context = `${signal} to ${file} ${args.join(' ')}, ${Date.now() - sentAt} ms ago\n${out.slice(-3000)}`;
    expect(ended, `still running: ${running(pgid).join(', ')}\n${context}`).toBe(true);
    expect(await exited, context).toBe(128 + constants.signals[signal]);
    // A clean stop: the engine drained, released everything and printed its summary.
    expect(out, context).toMatch(/summary over/);
    expect(/stopped because its launcher ended/.test(out), context).toBe(stop === 'launcher');
    expect(leftovers(`fastpath-${engine}`), context).toEqual([]);
    expect(freeHugepages()).toEqual(before);
  } finally {
    // A failed try: stop what still runs cleanly (the whole group, as Ctrl-C would), then for good.
    if (running(pgid).length > 0) process.kill(-pgid, 'SIGINT');
    if (!(await waitFor(() => running(pgid).length === 0, 5000))) process.kill(-pgid, 'SIGKILL');
  }
}

const title = 'reliability: %s, %s to the launcher alone: the engine stops cleanly within 5 s, nothing left';
const named = (list: Try[]) => list.map(([file, args, signal, stop]) => [`${file === process.execPath ? 'node' : file} ${args.join(' ')}`, signal, file, args, stop] as const);

describe('npm run demo', () => {
  // It sets up first: a native build it needs happens here, not inside a try.
  beforeAll(() => {
    const setup = spawnSync('bash', ['scripts/setup.sh'], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
    expect(setup.status, setup.stderr).toBe(0);
  }, 600_000);
  it.each(named(tries.filter(([file]) => file === 'npm')))(title, (_, signal, file, args, stop) => tryLauncher(file, args, signal, stop));
});

describe('npx and node', () => {
  it.each(named(tries.filter(([file]) => file !== 'npm')))(title, (_, signal, file, args, stop) => tryLauncher(file, args, signal, stop));
});

it('reliability: a group whose leader has exited but whose launcher runs on is not taken for a launcher gone', async () => {
  // What a script started from a shell that has since exited looks like (a CI step, a
  // backgrounded job): the group's leader (the outer sh) exits at once, the inner sh goes on
  // running the engine and is adopted by init. The engine runs its course.
  const out = join(repoRoot, 'node_modules/.cache', `launcher-leader-${process.pid}.log`);
  const inner = `${JSON.stringify(process.execPath)} --import tsx examples/l2fwd.ts --duration 1 --json > ${JSON.stringify(out)} 2>&1`;
  const outer = spawn('sh', ['-c', `sh -c '${inner.replaceAll("'", "'\\''")}' & exit 0`], { cwd: repoRoot, detached: true, stdio: 'ignore' });
  await new Promise((resolve) => outer.on('close', resolve));
  expect(await waitFor(() => existsSync(out) && /"durationS"/.test(readFileSync(out, 'utf8')), 30_000), existsSync(out) ? readFileSync(out, 'utf8') : 'no output').toBe(true);
  expect(readFileSync(out, 'utf8')).not.toContain('launcher ended');
  rmSync(out);
});

it('reliability: a launcher that is PID 1 of its namespace (a container\'s CMD) is watched as a launcher, not taken for one gone', async (ctx) => {
  // `CMD ["npx", "tsx", "examples/l2fwd.ts"]` in a container: the launcher is init there, and
  // the engine's parent is pid 1 from the start. It runs its course, and SIGTERM to that init
  // (what `docker stop` sends) stops it cleanly.
  if (process.getuid?.() !== 0) {
    console.warn('skipped: a new PID namespace (unshare --pid) needs root (CI runs as root)');
    ctx.skip();
  }
  const run = (duration: string) =>
    spawn('unshare', ['--pid', '--fork', '--mount-proc', '--', 'node_modules/.bin/tsx', 'examples/l2fwd.ts', '--no-huge', '--duration', duration, '--json'], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (child: ReturnType<typeof run>) => {
    const seen = { out: '' };
    child.stdout!.on('data', (d: Buffer) => (seen.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (seen.out += d.toString()));
    return { seen, exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
  };
  const whole = collect(run('2'));
  expect(await whole.exited, whole.seen.out).toBe(0);
  expect(whole.seen.out).not.toContain('launcher ended');
  expect(JSON.parse(lastLine(whole.seen.out)).durationS).toBeGreaterThanOrEqual(2);

  const stopped = run('60');
  const { seen, exited } = collect(stopped);
  expect(await waitFor(() => seen.out.includes('rx Mpps'), 30_000), seen.out).toBe(true);
  // The namespace's init: unshare's one child (tsx, PID 1 inside).
  const init = groupMembers(stopped.pid!).find((m) => m.ppid === stopped.pid);
  expect(init, seen.out).toBeDefined();
  process.kill(init!.pid, 'SIGTERM');
  expect(await waitFor(() => groupMembers(stopped.pid!).length === 0, 5000), seen.out).toBe(true);
  await exited;
  expect(seen.out).toMatch(/summary over/);
  expect(seen.out).not.toContain('launcher ended');
}, 60_000);
