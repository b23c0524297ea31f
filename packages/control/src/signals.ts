/**
 * How a program is stopped by a signal: the one way `fastpath run`, `fastpath top`, the
 * examples and `runLive` do it.
 *
 * ```ts
 * const signals = watchSignals();                        // before Engine.start
 * const engine = await startUnlessStopped(config, signals);
 * if (engine) await runLive(engine, { durationS: 60, signals });
 * process.exitCode = signals.exitCode;                    // 130 after Ctrl-C, 0 if it ran its course
 * ```
 *
 * SIGINT, SIGTERM and SIGHUP only set a flag (DESIGN: shut down by flag, not in a signal
 * handler); the program sees it, stops the engine (drain, ports, EAL, stats segment) and
 * ends. The handlers stay installed (`on`, never `once`) until the watch is closed, which a
 * program does never (they last until the process exits) and `runLive` does after the engine
 * has stopped. So any number of signals, at any moment, meet this handler and not Node's
 * default action, which ends the process on the spot and leaves the stats segment and EAL's
 * runtime directory behind. That matters more than it seems: one Ctrl-C under tsx is often
 * two SIGINTs (the terminal signals the whole process group, and tsx sends its child another
 * one when the child has not acknowledged the first within 30 ms), and a user who finds the
 * stop slow presses Ctrl-C again.
 *
 * A second signal changes nothing: the stop already under way (at most 100 ms of drain, then
 * ports and EAL) is never cut short. `kill -9` is the only way to skip it, and leaves the
 * segment and EAL's directory for the next engine of that name to clear.
 *
 * Exit codes: 128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP) after a
 * stop by signal, as a shell reports a command a signal ended, so scripts and supervisors can
 * tell an interrupted run from a complete one; 0 when the program ran its course. The watch
 * only says which: exiting is the program's business (library code never exits the process).
 *
 * `watchSignals({ launcher: true })` also stops when a process that launched this one ends
 * (npm, npx, tsx, a script: see launcher.ts), which a signal to that launcher alone does
 * without reaching this process. That counts as a SIGHUP, a hang-up by what controlled the
 * program (exit code 129), and `launcher` says which process it was. Programs a user starts
 * opt in (`fastpath run`, `fastpath top`, the examples); a service embedding the library
 * decides for itself, so the library never watches on its own.
 */
import { constants } from 'node:os';

import type { EngineConfig } from '@fastpath/types';

import { Engine } from './engine.js';
import { type Launcher, watchLaunchers } from './launcher.js';

/** The signals that stop a program. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface WatchOptions {
  /** Also stop (as on SIGHUP) when a process that launched this one ends. Default false. */
  launcher?: boolean;
}

/** The stop flag, set by SIGINT/SIGTERM/SIGHUP while the watch is open. Make one with {@link watchSignals}. */
export class SignalWatch implements Disposable {
  #signal: StopSignal | undefined;
  #launcher: Launcher | undefined;
  #count = 0;
  #open = true;
  #unwatchLaunchers: () => void = () => undefined;
  /** Sleepers to wake at the first signal (a set, so a long run's sleeps leave nothing behind). */
  readonly #wake = new Set<() => void>();
  readonly #stopped: Promise<StopSignal>;
  #resolve!: (signal: StopSignal) => void;
  readonly #handler = (signal: NodeJS.Signals) => this.#onSignal(signal as StopSignal);

  /** @internal Use {@link watchSignals}. */
  constructor(options: WatchOptions = {}) {
    this.#stopped = new Promise((resolve) => (this.#resolve = resolve));
    for (const signal of STOP_SIGNALS) process.on(signal, this.#handler);
    if (options.launcher) this.#unwatchLaunchers = watchLaunchers((launcher) => this.#onLauncherEnded(launcher));
  }

  #onSignal(signal: StopSignal): void {
    this.#count += 1;
    this.#request(signal);
  }

  #onLauncherEnded(launcher: Launcher): void {
    if (this.#signal !== undefined) return;
    this.#launcher = launcher;
    this.#request('SIGHUP');
  }

  #request(signal: StopSignal): void {
    if (this.#signal !== undefined) return;
    this.#unwatchLaunchers();
    this.#signal = signal;
    this.#resolve(signal);
    for (const wake of this.#wake) wake();
    this.#wake.clear();
  }

  /** Whether a stop has been asked for. */
  get requested(): boolean {
    return this.#signal !== undefined;
  }

  /** The first signal, if any came (SIGHUP also when a launcher ended: see {@link launcher}). */
  get signal(): StopSignal | undefined {
    return this.#signal;
  }

  /** The launcher whose end asked for the stop, if that is what did. */
  get launcher(): Launcher | undefined {
    return this.#launcher;
  }

  /** How many signals came (repeats included; a launcher's end is none). */
  get count(): number {
    return this.#count;
  }

  /** 128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), or 0 when none came. */
  get exitCode(): number {
    return this.#signal === undefined ? 0 : 128 + constants.signals[this.#signal];
  }

  /** Resolves with the first signal (never, if none comes). */
  get stopped(): Promise<StopSignal> {
    return this.#stopped;
  }

  /** Waits `ms`, or less if a signal comes first; resolves to whether a stop was asked for. */
  sleep(ms: number): Promise<boolean> {
    if (this.requested) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#wake.delete(wake);
        resolve(false);
      }, ms);
      this.#wake.add(wake);
    });
  }

  /** Removes the handlers (later signals meet Node's default action again) and stops watching launchers. Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const signal of STOP_SIGNALS) process.off(signal, this.#handler);
    this.#unwatchLaunchers();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Installs the SIGINT/SIGTERM/SIGHUP handlers, persistent until `close()`, and with
 * `{ launcher: true }` watches the processes that launched this one. A program opens one
 * before anything it must clean up exists (before Engine.start) and keeps it until it exits.
 */
export function watchSignals(options: WatchOptions = {}): SignalWatch {
  return new SignalWatch(options);
}

/**
 * `Engine.start(config)` under `signals`: nothing starts when a stop has already been asked
 * for, and an engine whose start a signal interrupted (EAL cannot be cut short mid-init) is
 * stopped as soon as it is up. Resolves to the engine, or to undefined when it was not to run.
 */
export async function startUnlessStopped(config: EngineConfig, signals: SignalWatch): Promise<Engine | undefined> {
  if (signals.requested) return undefined;
  const engine = await Engine.start(config);
  if (!signals.requested) return engine;
  await engine.stop();
  return undefined;
}
