/**
 * Prometheus metrics for an engine, read from its stats segment (so the exporter may run in
 * any process, not only the engine's). Built on prom-client: the values are read at scrape
 * time, never cached.
 */
import { Counter, Gauge, Registry } from 'prom-client';

import { StatsReader } from './stats-reader.js';

/** Where the metrics come from: a reader, or a function that finds one (or throws). */
export type ReaderSource = StatsReader | (() => StatsReader);

/**
 * Registers Fastpath's metrics in `registry` (a new one by default) and returns it:
 * `fastpath_up`, and per port `fastpath_port_{rx,tx}_packets_total`,
 * `fastpath_port_tx_dropped_total`, `fastpath_port_unrouted_total`,
 * `fastpath_port_{rx,tx}_packets_per_second` (over the last second of samples); per queue
 * (the driver's counts) `fastpath_queue_{rx,tx}_{packets,bytes}_total`; per worker lcore
 * `fastpath_lcore_{busy,idle}_seconds_total` (poll-loop time that found work, or none).
 */
export function prometheusRegistry(source: ReaderSource, registry = new Registry()): Registry {
  const current = (): StatsReader | undefined => {
    try {
      const reader = typeof source === 'function' ? source() : source;
      return reader.alive ? reader : undefined;
    } catch {
      return undefined;
    }
  };
  const labels = ['engine', 'port'] as const;
  /** A counter over some rows of each snapshot, each row with its own labels. */
  const rows = (name: string, help: string, labelNames: string[], pick: (snap: ReturnType<StatsReader['snapshot']>) => [Record<string, string>, number][]) =>
    new Counter({
      name,
      help,
      labelNames: ['engine', ...labelNames],
      registers: [registry],
      collect() {
        this.reset();
        const reader = current();
        if (!reader) return;
        const snap = reader.snapshot();
        for (const [rowLabels, value] of pick(snap)) this.inc({ engine: snap.name, ...rowLabels }, value);
      },
    });
  /** A counter per port. */
  const counter = (name: string, help: string, pick: (p: ReturnType<StatsReader['snapshot']>['ports'][number]) => number) =>
    rows(name, help, ['port'], (snap) => snap.ports.map((p): [Record<string, string>, number] => [{ port: p.name }, pick(p)]));
  const queueRows = (pick: (q: ReturnType<StatsReader['snapshot']>['ports'][number]['queues'][number]) => number) => (snap: ReturnType<StatsReader['snapshot']>) =>
    snap.ports.flatMap((p) => p.queues.map((q): [Record<string, string>, number] => [{ port: p.name, queue: String(q.queue) }, pick(q)]));
  const lcoreRows = (cycles: 'busyCycles' | 'idleCycles') => (snap: ReturnType<StatsReader['snapshot']>) =>
    snap.lcores.filter((l) => l.tscHz > 0).map((l): [Record<string, string>, number] => [{ lcore: String(l.lcore) }, l[cycles] / l.tscHz]);
  const rate = (name: string, help: string, pick: (r: ReturnType<StatsReader['rates']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        const reader = current();
        if (!reader) return;
        for (const r of reader.rates()) this.set({ engine: reader.name, port: r.name }, pick(r));
      },
    });
  new Gauge({
    name: 'fastpath_up',
    help: 'Whether the engine is running (1) or not (0).',
    registers: [registry],
    collect() {
      this.set(current() ? 1 : 0);
    },
  });
  counter('fastpath_port_rx_packets_total', 'Packets received on the port.', (p) => p.rxPackets);
  counter('fastpath_port_tx_packets_total', 'Packets sent out of the port.', (p) => p.txPackets);
  counter('fastpath_port_tx_dropped_total', 'Packets for the port dropped at a full tx queue.', (p) => p.txDropped);
  counter('fastpath_port_unrouted_total', 'Packets received on the port that no pipeline takes.', (p) => p.rxDropped);
  rate('fastpath_port_rx_packets_per_second', 'Receive rate over the last second.', (r) => r.rxPps);
  rate('fastpath_port_tx_packets_per_second', 'Transmit rate over the last second.', (r) => r.txPps);
  rows('fastpath_queue_rx_packets_total', 'Packets the driver received on the rx queue.', ['port', 'queue'], queueRows((q) => q.rxPackets));
  rows('fastpath_queue_rx_bytes_total', 'Bytes the driver received on the rx queue.', ['port', 'queue'], queueRows((q) => q.rxBytes));
  rows('fastpath_queue_tx_packets_total', 'Packets the driver sent on the tx queue.', ['port', 'queue'], queueRows((q) => q.txPackets));
  rows('fastpath_queue_tx_bytes_total', 'Bytes the driver sent on the tx queue.', ['port', 'queue'], queueRows((q) => q.txBytes));
  rows('fastpath_lcore_busy_seconds_total', 'Poll-loop time that found packets to move.', ['lcore'], lcoreRows('busyCycles'));
  rows('fastpath_lcore_idle_seconds_total', 'Poll-loop time that found nothing.', ['lcore'], lcoreRows('idleCycles'));
  return registry;
}
