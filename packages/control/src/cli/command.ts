/**
 * What every `fastpath` command is: its command line (usage, summary, flags with their help,
 * positionals; command-line.ts) and a body. `dispatch` picks a command by name and parses only
 * that command's flags (strict), so a flag of another command is a usage error instead of being
 * silently ignored; `fastpath help [COMMAND...]`, `--help` and `--version` are answered here.
 */
import { FastpathError } from '@fastpath/types';

import { closest, helpOf, parseCommandLine, UsageError, type CommandLine, type Flags, type Options } from '../command-line.js';

export { positiveInteger, positiveNumber, UsageError } from '../command-line.js';

export interface Command<O extends Options = Options> extends CommandLine<O> {
  /** The word that picks it after `fastpath` (or after its group: `plan` in `fastpath mem plan`). */
  name: string;
  /** Runs the command; a number becomes `process.exitCode`. Throws UsageError or FastpathError. */
  run(flags: Flags<O>, positionals: string[]): Promise<number | void>;
}

/** Commands under one word: `fastpath` itself, and `fastpath mem` (map, plan). */
export interface CommandGroup {
  name: string;
  /** What its commands are for, in one line. */
  summary: string;
  /** In the order --help lists them. */
  commands: readonly (Command | CommandGroup)[];
  /** Said before the usage when no command of the group is named (the usage alone without it). */
  missing?: string;
  /** Said by --help after the commands. */
  notes?: readonly string[];
  /** What --version (-V) prints: `fastpath` only. */
  version?: () => string;
}

/** What CONFIG and NAME are, said by the help of each command that takes one. */
export const CONFIG_NOTE = 'CONFIG: a .ts/.js module whose default export is defineConfig({...}), or a .json file.';
export const NAME_NOTE = "NAME: an engine's EAL file prefix, as `fastpath ls` lists it; without it, the only running engine.";

/** Gives `run` its flags' types from `options` (no runtime effect). */
export function defineCommand<const O extends Options>(command: Command<O>): Command<O> {
  return command;
}

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

/** Every command of `entry`, groups opened: what a group's --help lists. */
function commandsOf(entry: Command | CommandGroup): Command[] {
  return 'commands' in entry ? entry.commands.flatMap(commandsOf) : [entry];
}

/** `usage: ` and every usage line of `entry`, aligned under the first. */
export function usageOf(entry: Command | CommandGroup): string {
  return `usage: ${commandsOf(entry)
    .map((c) => c.usage)
    .join('\n       ')}`;
}

/** What `fastpath --help` (`path` is `fastpath`) and `fastpath mem --help` print. */
function groupHelp(group: CommandGroup, path: string): string {
  const commands = commandsOf(group).flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]);
  const version = group.version === undefined ? '' : `; '${path} --version' its version`;
  const more = `'${path} help COMMAND' or '${path} COMMAND --help' prints a command's options${version}.`;
  return [`usage: ${path} COMMAND ...`, '', group.summary, '', 'commands:', ...commands, '', ...(group.notes ?? []), more].join('\n');
}

/** `word` is no command of the group at `path` (`fastpath`, `fastpath mem`): named, with the nearest one. */
function unknownCommand(path: string, word: string, names: readonly string[]): string[] {
  const typed = [...path.split(' ').slice(1), word].join(' ');
  const near = closest(word, names);
  return [`unknown command '${typed}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`, `'${path} --help' lists the commands`];
}

/**
 * Runs the command of `group` that `args` names: the first argument that is not a flag. The
 * other arguments, flags before the name included (`fastpath --json ls`), go to the command.
 * The dispatcher knows no command's flags, so a flag's value cannot stand before the name.
 */
export async function dispatch(group: CommandGroup, args: readonly string[], path = group.name): Promise<void> {
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  if (at === -1) return groupFlags(group, args, path);
  const word = args[at]!;
  const rest = args.toSpliced(at, 1);
  if (word === 'help') return help(group, rest.filter((arg) => !arg.startsWith('-')), path);
  const command = group.commands.find((c) => c.name === word);
  if (command === undefined) fail(unknownCommand(path, word, group.commands.map((c) => c.name)), 2);
  if ('commands' in command) return dispatch(command, rest, `${path} ${word}`);
  return execute(command, rest);
}

/** No command named: a group's flags are --help (-h) and, for `fastpath`, --version (-V). */
function groupFlags(group: CommandGroup, args: readonly string[], path: string): void {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(groupHelp(group, path));
    return;
  }
  if (group.version !== undefined && (args.includes('--version') || args.includes('-V'))) {
    console.log(group.version());
    return;
  }
  const flag = args[0];
  if (flag !== undefined) {
    const near = closest(flag.replace(/^-+/, ''), group.version === undefined ? ['help'] : ['help', 'version']);
    fail([`unknown option '${flag}'${near === undefined ? '' : ` (did you mean '--${near}'?)`}`, `'${path} --help' lists the commands`], 2);
  }
  fail([...(group.missing === undefined ? [] : [group.missing]), usageOf(group), `'${path} --help' says what each does`], 2);
}

/** `fastpath help [COMMAND...]`: the help of the group or command that `words` name. */
function help(group: CommandGroup, words: readonly string[], path: string): void {
  let entry: Command | CommandGroup = group;
  for (const word of words) {
    const names = 'commands' in entry ? entry.commands.map((c) => c.name) : [];
    const next: Command | CommandGroup | undefined = 'commands' in entry ? entry.commands.find((c) => c.name === word) : undefined;
    if (next === undefined) fail(unknownCommand(path, word, names), 2);
    entry = next;
    path = `${path} ${word}`;
  }
  console.log('commands' in entry ? groupHelp(entry, path) : helpOf(entry));
}

async function execute(command: Command, args: readonly string[]): Promise<void> {
  try {
    const parsed = parseCommandLine(command, args);
    if (parsed.help) {
      console.log(helpOf(command));
      return;
    }
    const code = await command.run(parsed.values, parsed.positionals);
    if (code !== undefined) process.exitCode = code;
  } catch (error) {
    // An empty message: the usage alone says what is missing.
    if (error instanceof UsageError) fail([...(error.message === '' ? [] : [error.message]), usageOf(command)], 2);
    if (error instanceof FastpathError) fail([`${error.message} [${error.code}]`]);
    throw error;
  }
}
