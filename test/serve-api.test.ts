/**
 * `serve()` and `fastpath serve`: every route of the HTTP API against an engine in this
 * process (null ports, its worker on CPU 0), auth on and off, and the requests it refuses.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, serve, StatsReader, type EngineConfig, type EngineStats, type ServeHandle } from '@fastpath/control';

import { repoRoot, scratchDir, waitFor } from './helpers.js';

const name = `fp-serve-${process.pid}`;
const config: EngineConfig = {
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
  memory: { hugepages: false },
  eal: { filePrefix: name },
  pipelines: [
    { name: 'ab', input: 'a', output: 'b' },
    { name: 'ba', input: 'b', output: 'a' },
  ],
};
const TOKEN = 'a'.repeat(8) + 'b'.repeat(24);

let engine: Engine;
let open: ServeHandle;
let guarded: ServeHandle;
let tokenFile: string;

const get = async (server: ServeHandle, path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });
const put = async (server: ServeHandle, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
/** A response's JSON, loosely typed: the test checks its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (response: Response): Promise<any> => response.json();
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  engine = await Engine.start(config);
  tokenFile = join(scratchDir('serve'), 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  open = await serve(engine, { listen: '127.0.0.1:0' });
  guarded = await serve(engine, { listen: '127.0.0.1:0', tokenFile });
});

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  if (engine && !engine.stopped) await engine.stop();
});

describe('reads', () => {
  it('binds the port it was given (0: a free one) on loopback', () => {
    expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(open.port).toBeGreaterThan(0);
  });

  it('GET /api/v1/info: IOVA mode, lcores, ports, memory map', async () => {
    const response = await get(open, '/api/v1/info');
    expect(response.status).toBe(200);
    const info = await json(response);
    expect(info.name).toBe(name);
    expect(info.iovaMode).toBe(engine.iovaMode);
    expect(info.lcores.workers).toEqual([expect.objectContaining({ lcore: 1, cpu: 0 })]);
    expect(info.ports.map((p: { name: string }) => p.name)).toEqual(['a', 'b']);
    expect(info.memory.runs.length).toBeGreaterThan(0);
    expect(info.memory.bytes).toBeGreaterThan(0);
  });

  it('GET /api/v1/stats: the snapshot, field for field, with rising counters', async () => {
    const first = (await json(await get(open, '/api/v1/stats'))) as EngineStats;
    expect(Object.keys(first).sort()).toEqual(Object.keys(JSON.parse(JSON.stringify(engine.stats()))).sort());
    expect(first.name).toBe(name);
    // Nothing stripped below the top level either (the response schema is loose).
    const local = engine.stats();
    for (const pick of [(s: EngineStats) => s.ports[0], (s: EngineStats) => s.pipelines[0], (s: EngineStats) => s.lcores[0], (s: EngineStats) => s.memory, (s: EngineStats) => s.mempool]) {
      expect(Object.keys(pick(first)!).sort()).toEqual(Object.keys(pick(local)!).sort());
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = (await json(await get(open, '/api/v1/stats'))) as EngineStats;
    expect(second.ports[0]!.rxPackets).toBeGreaterThan(first.ports[0]!.rxPackets);
  });

  it('GET /api/v1/rates: per-port rates from the sample ring', async () => {
    const rates = await json(await get(open, '/api/v1/rates?windowMs=500'));
    expect(rates.map((r: { name: string }) => r.name)).toEqual(['a', 'b']);
    expect(rates[0].rxPps).toBeGreaterThan(0);
    const bad = await get(open, '/api/v1/rates?windowMs=-3');
    expect(bad.status).toBe(400);
    expect((await json(bad)).code).toBe('ERR_REQUEST');
  });

  it('GET /metrics: the Prometheus registry', async () => {
    const response = await get(open, '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(new RegExp(`^fastpath_port_rx_packets_total\\{engine="${name}",port="a"\\} [1-9]`, 'm'));
  });

  it('GET /api/v1/openapi.json lists the routes, with the config schema as the PUT body', async () => {
    const doc = await json(await get(open, '/api/v1/openapi.json'));
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/v1/info', '/api/v1/stats', '/api/v1/rates', '/api/v1/config', '/metrics', '/healthz', '/readyz']) expect(Object.keys(doc.paths)).toContain(path);
    const body = doc.paths['/api/v1/config'].put.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['ports', 'lcores', 'pipelines']));
    // Typed answers: the rates and the error body every route may give.
    expect(Object.keys(doc.paths['/api/v1/rates'].get.responses['200'].content['application/json'].schema.items.properties)).toEqual(['name', 'rxPps', 'txPps', 'dropPps']);
    expect(doc.paths['/api/v1/config'].put.responses['409'].content['application/json'].schema.required).toEqual(['code', 'message']);
  });

  it('GET /healthz and /readyz', async () => {
    expect(await json(await get(open, '/healthz'))).toEqual({ ok: true });
    expect(await json(await get(open, '/readyz'))).toEqual({ ready: true });
  });

  it('an unknown route is 404 with a code', async () => {
    const response = await get(open, '/api/v1/nope');
    expect(response.status).toBe(404);
    expect(await json(response)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('openapi.json') });
  });
});

describe('PUT /api/v1/config', () => {
  it('is refused without a token configured: 401, saying how to enable it', async () => {
    const response = await put(open, '/api/v1/config', config);
    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'ERR_PERMISSION', message: expect.stringContaining('--token-file') });
  });

  it('applies a valid change live', async () => {
    const dropped = () => engine.stats().pipelines.find((p) => p.name === 'ba')!.dropped;
    expect(dropped()).toBe(0);
    const next = { ...config, pipelines: [config.pipelines[0]!, { name: 'ba', input: 'b', stages: ['drop'] }] };
    const response = await put(guarded, '/api/v1/config', next, bearer);
    expect(response.status, await response.clone().text()).toBe(200);
    expect((await json(response)).generation).toBeGreaterThan(0);
    expect(await waitFor(() => dropped() > 0, 5_000)).toBe(true);
  });

  it('a config breaking an engine rule: 400 ERR_CONFIG with the path', async () => {
    const response = await put(guarded, '/api/v1/config', { ...config, pipelines: [{ name: 'ab', input: 'nowhere', output: 'b' }, config.pipelines[1]!] }, bearer);
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.code).toBe('ERR_CONFIG');
    expect(body.problems).toEqual([expect.stringMatching(/^pipelines\[0\]\.input: /)]);
  });

  it('wrong types: 400 ERR_CONFIG naming each path', async () => {
    const response = await put(guarded, '/api/v1/config', { ...config, lcores: { workers: 'one' }, pipelines: 7 }, bearer);
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.code).toBe('ERR_CONFIG');
    expect(body.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^lcores\.workers: /), expect.stringMatching(/^pipelines: /)]));
  });

  it('a ports change: 409 ERR_NEEDS_RESTART, the engine unchanged', async () => {
    const response = await put(guarded, '/api/v1/config', { ...config, ports: { ...config.ports, c: { null: {} } } }, bearer);
    expect(response.status).toBe(409);
    expect((await json(response)).code).toBe('ERR_NEEDS_RESTART');
    expect(engine.stats().ports.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('a body over 1 MiB: 413; not JSON: 415; unparsable: 400; too deep: 400', async () => {
    const big = await put(guarded, '/api/v1/config', JSON.stringify({ ...config, pad: 'x'.repeat(1024 * 1024) }), bearer);
    expect(big.status).toBe(413);
    expect((await json(big)).code).toBe('ERR_REQUEST');
    const text = await fetch(`${guarded.url}/api/v1/config`, { method: 'PUT', headers: { 'content-type': 'text/plain', ...bearer }, body: 'ports' });
    expect(text.status).toBe(415);
    const broken = await put(guarded, '/api/v1/config', '{"ports": ', bearer);
    expect(broken.status).toBe(400);
    expect((await json(broken)).code).toBe('ERR_REQUEST');
    const deep = await put(guarded, '/api/v1/config', `{"ports":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, bearer);
    expect(deep.status).toBe(400);
    expect(await json(deep)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('deeper') });
    // Nearly 1 MiB of nesting: parsed and refused without recursion (no stack overflow, no 500).
    const deepest = await put(guarded, '/api/v1/config', `{"ports":${'['.repeat(500_000)}${']'.repeat(500_000)}}`, bearer);
    expect(deepest.status).toBe(400);
    expect((await json(deepest)).code).toBe('ERR_REQUEST');
    // None of it disturbed the engine.
    expect(engine.stats().alive).toBe(true);
  });

  it('attached to a reader: 405 ERR_READ_ONLY, saying where to change it', async () => {
    const attached = await serve(StatsReader.open(engine.info.statsPath), { listen: '127.0.0.1:0', token: TOKEN });
    try {
      const response = await put(attached, '/api/v1/config', config, bearer);
      expect(response.status).toBe(405);
      expect(await json(response)).toMatchObject({ code: 'ERR_READ_ONLY', message: expect.stringContaining('process that started') });
      const info = await json(await get(attached, '/api/v1/info', bearer));
      expect(info).toMatchObject({ name, attached: true, iovaMode: engine.iovaMode });
      expect(info.ports.map((p: { name: string }) => p.name)).toEqual(['a', 'b']);
    } finally {
      await attached.close();
    }
  });
});

describe('hostile clients', () => {
  it('a slowloris client is cut off after the request timeout, and others are served meanwhile', async () => {
    const slow = await serve(engine, { listen: '127.0.0.1:0', requestTimeoutMs: 1_000 });
    try {
      const socket = connect(slow.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
      const started = Date.now();
      socket.write('GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n');
      // One header byte every 100 ms: never finishing the request, never idle.
      const trickle = setInterval(() => socket.writable && socket.write('X'), 100);
      try {
        expect(await json(await get(slow, '/healthz'))).toEqual({ ok: true });
        const at = await closed;
        expect(at - started).toBeLessThan(4_000);
        expect(answer).toMatch(/^HTTP\/1\.1 408/);
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    } finally {
      await slow.close();
    }
  });
});

describe('auth', () => {
  it('with a token, every route but /healthz needs it', async () => {
    for (const path of ['/api/v1/info', '/api/v1/stats', '/api/v1/rates', '/api/v1/openapi.json', '/metrics', '/readyz']) {
      const none = await get(guarded, path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await json(none)).code).toBe('ERR_PERMISSION');
      expect((await get(guarded, path, { authorization: `Bearer ${TOKEN}x` })).status, path).toBe(401);
      expect((await get(guarded, path, bearer)).status, path).toBe(200);
    }
    expect((await get(guarded, '/healthz')).status).toBe(200);
  });

  it('refuses a token file others can read, and a non-loopback listen without a token', async () => {
    const loose = join(scratchDir('serve'), 'token');
    writeFileSync(loose, TOKEN);
    chmodSync(loose, 0o644);
    await expect(serve(engine, { listen: '127.0.0.1:0', tokenFile: loose })).rejects.toThrow(/chmod 600/);
    await expect(serve(engine, { listen: '0.0.0.0:0' })).rejects.toMatchObject({ code: 'ERR_PERMISSION', message: expect.stringContaining('--token-file') });
    await expect(serve(engine, { listen: 'nowhere' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});

describe('fastpath serve', () => {
  const cli = join(repoRoot, 'packages/control/bin/fastpath.js');

  it('--attach NAME serves the engine of another process, prints its URL, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [cli, 'serve', '--attach', name, '--listen', '127.0.0.1:0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      expect(await waitFor(() => /serving .* on http:\/\/127\.0\.0\.1:\d+/.test(out), 20_000), err).toBe(true);
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const snap = await (await fetch(`${url}/api/v1/stats`)).json();
      expect(snap).toMatchObject({ name, alive: true });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(err).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--listen 0.0.0.0 without --token-file is refused, saying what to do', async () => {
    const child = spawn(process.execPath, [cli, 'serve', '--attach', name, '--listen', '0.0.0.0:0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/--token-file/);
  });
});

describe('once the engine has stopped', () => {
  it('/readyz and /stats answer 503 ERR_STOPPED, /metrics says fastpath_up 0, /healthz still answers', async () => {
    await engine.stop();
    const ready = await get(open, '/readyz');
    expect(ready.status).toBe(503);
    expect((await json(ready)).code).toBe('ERR_STOPPED');
    const stats = await get(open, '/api/v1/stats');
    expect(stats.status).toBe(503);
    expect((await json(stats)).code).toBe('ERR_STOPPED');
    expect(await (await get(open, '/metrics')).text()).toMatch(/^fastpath_up 0$/m);
    expect((await get(open, '/healthz')).status).toBe(200);
  });

  it('fastpath serve CONFIG starts its engine, changes it live with a token, and stops it on SIGTERM', async () => {
    const dir = scratchDir('serve-cli');
    const own = `fp-serve-cli-${process.pid}`;
    const file = join(dir, 'engine.json');
    writeFileSync(file, JSON.stringify({ ...config, eal: { filePrefix: own } }));
    const cli = join(repoRoot, 'packages/control/bin/fastpath.js');
    const child = spawn(process.execPath, [cli, 'serve', file, '--listen', '127.0.0.1:0', '--token-file', tokenFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      expect(await waitFor(() => /on http:\/\/127\.0\.0\.1:\d+/.test(out), 30_000), err).toBe(true);
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      expect(out).not.toContain('read-only');
      const change = { ...config, eal: { filePrefix: own }, pipelines: [config.pipelines[0]!, { name: 'ba', input: 'b', stages: ['drop'] }] };
      const response = await fetch(`${url}/api/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json', ...bearer }, body: JSON.stringify(change) });
      expect(response.status).toBe(200);
      const dropped = async () => (await json(await fetch(`${url}/api/v1/stats`, { headers: bearer }))).pipelines.find((p: { name: string }) => p.name === 'ba').dropped;
      const start = await dropped();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await dropped()).toBeGreaterThan(start);
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(StatsReader.list().filter((e) => e.name === own)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
