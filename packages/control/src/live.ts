/**
 * What the demo and `fastpath run` print: the engine's layout at start, a per-port table
 * every second, a summary, and the one-line JSON result.
 */
import type { AclStats, EngineInfo, EngineStats, PortStats } from '@fastpath/types';

import { paceWarnings } from './counters.js';
import type { Engine } from './engine.js';
import { watchSignals, type SignalWatch } from './signals.js';

/** Bytes as MiB (one decimal), or KiB below a MiB: page sizes read as 4 KiB, not 0.0 MiB. */
export function formatSize(bytes: number): string {
  return bytes >= 2 ** 20 || bytes === 0 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes / 1024} KiB`;
}

/** Lines describing a started engine: DPDK, IOVA mode, lcore → queue map, mempool, ports. */
export function describeEngine(info: EngineInfo): string[] {
  const lines = [
    `DPDK: ${info.dpdkVersion}`,
    `IOVA mode: ${info.iovaMode} (${info.hugepages ? 'hugepages' : 'no hugepages, --no-huge'})`,
  ];
  if (info.hugepagesNote) lines.push(`  hugepages not used: ${info.hugepagesNote}`);
  for (const note of info.notes) lines.push(`note: ${note}`);
  lines.push(`lcores: main ${info.mainLcore}`);
  for (const w of info.workers) {
    const owns = [...w.rxQueues.map((q) => `rx ${q}`), ...w.generators.map((g) => `generator ${g}`)];
    lines.push(`  worker lcore ${w.lcore} (cpu ${w.cpu}): ${owns.join(', ') || 'idle'}`);
  }
  lines.push(`mempool: ${info.mempool.name}, ${info.mempool.capacity} mbufs of ${info.mempool.elementSize} B, cache ${info.mempool.cache}`);
  const m = info.memory;
  const heap = m.heaps.reduce((sum, h) => ({ total: sum.total + h.totalBytes, allocated: sum.allocated + h.allocatedBytes }), { total: 0, allocated: 0 });
  lines.push(
    `memory: ${formatSize(m.bytes)} in ${m.segments} page(s) of ${formatSize(m.pageSize)}, ${m.runs.length} IOVA-contiguous run(s) ` +
      `(largest ${formatSize(Math.max(0, ...m.runs.map((r) => r.bytes)))}), heap ${formatSize(heap.allocated)} used of ${formatSize(heap.total)} (planned ${formatSize(m.plan.heapPages * m.plan.pageSize)})`,
  );
  // The plan is checked against the heap: more than planned means EAL had to grow it.
  if (info.hugepages && heap.total > m.plan.heapPages * m.plan.pageSize) {
    lines.push(`  note: the heap grew ${formatSize(heap.total - m.plan.heapPages * m.plan.pageSize)} past the memory plan (fastpath mem plan under-counted this config)`);
  }
  for (const p of info.ports) {
    lines.push(
      `port ${p.id} ${p.name}: ${p.device} (${p.driver}, ${p.mac}, link ${p.linkUp ? 'up' : 'down'}, ` +
        `${p.rxQueues} rx / ${p.txQueues} tx queues${p.rss ? ', RSS' : ''})`,
    );
  }
  return lines;
}

const mpps = (packets: number, ns: number) => (ns > 0 ? ((packets * 1e3) / ns).toFixed(2) : '0.00');

/** The table header matching {@link statsRows}. */
export const STATS_HEADER = `  time  port          rx Mpps   tx Mpps       rx total       tx total      drops`;

/** What a port lost: tx queue full, link down at tx, device missed, no mbuf for rx, no pipeline takes it. */
export function portDrops(port: PortStats): number {
  return port.txDropped + (port.txLinkDown ?? 0) + port.rxMissed + port.rxNombuf + port.unrouted;
}

/** One row per port: rates since `before`, totals, drops ({@link portDrops}); `(down)` after a port whose link is down. */
export function statsRows(now: EngineStats, before: EngineStats): string[] {
  const ns = now.uptimeNs - before.uptimeNs;
  return now.ports.map((port, i) => {
    const prev = before.ports[i]!;
    const drops = portDrops(port);
    return (
      `${(now.uptimeNs / 1e9).toFixed(0).padStart(5)}s  ${`${port.name}${port.linkUp === 0 ? ' (down)' : ''}`.padEnd(12)}` +
      `${mpps(port.rxPackets - prev.rxPackets, ns).padStart(9)} ${mpps(port.txPackets - prev.txPackets, ns).padStart(9)}` +
      `${String(port.rxPackets).padStart(15)}${String(port.txPackets).padStart(15)}${String(drops).padStart(11)}`
    );
  });
}

export interface LiveOptions {
  /** Seconds to run (stops early on SIGINT/SIGTERM/SIGHUP); Infinity runs until a signal. */
  durationS: number;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
  /** Milliseconds between table refreshes (default 1000). */
  intervalMs?: number;
  /**
   * The program's signal watch, opened before Engine.start (see signals.ts). Without one,
   * runLive opens its own for the run and closes it once the engine has stopped.
   */
  signals?: SignalWatch;
}

/**
 * Prints the table every interval for `durationS` seconds, or until a signal (which only
 * sets a flag; the run ends at once, not at the next refresh) or a worker fails, then stops
 * the engine. Returns the final counters and how long the workers ran while watched. The
 * engine is stopped on every way out, an error included.
 */
export async function runLive(engine: Engine, options: LiveOptions): Promise<{ last: EngineStats; seconds: number }> {
  const print = options.print ?? ((line: string) => console.log(line));
  const interval = options.intervalMs ?? 1000;
  const signals = options.signals ?? watchSignals();
  try {
    print('');
    print(STATS_HEADER);
    const first = engine.stats();
    let before = first;
    const deadline = Date.now() + options.durationS * 1000;
    while (!signals.requested && Date.now() < deadline) {
      await signals.sleep(Math.min(interval, deadline - Date.now()));
      const now = engine.stats();
      for (const row of statsRows(now, before)) print(row);
      before = now;
      // A failed worker ends the run: stop() then releases everything and rejects with
      // ERR_LCORE carrying the failure.
      if (now.failure) break;
    }
    const last = await engine.stop();
    return { last, seconds: (last.uptimeNs - first.uptimeNs) / 1e9 };
  } catch (error) {
    // Whatever went wrong here, the engine's files and EAL must not outlive the run.
    if (!engine.stopped) await engine.stop().catch(() => undefined);
    throw error;
  } finally {
    if (options.signals === undefined) signals.close();
  }
}

/** Summary lines after a run. */
/** Why ports of a driver may receive nothing, by driver name as DPDK reports it. */
const SILENT_DRIVERS: Record<string, string> = {
  net_ring: 'a ring port (net_ring) returns only what is sent into it: feed it from a generator pipeline (examples/generator.ts) or use null ports (--vdev net_null0), which always have packets',
  net_pcap: 'a pcap port replays its rx file once: check that the file has packets',
  net_af_packet: 'an af_packet port sees what reaches its interface: send traffic to it (ping, iperf3)',
  net_tap: 'a tap port sees what the kernel sends to its interface: bring it up and send traffic to it',
};

/** An ACL's busiest rules (an ACL may have thousands) and what no rule matched. */
function aclHits(acl: AclStats, shown = 5): string {
  const busiest = acl.aclRules.filter((r) => r.hits > 0).sort((a, b) => b.hits - a.hits);
  const hits = busiest.slice(0, shown).map((r) => `${r.name} ${r.hits}`);
  if (busiest.length > shown) hits.push(`${busiest.length - shown} more rules hit`);
  return `${hits.length > 0 ? `${hits.join(', ')}; ` : ''}no rule ${acl.unmatched}`;
}

/**
 * The summary of a run. A run in which no port received a packet and nothing was generated
 * says why that may be, by the ports' drivers.
 */
export function summaryLines(info: EngineInfo, last: EngineStats, seconds: number): string[] {
  const lines = [`summary over ${seconds.toFixed(1)} s:`];
  for (const p of last.ports) {
    lines.push(
      `  ${p.name}: rx ${p.rxPackets} (${mpps(p.rxPackets, last.uptimeNs)} Mpps), tx ${p.txPackets}, ` +
        `tx dropped ${p.txDropped}, ${p.txLinkDown ? `tx link down ${p.txLinkDown}, ` : ''}rx missed ${p.rxMissed}, rx no mbuf ${p.rxNombuf}, unrouted ${p.unrouted}`,
    );
  }
  for (const p of last.pipelines) {
    const rules = p.rules.map((r) => `${r.name} ${r.matched}`).join(', ');
    lines.push(`  pipeline ${p.name}: in ${p.inPackets}, out ${p.outPackets}, dropped ${p.dropped}${p.generated ? `, generated ${p.generated}` : ''}${rules ? `; ${rules}` : ''}`);
    for (const acl of p.acls ?? []) lines.push(`    acl ${acl.name}: ${aclHits(acl)}`);
  }
  for (const warning of paceWarnings(last)) lines.push(`  ${warning}`);
  if (last.mempool.drySamples > 0) {
    lines.push(`  the packet pool ran dry in ${last.mempool.drySamples} of the 10 ms samples (receiving and generating stalled): raise memory.mbufs`);
  }
  const quiet = last.ports.every((p) => p.rxPackets === 0) && last.pipelines.every((p) => !p.generated);
  if (quiet) {
    const drivers = [...new Set(info.ports.map((p) => p.driver))];
    const why = drivers.map((d) => SILENT_DRIVERS[d] ?? `check that traffic reaches the ${d} port(s)`);
    lines.push(`  no port received a packet: ${why.join('; ')}`);
  }
  return lines;
}

/**
 * The run's result as one JSON-ready object (the last line of `--json` output): the
 * segment's own names for every count.
 */
export function summaryJson(info: EngineInfo, last: EngineStats, seconds: number) {
  return {
    iovaMode: info.iovaMode,
    lcores: [
      { id: info.mainLcore, role: 'main' },
      ...last.lcores.map((l) => ({ id: Number(l.name), role: 'worker', rxPackets: l.rxPackets, txPackets: l.txPackets, txDropped: l.txDropped })),
    ],
    ports: last.ports.map((p) => ({
      name: p.name,
      rxPackets: p.rxPackets,
      txPackets: p.txPackets,
      txDropped: p.txDropped,
      txLinkDown: p.txLinkDown ?? 0,
      unrouted: p.unrouted,
      rxMissed: p.rxMissed,
      rxNombuf: p.rxNombuf,
    })),
    pipelines: last.pipelines.map((p) => ({
      name: p.name,
      inPackets: p.inPackets,
      outPackets: p.outPackets,
      dropped: p.dropped,
      generated: p.generated,
      rules: p.rules,
    })),
    mempool: { drySamples: last.mempool.drySamples },
    durationS: Number(seconds.toFixed(3)),
  };
}
