import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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
 * Reads a config file: `.json`, or a TypeScript/JavaScript module whose default export (or
 * `config` export) is the config. TypeScript is loaded through tsx. While the module is
 * imported, {@link isLoadingConfig} holds: a module's own main code should not run then.
 */
export async function loadConfig(file: string): Promise<unknown> {
  const path = resolve(file);
  const ext = extname(path);
  try {
    if (ext === '.json') return JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (!['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(ext)) {
      throw new FastpathError(ErrorCode.Config, `${file}: a config is a .ts, .mts, .cts, .js, .mjs, .cjs or .json file`);
    }
    const url = pathToFileURL(path).href;
    const flags = globalThis as Record<symbol, unknown>;
    flags[LOADING] = true;
    let mod: { default?: unknown; config?: unknown };
    try {
      mod = (['.ts', '.mts', '.cts'].includes(ext) ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url) : await import(url)) as typeof mod;
    } finally {
      flags[LOADING] = false;
    }
    let config = mod.default ?? mod.config;
    // A .ts file outside an ESM package is compiled as CommonJS: its `export default` then
    // arrives wrapped as the CommonJS module's exports ({ default, config?, __esModule }).
    if (isExportsObject(config)) config = config.default ?? config.config;
    if (config === undefined) {
      throw new FastpathError(ErrorCode.Config, `${file}: export the config as the default export (export default defineConfig({ ... }))`);
    }
    return config;
  } catch (error) {
    if (error instanceof FastpathError) throw error;
    throw new FastpathError(ErrorCode.Config, `cannot load config ${file}: ${explain(error)}`, { cause: error });
  }
}

/** Whether `value` is a CommonJS module's exports holding an ES module's exports. */
function isExportsObject(value: unknown): value is { default?: unknown; config?: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k === 'default' || k === 'config' || k === '__esModule') && ('default' in value || 'config' in value);
}

/**
 * What went wrong loading a module: a syntax error (esbuild's, through tsx) as
 * `file:line:column: what`, one per error; anything else as its message's first line.
 */
function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // tsx (esbuild) reports "Transform failed with N error(s):" and then `file:line:col: ERROR: what`.
  const [first = '', ...rest] = error.message.split('\n').filter((line) => line.trim() !== '');
  // Its columns count from 0; editors count from 1.
  const located = rest
    .filter((line) => /:\d+:\d+: /.test(line))
    .map((line) => line.replace(': ERROR: ', ': ').replace(/:(\d+):(\d+): /, (_, row: string, column: string) => `:${row}:${Number(column) + 1}: `));
  return /^Transform failed/.test(first) && located.length > 0 ? located.join('; ') : first;
}

export type { EngineConfig };
