/**
 * l2fwd: forward between two ports (0↔1) on a poll-mode worker lcore, with live stats.
 *
 *   npx tsx examples/l2fwd.ts [--vdev SPEC --vdev SPEC] [--duration S] [--lcores MAIN,WORKER...]
 *                              [--no-huge | --huge] [--json]
 *
 * Defaults to DPDK's net_null vdevs, which make and swallow packets as fast as a core can.
 * Reads top to bottom like DPDK's skeleton/basicfwd.c: tunables, set-up, main loop, shutdown.
 */
import { parseArgs } from 'node:util';

import { allowedCpus, Engine, FastpathError, type EngineConfig, type EngineStats } from '@fastpath/control';

// Tunables.
const DEFAULT_VDEVS = ['net_null0', 'net_null1'];
const DEFAULT_DURATION_S = 10;
const REFRESH_MS = 1000;
const MBUFS = 8191;

function fail(message: string): never {
  console.error(`l2fwd: ${message}`);
  process.exit(1);
}

function options() {
  const { values } = parseArgs({
    options: {
      vdev: { type: 'string', multiple: true },
      duration: { type: 'string', default: String(DEFAULT_DURATION_S) },
      lcores: { type: 'string' },
      'no-huge': { type: 'boolean', default: false },
      huge: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const vdevs = values.vdev ?? DEFAULT_VDEVS;
  if (vdevs.length !== 2) fail(`give --vdev exactly twice (got ${vdevs.length}), e.g. --vdev net_ring0 --vdev net_ring1`);
  const duration = Number(values.duration);
  if (!(duration > 0)) fail(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
  if (values.huge && values['no-huge']) fail('--huge and --no-huge contradict each other; give one');
  // Main lcore first, then workers, as DPDK's -l: default is the first two CPUs we may use.
  const lcores = values.lcores
    ? values.lcores.split(',').map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`--lcores takes CPU ids like 0,1; got ${JSON.stringify(s)}`)))
    : allowedCpus().slice(0, 2);
  const hugepages = values.huge ? true : values['no-huge'] ? false : undefined;
  return { vdevs, duration, lcores, hugepages, json: values.json };
}

function mpps(packets: number, ns: number): string {
  return ns > 0 ? ((packets * 1e3) / ns).toFixed(2) : '0.00';
}

function printTable(now: EngineStats, before: EngineStats): void {
  const ns = now.uptimeNs - before.uptimeNs;
  for (const [i, port] of now.ports.entries()) {
    const prev = before.ports[i]!;
    console.log(
      `${(now.uptimeNs / 1e9).toFixed(0).padStart(5)}s  ${port.name.padEnd(12)}` +
        `${mpps(port.rxPackets - prev.rxPackets, ns).padStart(9)} ${mpps(port.txPackets - prev.txPackets, ns).padStart(9)}` +
        `${String(port.rxPackets).padStart(15)}${String(port.txPackets).padStart(15)}${String(port.rxDropped + port.rxMissed).padStart(11)}`,
    );
  }
}

async function main(): Promise<void> {
  const opts = options();
  const [main, ...workers] = opts.lcores;
  const config: EngineConfig = {
    ports: opts.vdevs.map((vdev) => ({ vdev })),
    lcores: { main, workers },
    memory: { hugepages: opts.hugepages, mbufs: MBUFS },
  };

  const engine = await Engine.start(config);
  const { info } = engine;
  console.log(`Fastpath l2fwd on ${info.dpdkVersion}`);
  console.log(`IOVA mode: ${info.iovaMode} (${info.hugepages ? 'hugepages' : 'no hugepages, --no-huge'})`);
  if (info.hugepagesNote) console.log(`  hugepages not used: ${info.hugepagesNote}`);
  console.log(`lcores: main ${info.mainLcore}; ${info.workers.map((w) => `worker ${w.lcore}: ${w.directions.join(', ')}`).join('; ')}`);
  console.log(`mempool: ${info.mempool.name}, ${info.mempool.capacity} mbufs of ${info.mempool.elementSize} B, cache ${info.mempool.cache}`);
  for (const p of info.ports) console.log(`port ${p.id}: ${p.name} (${p.driver}, ${p.mac}, link ${p.linkUp ? 'up' : 'down'})`);
  console.log(`\n  time  port          rx Mpps   tx Mpps       rx total       tx total      drops`);

  // Main loop: sample once a second until the duration ends or SIGINT/SIGTERM asks us to stop.
  let stopRequested = false;
  const onSignal = () => (stopRequested = true);
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  let before = engine.stats();
  const first = before;
  const deadline = Date.now() + opts.duration * 1000;
  while (!stopRequested && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(REFRESH_MS, deadline - Date.now())));
    const now = engine.stats();
    printTable(now, before);
    before = now;
  }

  // Shutdown: workers drain, ports close, EAL cleans up.
  const last = await engine.stop();
  const seconds = (last.uptimeNs - first.uptimeNs) / 1e9;
  console.log(`\nsummary over ${seconds.toFixed(1)} s:`);
  for (const p of last.ports) {
    console.log(`  ${p.name}: rx ${p.rxPackets} (${mpps(p.rxPackets, last.uptimeNs)} Mpps), tx ${p.txPackets}, dropped ${p.rxDropped}, missed ${p.rxMissed}`);
  }
  if (opts.json) {
    const lcores = [
      { id: info.mainLcore, role: 'main' },
      ...last.lcores.map((l) => ({ id: l.lcore, role: 'worker', rxPackets: l.rxPackets, txPackets: l.txPackets, dropped: l.dropped })),
    ];
    const ports = last.ports.map((p) => ({ name: p.name, rxPackets: p.rxPackets, txPackets: p.txPackets, rxDropped: p.rxDropped }));
    console.log(JSON.stringify({ iovaMode: info.iovaMode, lcores, ports, durationS: Number(seconds.toFixed(3)) }));
  }
}

main().catch((error: unknown) => {
  if (error instanceof FastpathError) fail(`${error.message} [${error.code}]`);
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) fail(error.message);
  throw error;
});
