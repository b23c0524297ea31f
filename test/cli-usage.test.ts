/**
 * The command lines of `fastpath` and the examples, as people expect a CLI to behave: help in
 * every form, unknown commands and flags named, --version, numbers refused before anything
 * starts. No test here starts an engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { positiveInteger, positiveNumber, UsageError } from '@fastpath/control';
import { describe, expect, it } from 'vitest';

import { repoRoot, runCli, runScript } from './helpers.js';

/** Every command's usage line, by its name; a command is a module of packages/control/src/cli/ (checked below). */
const USAGE = {
  run: 'fastpath run CONFIG [--duration S] [--json]',
  serve: 'fastpath serve [CONFIG | --attach NAME] [--listen HOST:PORT] [--token-file F]',
  validate: 'fastpath validate CONFIG',
  ls: 'fastpath ls [--json]',
  clean: 'fastpath clean [--dry-run] [--json]',
  stats: 'fastpath stats [NAME] [--json]',
  top: 'fastpath top [NAME] [--frames N]',
  routes: 'fastpath routes [NAME] add|del|show|lookup|tables [ARGS...] [--table T] [--file F] [--json]',
  capture: 'fastpath capture [NAME] [--pipeline P] [--at input|output|drops] [--filter EXPR] [--snaplen N] [--count N] [--duration S] [--buffer MIB] -w|--write FILE.pcapng',
  doctor: 'fastpath doctor [CONFIG] [--pci ADDR]... [--json] [--root DIR] [--no-huge]',
  devbind: 'fastpath devbind --status | --bind DRIVER PCI... | --unbind PCI...  [--yes] [--root DIR] [--json]',
  'mem map': 'fastpath mem map [NAME] [--json]',
  'mem plan': 'fastpath mem plan CONFIG [--json] [--reserve]',
};

/** The CLI's modules that are no command: the dispatcher and what every command is. */
const NOT_COMMANDS = ['index.ts', 'command.ts'];

