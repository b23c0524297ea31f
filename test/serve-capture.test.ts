/**
 * GET /api/v1/capture: a live capture over HTTP as pcapng, for an engine of this process and
 * for one attached through its control socket; tcpdump reads what it streams, and the filter
 * holds. Packets need the token even on loopback.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { Engine, serve, StatsReader, type EngineConfig, type ServeHandle } from '@fastpath/control';

import { scratchDir } from './helpers.js';

const name = `fp-serve-capture-${process.pid}`;
const dir = scratchDir('serve-capture');
const config: EngineConfig = {
  ports: { out: { null: {} } },
  lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
  memory: { hugepages: false },
  eal: { filePrefix: name },
  pipelines: [{ name: 'make', generator: { flows: 64, srcIp: '198.18.0.1', dstIp: '198.19.0.1' }, output: 'out' }],
};
const TOKEN = 'd'.repeat(32);

let engine: Engine;
let local: ServeHandle;
let open: ServeHandle;
let attached: ServeHandle;
let reader: StatsReader;

beforeAll(async () => {
  engine = await Engine.start(config);
  local = await serve(engine, { listen: '127.0.0.1:0', token: TOKEN });
  open = await serve(engine, { listen: '127.0.0.1:0' });
  reader = StatsReader.attach(name);
  attached = await serve(reader, { listen: '127.0.0.1:0', token: TOKEN });
});
afterAll(async () => {
  await Promise.all([local?.close(), open?.close(), attached?.close()]);
  reader?.close();
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What tcpdump reads of a pcapng file: one line per packet. */
function tcpdump(file: string, filter: string[] = []): string[] {
  const run = spawnSync('tcpdump', ['-nn', '-r', file, ...filter], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim().split('\n').filter(Boolean);
}

it.each([
  ['in process', () => local],
  ['attached', () => attached],
])('streams a filtered capture as pcapng (%s)', async (tag, server) => {
  const response = await fetch(`${server().url}/api/v1/capture?pipeline=make&at=output&filter=${encodeURIComponent('udp and src port 1024')}&count=20`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/x-pcapng');
  const body = Buffer.from(await response.arrayBuffer());
  expect(body.readUInt32LE(0), 'a pcapng section header block').toBe(0x0a0d0d0a);
  const file = join(dir, `${tag.replace(/\W/g, '')}.pcapng`);
  writeFileSync(file, body);
  const packets = tcpdump(file);
  expect(packets).toHaveLength(20);
  // Every packet matches the filter by libpcap's own reading too.
  expect(tcpdump(file, ['udp and src port 1024'])).toHaveLength(20);
  for (const line of packets) expect(line).toMatch(/198\.18\.0\.1\.1024 > 198\.19\.0\.1\.\d+: UDP/);
}, 30_000);

it('needs the token for packets, even on loopback, and refuses a bad filter with its reason', async () => {
  // The path as sent, and spelt so that only the router's decoding makes it the capture route.
  for (const path of ['/api/v1/capture', '/api/v1/%63apture']) {
    const anonymous = await fetch(`${open.url}${path}?count=1`);
    expect(anonymous.status, path).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('ERR_PERMISSION');
  }
  const bad = await fetch(`${local.url}/api/v1/capture?filter=${encodeURIComponent('udp and and')}&count=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(bad.status).toBeGreaterThanOrEqual(400);
  expect(bad.status).toBeLessThan(500);
  const error = (await bad.json()) as { code: string; message: string };
  expect(error.message).toMatch(/udp and and/);
});
