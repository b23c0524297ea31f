/**
 * The `fastpath` command.
 *
 *   fastpath run CONFIG [--duration S] [--json]   start the engine, live table, summary
 *   fastpath validate CONFIG                      check a config without starting DPDK
 *
 * CONFIG is a .ts/.js module exporting a config (export default defineConfig({...})) or a
 * .json file. Errors print one line each (`fastpath: ...`) and exit 1; no stack traces.
 */
import { parseArgs } from 'node:util';

import { FastpathError, type EngineConfig } from '@fastpath/types';

import { Engine } from './engine.js';
import { describeEngine, runLive, summaryJson, summaryLines } from './live.js';
import { loadConfig } from './load-config.js';
import { StatsReader } from './stats-reader.js';

const USAGE = `usage: fastpath run CONFIG [--duration S] [--json]
       fastpath validate CONFIG
       fastpath ls [--json]
       fastpath stats [NAME] [--json]`;

function fail(lines: readonly string[], code = 1): never {
  for (const line of lines) console.error(`fastpath: ${line}`);
  process.exit(code);
}

async function run(file: string, durationS: number, json: boolean): Promise<void> {
  const config = Engine.validate(await loadConfig(file));
  const engine = await Engine.start(config as EngineConfig);
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS });
  console.log('');
  for (const line of summaryLines(last, seconds)) console.log(line);
  if (json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
}

async function validate(file: string): Promise<void> {
  const config = Engine.validate(await loadConfig(file)) as EngineConfig;
  const ports = Object.keys(config.ports).length;
  console.log(`${file}: valid (${ports} port${ports === 1 ? '' : 's'}, ${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'}, ${config.lcores.workers.length} worker lcore${config.lcores.workers.length === 1 ? '' : 's'})`);
}

function ls(json: boolean): void {
  const engines = StatsReader.list();
  if (json) {
    console.log(JSON.stringify(engines));
    return;
  }
  if (engines.length === 0) console.log('no Fastpath engines on this machine');
  for (const e of engines) console.log(`${e.name.padEnd(28)} pid ${String(e.pid).padEnd(8)} ${e.alive ? 'alive' : 'stale'}  ${e.path}`);
}

function stats(name: string | undefined, json: boolean): void {
  const snap = StatsReader.attach(name).snapshot();
  if (json) {
    console.log(JSON.stringify({ ...snap, readAtNs: String(snap.readAtNs) }));
    return;
  }
  console.log(`${snap.name} (pid ${snap.pid}, ${snap.alive ? 'alive' : 'stale'})`);
  for (const p of snap.ports) {
    console.log(`  ${p.name.padEnd(12)} rx ${String(p.rxPackets).padStart(15)}  tx ${String(p.txPackets).padStart(15)}  rx dropped ${p.rxDropped}  tx dropped ${p.txDropped}`);
  }
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { duration: { type: 'string', default: '10' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    fail([(error as Error).message, USAGE], 2);
  }
  const { values, positionals } = parsed;
  const [command, file, ...rest] = positionals;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (command === 'ls' || command === 'stats') {
    if (rest.length > 0 || (command === 'ls' && file !== undefined)) fail([USAGE], 2);
    try {
      if (command === 'ls') ls(values.json);
      else stats(file, values.json);
    } catch (error) {
      if (error instanceof FastpathError) fail([`${error.message} [${error.code}]`]);
      throw error;
    }
    return;
  }
  if (!command || !file || rest.length > 0 || !['run', 'validate'].includes(command)) fail([USAGE], 2);
  const durationS = Number(values.duration);
  if (!(durationS > 0)) fail([`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`], 2);
  try {
    if (command === 'run') await run(file, durationS, values.json);
    else await validate(file);
  } catch (error) {
    if (error instanceof FastpathError) {
      fail(error.problems.length > 1 ? [`${file}: invalid config [${error.code}]`, ...error.problems.map((p) => `  ${p}`)] : [`${error.message} [${error.code}]`]);
    }
    throw error;
  }
}
