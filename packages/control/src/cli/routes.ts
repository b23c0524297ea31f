/**
 * `fastpath routes [NAME] add|del|show|lookup|tables`: a running engine's route tables, changed
 * and read from another process through its control socket (control-client.ts). The engine
 * checks everything; this prints what it answers.
 */
import { readFileSync } from 'node:fs';

import { ControlClient } from '../control-client.js';
import type { RouteChange } from '../routes.js';
import { defineCommand, NAME_NOTE, UsageError } from './command.js';

const VERBS = ['add', 'del', 'show', 'lookup', 'tables'] as const;
type Verb = (typeof VERBS)[number];

/** `added 3, replaced 0, deleted 0: core holds 1,000,003 IPv4 and 0 IPv6 routes (412 ms)`. */
export function changeLine(c: RouteChange): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return `added ${n(c.added)}, replaced ${n(c.replaced)}, deleted ${n(c.deleted)}: ${c.table} holds ${n(c.size.ipv4)} IPv4 and ${n(c.size.ipv6)} IPv6 routes (${Math.round(c.ms)} ms)`;
}

/** Pairs `PREFIX VIA PREFIX VIA ...`. */
function pairs(args: string[]): { prefix: string; via: string }[] {
  if (args.length % 2 !== 0) throw new UsageError('add takes PREFIX VIA pairs (or --file FILE)');
  return Array.from({ length: args.length / 2 }, (_, i) => ({ prefix: args[2 * i]!, via: args[2 * i + 1]! }));
}

export const routesCommand = defineCommand({
  name: 'routes',
  usage: 'fastpath routes [NAME] add|del|show|lookup|tables [ARGS...] [--table T] [--file F] [--json]',
  summary: "Change and read a running engine's route tables: add PREFIX VIA..., del PREFIX..., show, lookup ADDRESS..., tables",
  options: {
    table: { type: 'string', value: 'T', help: "the route table (its stage's name); needed when the engine has several" },
    file: { type: 'string', value: 'F', help: "add or del: the routes in a file (l3fwd's `R<prefix> <port>` or `<prefix> <nextHop>` lines; - reads stdin)" },
    json: { type: 'boolean', default: false, help: 'print answers as JSON (show: one route per line)' },
  },
  positionals: { min: 1, max: Infinity },
  notes: [
    NAME_NOTE,
    'A change (add or del, from arguments or a file) is one batch: all of it or, when an item or line is bad, none (each problem is named). Workers switch to it between two bursts; no packet waits.',
    'show prints routes as `prefix via` lines, a route file that add --file takes back.',
  ],
  async run(flags, positionals) {
    const named = !VERBS.includes(positionals[0] as Verb);
    const name = named ? positionals[0] : undefined;
    const verb = (named ? positionals[1] : positionals[0]) as Verb | undefined;
    const args = positionals.slice(named ? 2 : 1);
    if (verb === undefined || !VERBS.includes(verb)) {
      throw new UsageError(`say what to do: ${VERBS.join(', ')}${verb === undefined ? '' : ` (not '${verb}')`}`);
    }
    const text = flags.file === undefined ? undefined : readFileSync(flags.file === '-' ? 0 : flags.file, 'utf8');
    if (text !== undefined && verb !== 'add' && verb !== 'del') throw new UsageError(`--file goes with add and del, not ${verb}`);
    await using client = await ControlClient.connect(name);
    const table = client.routes(flags.table);
    const print = (value: unknown, line: string) => console.log(flags.json ? JSON.stringify(value) : line);
    switch (verb) {
      case 'add':
      case 'del': {
        if (text === undefined && args.length === 0) throw new UsageError(`${verb} takes ${verb === 'add' ? 'PREFIX VIA pairs' : 'PREFIXes'} or --file FILE`);
        const started = Date.now();
        const onProgress = (done: number, total: number) => {
          if (Date.now() - started > 500) process.stderr.write(`fastpath: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} routes…\n`);
        };
        const change =
          verb === 'add'
            ? await table.add(text === undefined ? pairs(args) : { text }, { onProgress })
            : await table.delete(text === undefined ? args : { text }, { onProgress });
        print(change, changeLine(change));
        return;
      }
      case 'show':
        for await (const route of table.list()) print(route, `${route.prefix} ${route.via}`);
        return;
      case 'lookup': {
        if (args.length === 0) throw new UsageError('lookup takes ADDRESSes');
        for (const r of await table.lookup(args)) {
          print(r, `${r.address} via ${r.via ?? '(none: dropped as noRoute)'}${r.prefix === null ? ' (no route covers it)' : ` (${r.prefix})`}`);
        }
        return;
      }
      case 'tables':
        for (const t of await client.routeTables()) {
          print(t, `${t.name} (pipeline ${t.pipeline}): ${t.size.ipv4} IPv4 routes of room ${t.room.ipv4}, ${t.size.ipv6} IPv6 of ${t.room.ipv6}; next hops ${t.nextHops.join(', ')}${t.default === null ? '' : `; default ${t.default}`}`);
        }
        return;
    }
  },
});
