/**
 * l3fwd: route IPv4 and IPv6 between ports by longest-prefix match, like DPDK's l3fwd in LPM
 * mode: TTL − 1 (a valid checksum), destination MAC per output port (--eth-dest, default
 * 02:00:00:00:00:<port>), source MAC the output port's own. With live stats.
 *
 *   npx tsx examples/l3fwd.ts [--routes FILE] [--eth-dest PORT,MAC]... [--vdev SPEC]... [--duration S] [--json]
 *
 * FILE is in l3fwd's format (`R198.18.0.0/24 0`: a prefix and an output port number; IPv6 the
 * same); without it, l3fwd's built-in routes for the ports given: 198.18.P.0/24 and
 * 2001:200:0:P::/64 to port P. Ports default to two net_null vdevs. Every port's packets go
 * through one table; unlike l3fwd, packets no route covers are dropped (counted as noRoute)
 * rather than sent back out of the port they came in on.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { allowedCpus, defineConfig, describeEngine, positiveNumber, runLive, startUnlessStopped, summaryJson, summaryLines, type EngineStats } from '@fastpath/control';

import { defineExample, fail, runExample } from './lib/run.js';

// Tunables.
const DEFAULT_VDEVS = ['net_null0', 'net_null1'];
const DEFAULT_DURATION_S = 10;
const MBUFS = 8191;

const L3FWD = defineExample({
  name: 'l3fwd',
  usage: 'npx tsx examples/l3fwd.ts [--routes FILE] [--eth-dest PORT,MAC]... [--vdev SPEC]... [--duration S] [--json]',
  summary: "Route between ports by longest-prefix match, like DPDK's l3fwd (LPM mode), with live stats",
  options: {
    routes: { type: 'string', value: 'FILE', help: "routes in l3fwd's format (R<prefix> <port>); default: l3fwd's built-in ones" },
    'eth-dest': { type: 'string', multiple: true, value: 'PORT,MAC', help: 'the destination MAC of packets out of port PORT (default 02:00:00:00:00:<PORT>)' },
    vdev: { type: 'string', multiple: true, value: 'SPEC', help: `a port, as EAL's --vdev, numbered from 0 in order (default ${DEFAULT_VDEVS.join(' and ')})` },
    duration: { type: 'string', default: String(DEFAULT_DURATION_S), value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    json: { type: 'boolean', default: false, help: 'end with the summary and the route counters as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
});

/** The config: every port into one route stage whose next hop `P` is port P. */
function l3fwdConfig(vdevs: string[], routesFile: string | undefined, ethDest: Map<number, string>) {
  const names = vdevs.map((spec) => spec.split(',')[0]!);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const nextHops = Object.fromEntries(names.map((port, p) => [String(p), { port, dstMac: ethDest.get(p) ?? `02:00:00:00:00:${hex(p)}` }]));
  const builtIn = names.flatMap((_, p) => [
    { prefix: `198.18.${p}.0/24`, via: String(p) },
    { prefix: `2001:200:0:${p.toString(16)}::/64`, via: String(p) },
  ]);
  const [main, worker] = allowedCpus();
  return defineConfig({
    ports: Object.fromEntries(names.map((name, p) => [name, { vdev: vdevs[p]! }])),
    lcores: { main, workers: [worker ?? main!] },
    memory: { mbufs: MBUFS },
    pipelines: [
      {
        name: 'l3fwd',
        input: names,
        // No output: the route's next hop says where each packet goes.
        stages: [{ kind: 'route', name: 'lpm', ...(routesFile === undefined ? { routes: builtIn } : { routesFile }), nextHops }],
      },
    ],
  });
}

/** The route stage's counters, as l3fwd users look for them. */
function routeCounters(last: EngineStats) {
  const lpm = last.pipelines[0]!.routes[0]!;
  const forwarded = lpm.nextHops.reduce((sum, hop) => sum + hop.forwarded, 0);
  return { forwarded, noRoute: lpm.noRoute, ttlExpired: lpm.ttlExpired, badHeader: lpm.badHeader, notIp: lpm.notIp };
}

/** What `npx tsx examples/l3fwd.ts` runs with no options. */
export default l3fwdConfig(DEFAULT_VDEVS, undefined, new Map());

const runAsScript = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));

if (runAsScript) runExample(L3FWD, async (signals, { values }) => {
  const vdevs = values.vdev ?? DEFAULT_VDEVS;
  const ethDest = new Map<number, string>();
  for (const pair of values['eth-dest'] ?? []) {
    const [port, mac] = pair.split(',');
    if (!/^\d+$/.test(port ?? '') || Number(port) >= vdevs.length || mac === undefined) fail('l3fwd', `--eth-dest takes PORT,MAC with PORT one of 0-${vdevs.length - 1}; got ${JSON.stringify(pair)}`);
    ethDest.set(Number(port), mac);
  }
  const duration = positiveNumber('--duration', values.duration, 'seconds');

  const engine = await startUnlessStopped(l3fwdConfig(vdevs, values.routes, ethDest), signals);
  if (!engine) return;
  console.log('Fastpath l3fwd');
  for (const line of describeEngine(engine.info)) console.log(line);
  const { size } = (await engine.routeTables())[0]!;
  console.log(`route table lpm: ${size.ipv4} IPv4 and ${size.ipv6} IPv6 routes`);

  const { last, seconds } = await runLive(engine, { durationS: duration, signals });
  console.log('');
  for (const line of summaryLines(engine.info, last, seconds)) console.log(line);
  if (values.json) console.log(JSON.stringify({ ...summaryJson(engine.info, last, seconds), routes: routeCounters(last) }));
});
