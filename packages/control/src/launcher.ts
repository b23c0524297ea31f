/**
 * The processes that launched this one, watched so that an engine does not outlive them.
 *
 * A user's command is rarely the engine's process: `npx fastpath run` runs npm → sh → node,
 * `npx tsx x.ts` npm → sh → tsx → node, `npm run demo` npm → node. A signal to that command
 * alone (a supervisor's SIGTERM, `timeout --foreground`, `kill PID`) or its death (kill -9)
 * does not reach the engine: npm passes SIGTERM to sh, which dies of it; npm and tsx die of
 * SIGHUP without passing it on; and the engine, re-parented, would spin its worker lcore until
 * --duration ends.
 *
 * The launchers are this process's ancestors in its own process group: a shell with job
 * control, systemd, a container runtime and `setsid` all start a command as the leader of a
 * new group, so the walk up stops at the user's shell or supervisor, which are not watched. Each
 * is recorded with its start time (a pid can be reused) and polled cheaply; the first that
 * ends is reported once. Started in a group of its own (`setsid`), a program has no launcher
 * to watch and outlives whatever started it, as a daemon should.
 */
import { readFileSync } from 'node:fs';

/** A process that launched this one. */
export interface Launcher {
  pid: number;
  /** Its command line as started (up to 80 characters), to name it in a message. */
  command: string;
}

interface Recorded extends Launcher {
  /** Clock ticks from boot to its start (/proc/<pid>/stat field 22): another process reusing the pid differs. */
  start: string;
}

interface Stat {
  state: string;
  ppid: number;
  pgrp: number;
  start: string;
}

/** /proc/<pid>/stat's fields we use; undefined when the process is gone. */
function readStat(pid: number | 'self'): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]), start: fields[19]! };
}

function commandOf(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return command.length > 80 ? `${command.slice(0, 77)}...` : command;
  } catch {
    return '?';
  }
}

/** The process's stat while it runs; undefined once it has ended (gone, or a zombie not yet reaped). */
function running(pid: number): Stat | undefined {
  const stat = readStat(pid);
  return stat === undefined || stat.state === 'Z' || stat.state === 'X' ? undefined : stat;
}

/**
 * Watches this process's launchers every `intervalMs` (an unref'd timer: it never keeps the
 * process alive) and calls `onEnded` once, with the first that has ended (or another process
 * under its pid). Returns the function that stops watching.
 */
export function watchLaunchers(onEnded: (launcher: Launcher) => void, intervalMs = 250): () => void {
  const self = readStat('self');
  if (self === undefined) return () => undefined;
  const launchers: Recorded[] = [];
  let ppid = self.ppid;
  for (let stat = readStat(ppid); stat !== undefined && ppid > 1 && stat.pgrp === self.pgrp; stat = readStat(ppid)) {
    launchers.push({ pid: ppid, command: commandOf(ppid), start: stat.start });
    ppid = stat.ppid;
  }
  // A launcher can end while this program still loads (npm's sh dies of SIGTERM and init
  // adopts this process before it could look): its parent is then init already, though it was
  // started inside a group. Only then: further up, a gone ancestor says nothing of the
  // launchers that still run (a script started from a shell that has since exited). Init in
  // this process's own group is no adopter but the launcher itself, as PID 1 of a container
  // (`CMD ["npx", "fastpath", "run", ...]`): it ends only with the whole namespace.
  const adopted = self.ppid === 1 && readStat(1)?.pgrp !== self.pgrp;
  if (launchers.length === 0 && adopted && self.pgrp !== process.pid) {
    onEnded({ pid: self.pgrp, command: 'the process that started it, gone before the watch began' });
    return () => undefined;
  }
  if (launchers.length === 0) return () => undefined;
  const timer = setInterval(() => {
    const gone = launchers.find((l) => running(l.pid)?.start !== l.start);
    if (gone === undefined) return;
    clearInterval(timer);
    onEnded({ pid: gone.pid, command: gone.command });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
