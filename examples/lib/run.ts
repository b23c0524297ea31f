/**
 * What every example shares: its command line, declared once (`--help` prints it, a flag it
 * does not take is refused with its usage), `body` run under a signal watch, bad input printed
 * as one line, a non-zero exit on failure, and 128 + the signal's number after a stop by signal
 * (130 for Ctrl-C; 129 also when the npm, npx or tsx that launched it ended), 0 after a run
 * that ended on its own.
 */
import {
  FastpathError,
  helpOf,
  isLoadingConfig,
  parseCommandLine,
  UsageError,
  watchSignals,
  type CommandLine,
  type Flags,
  type Options,
  type SignalWatch,
} from '@fastpath/control';

/** An example's command line (the usage as typed: `npx tsx examples/<name>.ts ...`). */
export interface Example<O extends Options> extends CommandLine<O> {
  /** Starts each line it prints about bad input: `l2fwd: ...`. */
  name: string;
}

/** Gives `runExample`'s body its flags' types from `options` (no runtime effect). */
export function defineExample<const O extends Options>(example: Example<O>): Example<O> {
  return example;
}

export function fail(name: string, message: string): never {
  console.error(`${name}: ${message}`);
  process.exit(1);
}

/**
 * Runs `body` with this process's flags and positionals, and the program's signal watch: opened
 * before `body` starts anything and kept until the process exits, so any number of
 * SIGINT/SIGTERM/SIGHUP, at any moment, only set the flag `body` stops by (start the engine
 * with `startUnlessStopped`, run it with `runLive(engine, { signals })`), and so does the end of
 * a launcher (`npm run demo`, `npx tsx`: a signal to it alone never reaches this process). A
 * flag's value that `body` refuses (positiveNumber, positiveInteger) is printed as one line.
 */
export function runExample<const O extends Options>(
  example: Example<O>,
  body: (signals: SignalWatch, args: { values: Flags<O>; positionals: string[] }) => Promise<void>,
): void {
  // Imported as a config (`fastpath validate examples/x.ts`): a program's main never runs.
  if (isLoadingConfig()) return;
  const args = commandLine(example);
  if (args === undefined) return;
  const signals = watchSignals({ launcher: true });
  body(signals, args).then(
    () => {
      if (signals.launcher) console.error(`${example.name}: stopped because its launcher ended: ${signals.launcher.command} (pid ${signals.launcher.pid})`);
      process.exitCode = signals.exitCode;
    },
    (error: unknown) => {
      if (error instanceof FastpathError) fail(example.name, `${error.message} [${error.code}]`);
      if (error instanceof UsageError) fail(example.name, error.message);
      throw error;
    },
  );
}

/** The flags and positionals given; undefined after printing the help for --help. */
function commandLine<O extends Options>(example: Example<O>): { values: Flags<O>; positionals: string[] } | undefined {
  try {
    const parsed = parseCommandLine(example, process.argv.slice(2));
    if (!parsed.help) return parsed;
    console.log(helpOf(example));
    return undefined;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // An empty message: the usage alone says what is missing.
    if (error.message !== '') console.error(`${example.name}: ${error.message}`);
    return fail(example.name, `usage: ${example.usage}`);
  }
}