/** Every program in examples/ (each takes --help): a new one is tested without a word here. */
const EXAMPLES = readdirSync(join(repoRoot, 'examples'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

const CONFIG = 'examples/configs/generator.config.ts';

/** The flags a usage line names, sorted: `--duration`, `--json` in `fastpath run CONFIG [--duration S] [--json]`. */
const flagsOf = (usage: string) => [...new Set(usage.match(/--[a-z][\w-]*/g) ?? [])].sort();

/**
 * Checks a command's --help: its usage line, a summary, and under `options:` one line per flag
 * of the usage line and -h, --help, each with its description.
 */
function expectHelp(help: string, usage: string): void {
  const lines = help.split('\n');
  expect(lines[0]).toBe(`usage: ${usage}`);
  expect(lines[1]).toBe('');
  expect(lines[2]).toMatch(/^[A-Z]\S* .{10,}/);
  const from = lines.indexOf('options:');
  expect(from, help).toBeGreaterThan(2);
  const options = lines.slice(from + 1, lines.indexOf('', from));
  for (const line of options) expect(line).toMatch(/^ {2}(-\w, | {4})--[a-z][\w-]*( \S+)? {2,}\S/);
  expect(options.map((line) => /--[\w-]+/.exec(line)![0]).sort()).toEqual([...flagsOf(usage), '--help'].sort());
  expect(options.filter((line) => line.startsWith('  -h, --help '))).toHaveLength(1);
}

describe('fastpath help', () => {
  it('lists every command with its usage and summary for --help, -h and help, and says how to get more', () => {
    const outputs = [['--help'], ['-h'], ['help']].map((args) => {
      const run = runCli(args);
      expect(run.status, args.join(' ')).toBe(0);
      expect(run.stderr, args.join(' ')).toBe('');
      return run.stdout;
    });
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
    const lines = outputs[0]!.split('\n');
    for (const usage of Object.values(USAGE)) {
      const at = lines.indexOf(`  ${usage}`);
      expect(at, usage).toBeGreaterThan(0);
      // The summary on the next line, indented under the usage.
      expect(lines[at + 1], usage).toMatch(/^ {6}[A-Z]\S* .{10,}/);
    }
    expect(outputs[0]).toContain("'fastpath help COMMAND' or 'fastpath COMMAND --help'");
    expect(outputs[0]).toContain("'fastpath --version'");
  });

  it('covers every command: one per module of src/cli/, and --help lists no other', () => {
    const modules = readdirSync(join(repoRoot, 'packages/control/src/cli')).filter((file) => file.endsWith('.ts') && !NOT_COMMANDS.includes(file));
    const named = [...new Set(Object.keys(USAGE).map((command) => command.split(' ')[0]))];
    expect(named.sort()).toEqual(modules.map((file) => file.slice(0, -'.ts'.length)).sort());
    const lines = runCli(['--help']).stdout.split('\n');
    const listed = lines.slice(lines.indexOf('commands:') + 1, lines.indexOf('', lines.indexOf('commands:'))).filter((line) => /^ {2}\S/.test(line));
    expect(listed.map((line) => line.trim()).sort()).toEqual(Object.values(USAGE).sort());
  });

  it.each(Object.entries(USAGE))('prints the usage, summary and one line per option of %s, as help CMD and as CMD --help', (command, usage) => {
    const asHelp = runCli(['help', ...command.split(' ')]);
    const asFlag = runCli([...command.split(' '), '--help']);
    expect(asHelp.status).toBe(0);
    expect(asFlag.status).toBe(0);
    expect(asHelp.stdout).toBe(asFlag.stdout);
    expectHelp(asFlag.stdout, usage);
  });

  it("says each option's default: run runs until stopped, top draws until stopped", () => {
    expect(runCli(['run', '--help']).stdout).toMatch(/^ +--duration S +stop after S seconds \(default: run until Ctrl-C, SIGTERM or SIGHUP\)$/m);
    expect(runCli(['help', 'top']).stdout).toMatch(/^ +--frames N +draw N frames, then exit \(default: until Ctrl-C, or the engine stops\)$/m);
  });

  it('lists the commands of a group: help mem, mem --help', () => {
    const help = runCli(['help', 'mem']);
    expect(help.status).toBe(0);
    expect(runCli(['mem', '--help']).stdout).toBe(help.stdout);
    expect(help.stdout).toMatch(/^usage: fastpath mem COMMAND/);
    expect(help.stdout).toContain(`\n  ${USAGE['mem map']}\n      `);
    expect(help.stdout).toContain(`\n  ${USAGE['mem plan']}\n      `);
  });

  it('names a command it has no help for, and exits 2', () => {
    const nosuch = runCli(['help', 'nosuch']);
    expect(nosuch.status).toBe(2);
    expect(nosuch.stdout).toBe('');
    expect(nosuch.stderr).toBe("fastpath: unknown command 'nosuch'\nfastpath: 'fastpath --help' lists the commands\n");
    const inGroup = runCli(['help', 'mem', 'pla']);
    expect(inGroup.status).toBe(2);
    expect(inGroup.stderr).toMatch(/^fastpath: unknown command 'mem pla' \(did you mean 'plan'\?\)\n/);
  });
});

describe('fastpath: unknown commands and options', () => {
  it('names an unknown command, suggests a close one, and points to --help', () => {
    const runn = runCli(['runn', CONFIG]);
    expect(runn.status).toBe(2);
    expect(runn.stdout).toBe('');
    expect(runn.stderr).toBe("fastpath: unknown command 'runn' (did you mean 'run'?)\nfastpath: 'fastpath --help' lists the commands\n");
    const far = runCli(['frobnicate']);
    expect(far.status).toBe(2);
    expect(far.stderr).toBe("fastpath: unknown command 'frobnicate'\nfastpath: 'fastpath --help' lists the commands\n");
    const group = runCli(['mem', 'mapp']);
    expect(group.status).toBe(2);
    expect(group.stderr).toBe("fastpath: unknown command 'mem mapp' (did you mean 'map'?)\nfastpath: 'fastpath mem --help' lists the commands\n");
  });

  it("names a flag the command does not take (another command's too), then prints the command's usage", () => {
    const reserve = runCli(['run', CONFIG, '--reserve']);
    expect(reserve.status).toBe(2);
    expect(reserve.stdout).toBe('');
    expect(reserve.stderr).toBe(`fastpath: unknown option '--reserve'\nfastpath: usage: ${USAGE.run}\n`);
    const frames = runCli(['ls', '--frames', '3']);
    expect(frames.status).toBe(2);
    expect(frames.stderr).toBe(`fastpath: unknown option '--frames'\nfastpath: usage: ${USAGE.ls}\n`);
    const typo = runCli(['run', CONFIG, '--duratoin', '5']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe(`fastpath: unknown option '--duratoin' (did you mean '--duration'?)\nfastpath: usage: ${USAGE.run}\n`);
    const top = runCli(['--verison']);
    expect(top.status).toBe(2);
    expect(top.stderr).toMatch(/^fastpath: unknown option '--verison' \(did you mean '--version'\?\)\n/);
  });

  it('says what is missing or extra among the positionals, with the usage', () => {
    const missing = runCli(['run']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`fastpath: run needs a CONFIG\nfastpath: usage: ${USAGE.run}\n`);
    const extra = runCli(['ls', 'one', 'two']);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toBe(`fastpath: unexpected 'one' 'two'\nfastpath: usage: ${USAGE.ls}\n`);
  });
});

describe('fastpath --version', () => {
  it("prints @fastpath/control's version from its package.json", () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages/control/package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = runCli([flag]);
      expect(run.status, flag).toBe(0);
      expect(run.stderr, flag).toBe('');
      expect(run.stdout, flag).toBe(`${version}\n`);
    }
  });
});

describe('numbers on the command line', () => {
  it('takes positive decimal numbers, and whole ones where a count is meant', () => {
    expect(positiveNumber('--duration', '10')).toBe(10);
    expect(positiveNumber('--duration', '0.5')).toBe(0.5);
    expect(positiveNumber('--duration', '.25')).toBe(0.25);
    expect(positiveInteger('--frames', '3')).toBe(3);
    expect(positiveInteger('--port', '65535', 65535)).toBe(65535);
    for (const value of ['abc', '', '0', '-1', '1e3', '0x10', 'Infinity', ' 5', '5s', '1'.repeat(400)]) {
      expect(() => positiveNumber('--duration', value, 'seconds'), value).toThrow(new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(value)}`));
    }
    for (const value of ['abc', '0', '1.5', '-2', '1e3']) {
      expect(() => positiveInteger('--frames', value), value).toThrow(new UsageError(`--frames must be a whole number of 1 or more, got ${JSON.stringify(value)}`));
    }
    expect(() => positiveInteger('--port', '65536', 65535)).toThrow(new UsageError('--port must be a whole number from 1 to 65535, got "65536"'));
  });

  // Each is refused before the config is even loaded: a run that started would take seconds
  // (or, for inf, forever) and print EAL's lines.
  it.each([['abc'], ['-1'], ['0'], ['inf'], ['Infinity'], ['']])('refuses run --duration %j with the flag, the value and what is valid, exit 2', (value) => {
    const run = runCli(['run', CONFIG, '--duration', value], 20_000);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`fastpath: --duration must be a positive number of seconds, got ${JSON.stringify(value)}\nfastpath: usage: ${USAGE.run}\n`);
  });

  it.each([['abc'], ['0'], ['-1'], ['2.5']])('refuses top --frames %j, exit 2', (value) => {
    // No engine runs: the flag is refused before top looks for one.
    const top = runCli(['top', '--frames', value], 20_000);
    expect(top.status).toBe(2);
    expect(top.stderr).toBe(`fastpath: --frames must be a whole number of 1 or more, got ${JSON.stringify(value)}\nfastpath: usage: ${USAGE.top}\n`);
  });
});

describe('examples on the command line', () => {
  it.each(EXAMPLES)('%s.ts --help prints its usage, purpose and one line per option, and runs nothing', (name) => {
    const help = runScript(`examples/${name}.ts`, ['--help'], 30_000);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stderr).toBe('');
    const usage = /^usage: (.*)$/m.exec(help.stdout)?.[1] ?? '';
    expect(usage.startsWith(`npx tsx examples/${name}.ts`), help.stdout).toBe(true);
    expectHelp(help.stdout, usage);
  });

  it('finds every example, and the README lists each', () => {
    expect(EXAMPLES).toEqual(expect.arrayContaining(['l2fwd', 'l3fwd', 'firewall', 'latency']));
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const name of EXAMPLES) expect(readme, name).toMatch(new RegExp(`^\\| \`${name}\\.ts[ \`]`, 'm'));
  });

  it('takes -h as --help', () => {
    const help = runScript('examples/macswap.ts', ['-h'], 30_000);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npx tsx examples\/macswap\.ts /);
  });

  it.each([
    ['generator', ['--duration', 'abc'], 'generator: --duration must be a positive number of seconds, got "abc"'],
    ['macswap', ['--duration', '-1'], 'macswap: --duration must be a positive number of seconds, got "-1"'],
    ['bridge', ['veth-a', 'veth-b', '--duration', '0'], 'bridge: --duration must be a positive number of seconds, got "0"'],
    ['generator', ['--flows', '0'], 'generator: --flows must be a whole number of 1 or more, got "0"'],
    ['generator', ['--size', 'big'], 'generator: --size must be a whole number of 1 or more, got "big"'],
    ['exporter', ['--port', '70000'], 'exporter: --port must be a whole number from 1 to 65535, got "70000"'],
  ])('%s.ts refuses %j in one line, as the CLI does', (name, args, line) => {
    const run = runScript(`examples/${name}.ts`, args, 30_000);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`${line}\n`);
  });

  it('names a flag an example does not take, then prints its usage', () => {
    const run = runScript('examples/macswap.ts', ['--bogus'], 30_000);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("macswap: unknown option '--bogus'\nmacswap: usage: npx tsx examples/macswap.ts [--duration S] [--json]\n");
  });
});
