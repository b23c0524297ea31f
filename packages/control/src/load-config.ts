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
    if (!['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
      throw new FastpathError(ErrorCode.Config, `${file}: a config is a .ts, .mts, .js, .mjs or .json file`);
    }
    const url = pathToFileURL(path).href;
    const flags = globalThis as Record<symbol, unknown>;
    flags[LOADING] = true;
    let mod: { default?: unknown; config?: unknown };
    try {
      mod = (ext === '.ts' || ext === '.mts' ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url) : await import(url)) as typeof mod;
    } finally {
      flags[LOADING] = false;
    }
    const config = mod.default ?? mod.config;
    if (config === undefined) {
      throw new FastpathError(ErrorCode.Config, `${file}: export the config as the default export (export default defineConfig({ ... }))`);
    }
    return config;
  } catch (error) {
    if (error instanceof FastpathError) throw error;
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new FastpathError(ErrorCode.Config, `cannot load config ${file}: ${why}`, { cause: error });
  }
}

export type { EngineConfig };
