/**
 * A program's command line, declared once: its usage line, a one-line summary, its flags with a
 * line of help each. `parseCommandLine` takes exactly those flags (strict) and `helpOf` prints
 * them, so `fastpath` and the examples explain and refuse a command line alike; every number a
 * flag takes goes through `positiveNumber` or `positiveInteger`, so all of them follow one rule.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A flag as parseArgs takes it, with its line of help and, for a flag that takes a value, the
 * value's name (`S` in `--duration S`): required, so that no usage line shows a bare `--file`.
 */
export type Option = NonNullable<ParseArgsConfig['options']>[string] & { help: string } & ({ type: 'string'; value: string } | { type: 'boolean'; value?: never });

export type Options = Record<string, Option>;

/** The flag values of a command line with options `O`, typed as strict parseArgs returns them. */
export type Flags<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values'];

export interface CommandLine<O extends Options = Options> {
  /** As typed: `fastpath ls [--json]`. */
  usage: string;
  /** What it does, in one line. */
  summary: string;
  /** Its flags, and only its flags; `-h, --help` is added to every command line. */
  options: O;
  /**
   * How many positionals it takes. More than `max` is refused naming the extra ones; fewer than
   * `min` says `missing` (the usage alone without it).
   */
  positionals: { min: number; max: number; missing?: string };
  /** Said by --help after the options: what a positional is, what the exit code means. */
  notes?: readonly string[];
}

/** A command line that does not make sense: its message, then the usage; the message may be empty. */
export class UsageError extends Error {}

const HELP: Option = { type: 'boolean', short: 'h', help: 'print this help' };

/**
 * The flags and positionals of `args`, or `help` when --help (-h) is among them. Refuses, with a
 * UsageError, a flag `line` does not take (naming it, and the nearest it does take), a flag
 * without its value and a wrong number of positionals.
 */
export function parseCommandLine<O extends Options>(
  line: CommandLine<O>,
  args: readonly string[],
): { help: true } | { help: false; values: Flags<O>; positionals: string[] } {
  let parsed;
  try {
    const options: Options = { ...line.options, help: HELP };
    parsed = parseArgs({ args: negativeValues(args, line.options), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(unknownOption(error, line.options) ?? (error as Error).message);
  }
  if (parsed.values.help) return { help: true };
  const { positionals } = parsed;
  const { min, max, missing } = line.positionals;
  if (positionals.length > max) throw new UsageError(`unexpected ${positionals.slice(max).map((p) => `'${p}'`).join(' ')}`);
  if (positionals.length < min) throw new UsageError(missing ?? '');
  return { help: false, values: parsed.values as Flags<O>, positionals };
}

/**
 * `--duration -1` is a value: no flag starts with a digit. Passed as `--duration=-1`, it reaches
 * the flag's own check, which says what is valid (parseArgs would call it an ambiguous flag).
 */
function negativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const previous = out.at(-1);
    const option = previous?.startsWith('--') ? options[previous.slice(2)] : undefined;
    if (option?.type === 'string' && /^-[\d.]/.test(arg)) out[out.length - 1] = `${previous}=${arg}`;
    else out.push(arg);
  }
  return out;
}

function unknownOption(error: unknown, options: Options): string | undefined {
  if ((error as { code?: string }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const flag = /'([^']+)'/.exec((error as Error).message)?.[1];
  if (flag === undefined) return undefined;
  const near = closest(flag.replace(/^-+/, '').replace(/=.*/, ''), Object.keys(options));
  return `unknown option '${flag}'${near === undefined ? '' : ` (did you mean '--${near}'?)`}`;
}

/** `usage:`, the summary, one line per flag (with its default), then the notes: what --help prints. */
export function helpOf(line: CommandLine): string {
  const flags = Object.entries({ ...line.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.value === undefined ? '' : ` ${o.value}`}`;
    const fallback = o.type === 'string' && typeof o.default === 'string' ? ` (default ${o.default})` : '';
    return [flag, `${o.help}${fallback}`] as const;
  });
  const width = Math.max(...flags.map(([flag]) => flag.length));
  const notes = line.notes === undefined ? [] : ['', ...line.notes];
  return [`usage: ${line.usage}`, '', line.summary, '', 'options:', ...flags.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`), ...notes].join('\n');
}

/**
 * `value` of `flag` as a number above 0 written in decimal (`10`, `0.5`); anything else (`abc`,
 * `-1`, `0`, `1e3`, `Infinity`) is a UsageError naming the flag, the value and what is valid.
 */
export function positiveNumber(flag: string, value: string, unit?: string): number {
  const n = Number(value);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(value) || !(n > 0) || !Number.isFinite(n)) {
    throw new UsageError(`${flag} must be a positive number${unit === undefined ? '' : ` of ${unit}`}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `value` of `flag` as a whole number from 1 (to `max`), written in decimal; else a UsageError as positiveNumber's. */
export function positiveInteger(flag: string, value: string, max?: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > (max ?? Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`${flag} must be a whole number ${max === undefined ? 'of 1 or more' : `from 1 to ${max}`}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The candidate nearest `word`, if within a typo of it (one edit per three letters, at least one): "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance: insertions, deletions and substitutions from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
