/**
 * What every example shares: run `body` under a signal watch, print bad input as one line,
 * exit non-zero on failure, and 128 + the signal's number after a stop by signal (130 for
 * Ctrl-C), 0 after a run that ended on its own.
 */
import { FastpathError, isLoadingConfig, watchSignals, type SignalWatch } from '@fastpath/control';

export function fail(name: string, message: string): never {
  console.error(`${name}: ${message}`);
  process.exit(1);
}

/**
 * Runs `body` with the program's signal watch: opened before `body` starts anything and kept
 * until the process exits, so any number of SIGINT/SIGTERM/SIGHUP, at any moment, only set
 * the flag `body` stops by (start the engine with `startUnlessStopped`, run it with
 * `runLive(engine, { signals })`).
 */
export function runExample(name: string, body: (signals: SignalWatch) => Promise<void>): void {
  // Imported as a config (`fastpath validate examples/x.ts`): a program's main never runs.
  if (isLoadingConfig()) return;
  const signals = watchSignals();
  body(signals).then(
    () => {
      process.exitCode = signals.exitCode;
    },
    (error: unknown) => {
      if (error instanceof FastpathError) fail(name, `${error.message} [${error.code}]`);
      if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) fail(name, error.message);
      throw error;
    },
  );
}
