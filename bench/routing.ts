/**
 * Routing and ACLs at scale: Fastpath's route and acl stages next to DPDK's l3fwd (LPM, FIB
 * and ACL modes, built from dpdk-doc's sources) in the same run, on the same ports, traffic,
 * lcore, mbufs and burst, as ratios; then loading a million IPv4 routes and changing routes
 * live while forwarding (see lib/routing.ts for the method). Prints a table; --json prints
 * one JSON line; --write also records bench/results/<date>-routing.json and the routing
 * section of bench/README.md, keeping the rows of that day's file that were not measured
 * again (so `--rows v4-16 --write` reruns one row). Needs root (or enough free hugepages)
 * and dpdk-doc.
 *
 *   npx tsx bench/routing.ts [--rows v4-16,v6-16,v4-1m,v6-10k,acl-10k] [--duration S]
 *       [--warmup S] [--rounds N] [--no-load | --load] [--write] [--json]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { root } from './lib/forward.js';
import { measureRouting, mergeRouting, ROWS, type Row, type RoutingResults } from './lib/routing.js';
import { routingLines, routingMarkdown, updateSection } from './lib/routing-report.js';

const USAGE = `npx tsx bench/routing.ts [--rows ${ROWS.join(',')}] [--duration S] [--warmup S] [--rounds N] [--no-load | --load] [--write] [--json]
  loading and live updates run after the rows when v4-1m is among them (--no-load: not), or with --load alone (--rows '' --load)`;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: ROWS.join(',') },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    rounds: { type: 'string', default: '3' },
    'no-load': { type: 'boolean', default: false },
    load: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const rows = (values.rows === '' ? [] : values.rows.split(',')) as Row[];
for (const r of rows) if (!ROWS.includes(r)) throw new Error(`unknown row ${r}; rows: ${ROWS.join(', ')}`);
const started = Date.now();
const log = (line: string) => {
  if (!values.json) console.log(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
  else console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`);
};

const opts = { durationS: Number(values.duration), warmupS: Number(values.warmup), rounds: Number(values.rounds) };
const load = values.load || (!values['no-load'] && rows.includes('v4-1m'));
const measured = await measureRouting(rows, opts, load, log);

if (values.json) console.log(JSON.stringify(measured));
else for (const line of routingLines(measured)) console.log(line);

if (values.write) {
  const date = new Date().toISOString().slice(0, 10);
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const name = `${date}-routing.json`;
  const file = join(dir, name);
  const results = existsSync(file) ? mergeRouting(measured, JSON.parse(readFileSync(file, 'utf8')) as RoutingResults) : measured;
  writeFileSync(file, `${JSON.stringify({ date, ...results }, null, 2)}\n`);
  const readme = join(root, 'bench/README.md');
  writeFileSync(readme, updateSection(readFileSync(readme, 'utf8'), 'routing', routingMarkdown(results, date, `results/${name}`)));
  log(`wrote bench/results/${name} and the routing section of bench/README.md`);
}
