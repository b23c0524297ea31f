/**
 * l2fwd: forward between two ports (0↔1) on a poll-mode worker lcore, rewriting MACs like
 * DPDK's l2fwd (source: the output port's MAC; destination: 02:00:00:00:00:<output port>),
 * with live stats.
 *
 *   npx tsx examples/l2fwd.ts [--vdev SPEC --vdev SPEC] [--duration S] [--lcores MAIN,WORKER...]
 *                              [--no-huge | --huge] [--json]
 *
 * Defaults to DPDK's net_null vdevs, which make and swallow packets as fast as a core can.
 * Reads top to bottom like DPDK's skeleton/basicfwd.c: tunables, set-up, main loop, shutdown.
 *
 * Imported rather than run, it is a config module: its default export is the config it runs
 * with no options (`fastpath mem plan examples/l2fwd.ts`, `fastpath validate ...`).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { allowedCpus, defineConfig, describeEngine, positiveNumber, runLive, startUnlessStopped, summaryJson, summaryLines, type Flags } from '@fastpath/control';

import { defineExample, fail, runExample } from './lib/run.js';

// Tunables.
const DEFAULT_VDEVS = ['net_null0', 'net_null1'];
const DEFAULT_DURATION_S = 10;
const MBUFS = 8191;

const L2FWD = defineExample({
  name: 'l2fwd',
  usage: 'npx tsx examples/l2fwd.ts [--vdev SPEC --vdev SPEC] [--duration S] [--lcores MAIN,WORKER...] [--no-huge | --huge] [--json]',
  summary: "Forward between two ports (0↔1) on a poll-mode worker lcore, rewriting MACs like DPDK's l2fwd, with live stats",
  options: {
    vdev: { type: 'string', multiple: true, value: 'SPEC', help: `a port, as EAL's --vdev; give it twice (default ${DEFAULT_VDEVS.join(' and ')})` },
    duration: { type: 'string', default: String(DEFAULT_DURATION_S), value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    lcores: { type: 'string', value: 'MAIN,WORKER...', help: 'CPU ids, main lcore first (default: the first two this process may use)' },
    'no-huge': { type: 'boolean', default: false, help: 'run without hugepages (IOVA as VA)' },
    huge: { type: 'boolean', default: false, help: 'require hugepages (default: hugepages when the planned pages are free)' },
    json: { type: 'boolean', default: false, help: 'end with the summary as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
});

function options(values: Flags<typeof L2FWD.options>) {
  const vdevs = values.vdev ?? DEFAULT_VDEVS;
  if (vdevs.length !== 2) fail('l2fwd', `give --vdev exactly twice (got ${vdevs.length}), e.g. --vdev net_null0 --vdev net_null1`);
  const duration = positiveNumber('--duration', values.duration, 'seconds');
  if (values.huge && values['no-huge']) fail('l2fwd', '--huge and --no-huge contradict each other; give one');
  // Main lcore first, then workers, as DPDK's -l: default is the first two CPUs we may use.
  const lcores = values.lcores
    ? values.lcores.split(',').map((s) => (/^\d+$/.test(s) ? Number(s) : fail('l2fwd', `--lcores takes CPU ids like 0,1; got ${JSON.stringify(s)}`)))
    : allowedCpus().slice(0, 2);
  const hugepages = values.huge ? true : values['no-huge'] ? false : undefined;
  return { vdevs, duration, lcores, hugepages, json: values.json };
}

/** The forwarding config for two vdev specs, lcores (main first) and a hugepage choice. */
function l2fwdConfig(vdevs: string[], lcores: number[], hugepages: boolean | undefined) {
  const [a, b] = vdevs.map((spec) => spec.split(',')[0]!) as [string, string];
  const [main, ...workers] = lcores;
  return defineConfig({
    ports: { [a]: { vdev: vdevs[0]! }, [b]: { vdev: vdevs[1]! } },
    lcores: { main, workers },
    memory: { hugepages, mbufs: MBUFS },
    pipelines: [
      { name: `${a}-to-${b}`, input: a, stages: [{ kind: 'macRewrite', dst: '02:00:00:00:00:01' }], output: b },
      { name: `${b}-to-${a}`, input: b, stages: [{ kind: 'macRewrite', dst: '02:00:00:00:00:00' }], output: a },
    ],
  });
}

/** What `npx tsx examples/l2fwd.ts` runs with no options. */
export default l2fwdConfig(DEFAULT_VDEVS, allowedCpus().slice(0, 2), undefined);

// Compared as real paths: a checkout reached through a symlink must still run.
const runAsScript = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));

if (runAsScript) runExample(L2FWD, async (signals, { values }) => {
  const opts = options(values);
  const config = l2fwdConfig(opts.vdevs, opts.lcores, opts.hugepages);

  // A signal while EAL starts: the engine is stopped as soon as it is up, and nothing runs.
  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  console.log(`Fastpath l2fwd`);
  for (const line of describeEngine(engine.info)) console.log(line);

  // Main loop: a table per second until --duration ends or a signal (Ctrl-C); then shutdown.
  const { last, seconds } = await runLive(engine, { durationS: opts.duration, signals });
  console.log('');
  for (const line of summaryLines(engine.info, last, seconds)) console.log(line);
  if (opts.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
});
