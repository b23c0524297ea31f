/**
 * What every `fastpath` command is: its usage line, its own flags, how many positionals it
 * takes and a body. `dispatch` picks a command by name and parses only that command's flags
 * (strict), so a flag of another command is a usage error instead of being silently ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { FastpathError } from '@fastpath/types';

/** The flags a command takes, as parseArgs describes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** The flag values of a command with options `O`, typed as strict parseArgs returns them. */
export type Flags<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values'];

export interface Command<O extends Options = Options> {
  /** The word that picks it after `fastpath` (or after its group: `plan` in `fastpath mem plan`). */
  name: string;
  /** Its usage line, as typed: `fastpath ls [--json]`. */
  usage: string;
  /** Its flags, and only its flags; `--help` is added to every command. */
  options: O;
  /**
   * How many positionals it takes. Outside [min, max] is a usage error; `problem` says what is
   * wrong before the usage (without it, the usage alone is printed).
   */
  positionals: { min: number; max: number; problem?: (positionals: readonly string[]) => string };
  /** Runs the command; a number becomes `process.exitCode`. Throws UsageError or FastpathError. */
  run(flags: Flags<O>, positionals: string[]): Promise<number | void>;
}

/** Commands under one word: `fastpath` itself, and `fastpath mem` (map, plan). */
export interface CommandGroup {
  name: string;
  commands: readonly (Command | CommandGroup)[];
  /** Said before the usage when no command of the group is named (the usage alone without it). */
  missing?: string;
}

/** Gives `run` its flags' types from `options` (no runtime effect). */
export function defineCommand<const O extends Options>(command: Command<O>): Command<O> {
  return command;
}

/** A command line that does not make sense: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Prints each line as `fastpath: <line>` on stderr and exits with `code`. */
export function fail(lines: readonly string[], code = 1): never {
  for (const line of lines) console.error(`fastpath: ${line}`);
  process.exit(code);
}

/**
 * Runs `body` on config `file`; a config refused for several problems prints the file, then
 * each problem on a line of its own, and exits 1. Any other error is the dispatcher's to print.
 */
export async function reportConfigProblems<T>(file: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof FastpathError && error.problems.length > 1) {
      fail([`${file}: invalid config [${error.code}]`, ...error.problems.map((p) => `  ${p}`)]);
    }
    throw error;
  }
}

function usageLines(entry: Command | CommandGroup): string[] {
  return 'commands' in entry ? entry.commands.flatMap(usageLines) : [entry.usage];
}

/** `usage: ` and every usage line of `entry`, aligned under the first. */
export function usageOf(entry: Command | CommandGroup): string {
  return `usage: ${usageLines(entry).join('\n       ')}`;
}

/**
 * Runs the command of `group` that `args` names: the first argument that is not a flag. The
 * other arguments, flags before the name included (`fastpath --json ls`), go to the command.
 * The dispatcher knows no command's flags, so a flag's value cannot stand before the name.
 */
export async function dispatch(group: CommandGroup, args: readonly string[]): Promise<void> {
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  const command = at === -1 ? undefined : group.commands.find((c) => c.name === args[at]);
  if (command === undefined) {
    // No command named, or one we do not know: the group's flags are --help alone.
    if (args.includes('--help') || args.includes('-h')) {
      console.log(usageOf(group));
      return;
    }
    fail(group.missing === undefined ? [usageOf(group)] : [group.missing, usageOf(group)], 2);
  }
  const rest = args.toSpliced(at, 1);
  if ('commands' in command) return dispatch(command, rest);
  return execute(command, rest);
}

async function execute(command: Command, args: readonly string[]): Promise<void> {
  const usage = usageOf(command);
  const options: Options = { ...command.options, help: { type: 'boolean', short: 'h' } };
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    fail([(error as Error).message, usage], 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    return;
  }
  const { min, max, problem } = command.positionals;
  if (positionals.length < min || positionals.length > max) fail(problem ? [problem(positionals), usage] : [usage], 2);
  try {
    const code = await command.run(values, positionals);
    if (code !== undefined) process.exitCode = code;
  } catch (error) {
    if (error instanceof UsageError) fail([error.message, usage], 2);
    if (error instanceof FastpathError) fail([`${error.message} [${error.code}]`]);
    throw error;
  }
}
