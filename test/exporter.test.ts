/**
 * examples/exporter.ts, a few lines over `serve()`: Prometheus metrics for an engine in another
 * process, and on the same port the read-only API and the dashboard.
 */
import { spawn } from 'node:child_process';

import { expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { repoRoot, waitFor } from './helpers.js';

it('serves /metrics with rising port counters read from the stats segment', async () => {
  const name = `fp-exporter-${process.pid}`;
  const engine = await Engine.start({
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [{ input: 'a', output: 'b' }],
  });
  const port = 19000 + (process.pid % 1000);
  const exporter = spawn(process.execPath, ['--import', 'tsx', 'examples/exporter.ts', name, '--port', String(port)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  exporter.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    expect(await waitFor(() => out.includes('serving'), 20_000)).toBe(true);
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (text: string, metric: string) => Number(new RegExp(`^${metric}\\{engine="${name}",port="a"\\} (\\d+)`, 'm').exec(text)?.[1]);
    const first = await scrape();
    expect(first).toMatch(/^fastpath_up 1$/m);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await scrape();
    expect(value(first, 'fastpath_port_rx_packets_total')).toBeGreaterThan(0);
    expect(value(second, 'fastpath_port_rx_packets_total')).toBeGreaterThan(value(first, 'fastpath_port_rx_packets_total'));
    expect(value(second, 'fastpath_port_rx_packets_per_second')).toBeGreaterThan(1e6);
    expect(second).toMatch(/# TYPE fastpath_port_rx_packets_total counter/);
    // Per queue (the driver's counts) and per lcore (poll-loop time), rising too.
    const labelled = (text: string, metric: string, labels: string) => Number(new RegExp(`^${metric}\\{engine="${name}",${labels}\\} ([\\d.e+]+)`, 'm').exec(text)?.[1]);
    const queueA = 'port="a",queue="0"';
    expect(labelled(second, 'fastpath_queue_rx_packets_total', queueA)).toBeGreaterThan(labelled(first, 'fastpath_queue_rx_packets_total', queueA));
    // net_null counts no bytes (drivers that do are checked in pcap-forward): present, a number.
    expect(labelled(second, 'fastpath_queue_rx_bytes_total', queueA)).toBeGreaterThanOrEqual(0);
    expect(labelled(second, 'fastpath_queue_tx_packets_total', 'port="b",queue="0"')).toBeGreaterThan(0);
    expect(labelled(second, 'fastpath_lcore_busy_seconds_total', 'lcore="1"')).toBeGreaterThan(labelled(first, 'fastpath_lcore_busy_seconds_total', 'lcore="1"'));
    // The rest of serve(), attached: the API names the engine and refuses changes; the dashboard is at /.
    const info = await (await fetch(`http://127.0.0.1:${port}/api/v1/info`)).json();
    expect(info).toMatchObject({ name, attached: true, ports: [{ name: 'a' }, { name: 'b' }] });
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Fastpath dashboard</title>');
    await engine.stop();
    expect(await scrape()).toMatch(/^fastpath_up 0$/m);
  } finally {
    exporter.kill();
    if (!engine.stopped) await engine.stop();
  }
});
