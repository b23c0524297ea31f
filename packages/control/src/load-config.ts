import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ErrorCode, FastpathError, type EngineConfig } from '@fastpath/types';

/** Set while a config module is being imported (see {@link isLoadingConfig}). */
const LOADING = Symbol.for('fastpath.loadingConfig');

/**
 * Whether this process is importing a module as a config. A program that doubles as a config
 * module (the examples do) must not run its main code then: `runExample` checks this, and
 * `Engine.start` refuses to start while it holds, so that checking a config never starts EAL
 * or lets a driver create the files a program names.
 */
export function isLoadingConfig(): boolean {
  return (globalThis as Record<symbol, unknown>)[LOADING] === true;
}

/**
 * Reads a config file: `.json`, or a TypeScript/JavaScript module (`.ts`, `.mts`, `.cts`,
 * `.js`, `.mjs`, `.cjs`) whose default export (or `config` export) is the config, wherever it
 * is. Modules are loaded through tsx, so ES module syntax works in a `.ts` or `.js` file with
 * or without a package.json `"type": "module"`. While the module is imported,
 * {@link isLoadingConfig} holds: a module's own main code should not run then. A syntax error
 * is reported at its file, line and column.
 */
export async function loadConfig(file: string): Promise<unknown> {
  const path = resolve(file);
  const ext = extname(path);
  try {
    if (ext === '.json') return parseJson(await readFile(path, 'utf8'), file, path);
    if (!['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(ext)) {
      throw new FastpathError(ErrorCode.Config, `${file}: a config is a .ts, .mts, .cts, .js, .mjs, .cjs or .json file`);
    }
    const url = pathToFileURL(path).href;
    const flags = globalThis as Record<symbol, unknown>;
    flags[LOADING] = true;
    let mod: { default?: unknown; config?: unknown };
    try {
      mod = (await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as typeof mod;
    } finally {
      flags[LOADING] = false;
    }
    let config = mod.default ?? mod.config;
    // A .ts or .js file outside an ESM package is compiled as CommonJS: its `export default`
    // then arrives wrapped as the CommonJS module's exports ({ default, config?, __esModule }).
    if (isExportsObject(config)) config = config.default ?? config.config;
    if (config === undefined) {
      throw new FastpathError(ErrorCode.Config, `${file}: export the config as the default export (export default defineConfig({ ... }))`);
    }
    return config;
  } catch (error) {
    if (error instanceof FastpathError) throw error;
    throw new FastpathError(ErrorCode.Config, `cannot load config ${file}: ${await explain(error, path)}`, { cause: error });
  }
}

/** Whether `value` is a CommonJS module's exports holding an ES module's exports. */
function isExportsObject(value: unknown): value is { default?: unknown; config?: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k === 'default' || k === 'config' || k === '__esModule') && ('default' in value || 'config' in value);
}

/**
 * What went wrong loading a module, as `file:line:column: what` where a syntax error says
 * where: esbuild's (through tsx), one per error; Node's, from the stack of a CommonJS module's
 * error, or for an ES module's, whose stack does not say where, from Node's own syntax check of
 * the file. Anything else as its message's first line.
 */
async function explain(error: unknown, path: string): Promise<string> {
  if (!(error instanceof Error)) return String(error);
  // tsx (esbuild) reports "Transform failed with N error(s):" and then `file:line:col: ERROR: what`.
  const [first = '', ...rest] = error.message.split('\n').filter((line) => line.trim() !== '');
  // Its columns count from 0; editors count from 1.
  const located = rest.flatMap((line) => {
    const [, at = '', row = '', column = '', what = ''] = /^(.+):(\d+):(\d+): (?:ERROR: )?(.*)$/.exec(line) ?? [];
    return at === '' ? [] : [`${sourceOf(at, path)}:${row}:${Number(column) + 1}: ${what}`];
  });
  if (/^Transform failed/.test(first) && located.length > 0) return located.join('; ');
  if (error instanceof SyntaxError) {
    const stack = error.stack ?? '';
    // Thrown by Node's ES module compiler (no frame of the config's own code): a JavaScript
    // module that does not parse, which `node --check` locates.
    const compiling = ['.js', '.mjs'].includes(extname(path)) && stack.split('\n').filter((line) => /^\s+at /.test(line)).every((line) => line.includes('node:internal/'));
    const where = locate(stack) ?? (compiling ? await checkModule(path) : undefined);
    if (where !== undefined) return `${where}: ${first}`;
  }
  return first;
}

/**
 * The file that esbuild's `file` stands for: tsx names a .mts or .cts file `.ts` to it, and a
 * .mjs file `.js`. The config at `path` when `file` is its name; else the file of that name,
 * or one of those it may stand for.
 */
function sourceOf(file: string, path: string): string {
  const renamed = (name: string) => name.replace(/\.[cm]ts$/, '.ts').replace(/\.mjs$/, '.js');
  if (file === renamed(path)) return path;
  if (existsSync(file)) return file;
  const stem = file.slice(0, -extname(file).length);
  const candidates = { '.ts': [`${stem}.mts`, `${stem}.cts`], '.js': [`${stem}.mjs`] }[extname(file)] ?? [];
  return candidates.find((candidate) => existsSync(candidate)) ?? file;
}

/**
 * `file:line:column` of a syntax error that V8 located: its text (a stack, or what
 * `node --check` prints) starts with `FILE:LINE`, the source line, and carets under the culprit.
 * `file`, when given, names the file instead of FILE (`[stdin]` for a check of piped source).
 */
function locate(text: string, file?: string): string | undefined {
  const match = /^(.+):(\d+)\n.*\n([ \t]*)\^+[ \t]*\n/.exec(text);
  if (match === null) return undefined;
  const [, at = '', row = '', indent = ''] = match;
  return `${file ?? (at.startsWith('file:') ? fileURLToPath(at) : at)}:${row}:${indent.length + 1}`;
}

/**
 * Where the ES module at `path` has a syntax error, by `node --check` of its source (parsing
 * only, nothing runs); undefined when it has none (the error is in a module it imports).
 */
async function checkModule(path: string): Promise<string | undefined> {
  const source = await readFile(path, 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  const child = spawn(process.execPath, ['--input-type=module', '--check'], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined).end(source);
  const code = await new Promise<number | null>((done) => child.on('error', () => done(null)).on('close', done));
  return code === 1 ? locate(stderr, path) : undefined;
}

/**
 * Parses a JSON config; a syntax error is reported at `path:line:column` (JSON.parse says only
 * an offset, or for an unexpected character not even that: {@link jsonErrorAt} finds it).
 */
function parseJson(text: string, file: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const offset = Number(/ at position (\d+)/.exec(error.message)?.[1] ?? jsonErrorAt(text));
    const before = text.slice(0, offset).split('\n');
    const what = error.message
      .replace(/ (in JSON )?at position \d+.*$/, '')
      .replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON.*$/s, '');
    throw new FastpathError(ErrorCode.Config, `cannot load config ${file}: ${path}:${before.length}:${before.at(-1)!.length + 1}: ${what}`, { cause: error });
  }
}

/** The offset in `text` of the first character that is not JSON (its length when it ends too soon). */
function jsonErrorAt(text: string): number {
  const TOKEN = {
    string: /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y,
    number: /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y,
    literal: /true|false|null/y,
    space: /[ \t\n\r]*/y,
  };
  let at = 0;
  const take = (pattern: RegExp): boolean => {
    pattern.lastIndex = at;
    if (!pattern.test(text)) return false;
    at = pattern.lastIndex;
    return true;
  };
  const punct = (char: string): boolean => {
    take(TOKEN.space);
    if (text[at] !== char) return false;
    at++;
    return true;
  };
  const list = (close: string, item: () => boolean): boolean => {
    if (punct(close)) return true;
    for (;;) {
      if (!item()) return false;
      if (!punct(',')) return punct(close);
    }
  };
  const member = (): boolean => {
    take(TOKEN.space);
    return take(TOKEN.string) && punct(':') && value();
  };
  const value = (): boolean => {
    take(TOKEN.space);
    if (punct('{')) return list('}', member);
    if (punct('[')) return list(']', value);
    return take(TOKEN.string) || take(TOKEN.number) || take(TOKEN.literal);
  };
  if (value()) take(TOKEN.space);
  return at;
}

export type { EngineConfig };
