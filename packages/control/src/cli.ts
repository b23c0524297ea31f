/**
 * The `fastpath` command.
 *
 *   fastpath run CONFIG [--duration S] [--json]   start the engine, live table, summary
 *   fastpath validate CONFIG                      check a config without starting DPDK
 *   fastpath ls | stats | top                     engines on this machine and their counters
 *   fastpath doctor | devbind | mem               the platform (see cli-platform.ts)
 *
 * CONFIG is a .ts/.js module exporting a config (export default defineConfig({...})) or a
 * .json file. Errors print one line each (`fastpath: ...`) and exit 1; no stack traces.
 */
import { parseArgs } from 'node:util';

import { FastpathError, type EngineConfig } from '@fastpath/types';

import { Engine } from './engine.js';
import { describeEngine, runLive, summaryJson, summaryLines } from './live.js';
import { platformCommand, UsageError } from './cli-platform.js';
import { loadConfig } from './load-config.js';
import { StatsReader } from './stats-reader.js';

const USAGE = `usage: fastpath run CONFIG [--duration S] [--json]
       fastpath validate CONFIG
       fastpath ls [--json]
       fastpath stats [NAME] [--json]
       fastpath top [NAME] [--frames N]
       fastpath doctor [--json] [--root DIR] [--no-huge]
       fastpath devbind --status | --bind DRIVER PCI... | --unbind PCI...  [--yes] [--root DIR] [--json]
       fastpath mem map [NAME] [--json]
       fastpath mem plan CONFIG [--json] [--reserve]`;

function fail(lines: readonly string[], code = 1): never {
  for (const line of lines) console.error(`fastpath: ${line}`);
  process.exit(code);
}

async function run(file: string, durationS: number, json: boolean): Promise<void> {
  // Engine.start validates before EAL starts: a bad config is refused with every path.
  const engine = await Engine.start((await loadConfig(file)) as EngineConfig);
  for (const line of describeEngine(engine.info)) console.log(line);
  const { last, seconds } = await runLive(engine, { durationS });
  console.log('');
  for (const line of summaryLines(last, seconds)) console.log(line);
  if (json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
}

async function validate(file: string): Promise<void> {
  const config = Engine.validate(await loadConfig(file));
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

const SPARKS = '▁▂▃▄▅▆▇█';

function sparkline(values: number[]): string {
  const max = Math.max(...values, 1);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]).join('');
}

/** A live view: rates, totals, drops and a sparkline of each port's recent rx rate. */
async function top(name: string | undefined, frames: number): Promise<void> {
  const reader = StatsReader.attach(name);
  const tty = process.stdout.isTTY;
  let stopRequested = false;
  const onSignal = () => (stopRequested = true);
  process.once('SIGINT', onSignal);
  let previous = reader.snapshot();
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let frame = 0; !stopRequested && reader.alive && (frames === 0 || frame < frames); frame++) {
    const snap = reader.snapshot();
    const rates = reader.rates(1000);
    // Rx rate per 200 ms over the last 8 s, from the sample ring.
    const history = reader.recent(800).filter((_, i) => i % 20 === 0);
    const lines = [`fastpath top: ${snap.name} (pid ${snap.pid})  ${new Date().toISOString()}`, ''];
    lines.push('port          rx Mpps   tx Mpps   drops/s        rx total        tx total  rx, last 8 s');
    snap.ports.forEach((p, i) => {
      const series = history.slice(1).map((s, k) => Math.max(0, s.ports[i]!.rxPackets - history[k]!.ports[i]!.rxPackets));
      lines.push(
        `${p.name.padEnd(12)}${(rates[i]!.rxPps / 1e6).toFixed(2).padStart(9)} ${(rates[i]!.txPps / 1e6).toFixed(2).padStart(9)}` +
          `${rates[i]!.dropPps.toFixed(0).padStart(10)}${String(p.rxPackets).padStart(16)}${String(p.txPackets).padStart(16)}  ${sparkline(series)}`,
      );
    });
    lines.push('', 'lcore  cpu   busy  cycles/pkt        rx total        tx total');
    snap.lcores.forEach((l, i) => {
      const before = previous.lcores[i]!;
      // Busy share of the lcore's TSC cycles since the last frame; cycles per received packet.
      const busyCycles = l.busyCycles - before.busyCycles;
      const cycles = busyCycles + l.idleCycles - before.idleCycles;
      const busy = cycles > 0 ? (100 * busyCycles) / cycles : 0;
      const packets = l.rxPackets - before.rxPackets;
      const perPacket = packets > 0 ? (busyCycles / packets).toFixed(1) : '-';
      lines.push(
        `${String(l.lcore).padStart(5)}${String(l.cpu).padStart(5)}${`${busy.toFixed(0)}%`.padStart(7)}${perPacket.padStart(12)}` +
          `${String(l.rxPackets).padStart(16)}${String(l.txPackets).padStart(16)}`,
      );
    });
    previous = snap;
    process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${lines.join('\n')}\n`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  process.off('SIGINT', onSignal);
  if (!reader.alive) console.log(`${reader.name} stopped`);
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        duration: { type: 'string', default: '10' },
        json: { type: 'boolean', default: false },
        frames: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h' },
        root: { type: 'string' },
        'no-huge': { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        status: { type: 'boolean', default: false },
        bind: { type: 'string' },
        unbind: { type: 'boolean', default: false },
        reserve: { type: 'boolean', default: false },
      },
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
  if (command === 'doctor' || command === 'devbind' || command === 'mem') {
    const flags = { ...values, noHuge: values['no-huge'] };
    try {
      process.exitCode = await platformCommand(command, positionals.slice(1), flags);
    } catch (error) {
      if (error instanceof UsageError) fail([error.message, USAGE], 2);
      if (error instanceof FastpathError) fail([`${error.message} [${error.code}]`]);
      throw error;
    }
    return;
  }
  if (command === 'ls' || command === 'stats' || command === 'top') {
    if (rest.length > 0 || (command === 'ls' && file !== undefined)) fail([USAGE], 2);
    try {
      if (command === 'ls') ls(values.json);
      else if (command === 'stats') stats(file, values.json);
      else await top(file, Number(values.frames) || 0);
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
