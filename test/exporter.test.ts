/**
 * examples/exporter.ts, a few lines over `serve()`: Prometheus metrics for an engine in another
 * process, and on the same port the read-only API and the dashboard; when that engine stops
 * and another of its name starts, the exporter serves the new one.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { Engine } from '@fastpath/control';

import { repoRoot, scratchDir, waitFor } from './helpers.js';

it('serves /metrics with rising port counters read from the stats segment', async () => {
  const name = `fp-exporter-${process.pid}`;
  const config = {
    ports: { a: { null: {} }, b: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [{ input: 'a', output: 'b' }],
  };
  const engine = await Engine.start(config);
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

    // An engine of the same name in another process (a supervisor's restart): served within a
    // second or two, counted from zero again.
    const file = join(scratchDir('exporter'), 'engine.json');
    writeFileSync(file, JSON.stringify(config));
    const restarted = spawn(process.execPath, [join(repoRoot, 'packages/control/bin/fastpath.js'), 'run', file], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((resolve) => restarted.on('exit', resolve));
    try {
      let text = '';
      const poll = async () => {
        text = await scrape();
        return /^fastpath_up 1$/m.test(text);
      };
      const deadline = Date.now() + 20_000;
      while (!(await poll()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(text).toMatch(/^fastpath_up 1$/m);
      const info = await (await fetch(`http://127.0.0.1:${port}/api/v1/info`)).json();
      expect(info).toMatchObject({ name, pid: restarted.pid, attached: true });
      expect(value(text, 'fastpath_port_rx_packets_total')).toBeLessThan(value(second, 'fastpath_port_rx_packets_total'));
    } finally {
      restarted.kill('SIGINT');
      await exited;
    }
  } finally {
    exporter.kill();
    if (!engine.stopped) await engine.stop();
  }
});
