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

import { repoRoot, scratchDir, startServe, waitFor } from './helpers.js';

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

interface ServerEvent {
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  /** When it arrived (ms, this process's clock). */
  at: number;
}

/**
 * Reads the event stream at `path` until `enough(events)` or the server ends it, then lets go
 * of it; the events as parsed from the text/event-stream wire format.
 */
async function readEvents(server: ServeHandle, path: string, enough: (events: ServerEvent[]) => boolean, headers: Record<string, string> = {}): Promise<ServerEvent[]> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}${path}`, { headers, signal: controller.signal });
  // (The body of a 200 never ends: read it only to show a refusal.)
  if (response.status !== 200) expect(response.status, await response.text()).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: ServerEvent[] = [];
  let text = '';
  try {
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data), at: Date.now() });
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

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
    for (const path of ['/api/v1/info', '/api/v1/stats', '/api/v1/rates', '/api/v1/config', '/api/v1/acls', '/api/v1/events', '/metrics', '/healthz', '/readyz']) expect(Object.keys(doc.paths)).toContain(path);
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

  it('GET /api/v1/config: the config the engine runs, as started', async () => {
    const response = await get(open, '/api/v1/config');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual(JSON.parse(JSON.stringify(config)));
  });

  it('an unknown route is 404 with a code', async () => {
    const response = await get(open, '/api/v1/nope');
    expect(response.status).toBe(404);
    expect(await json(response)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('openapi.json') });
  });
});

describe('the dashboard and its event stream', () => {
  it('GET / serves the page under a strict content security policy, uPlot from its npm package', async () => {
    const page = await get(open, '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/dashboard.js"></script>');
    const uplot = await get(open, '/dashboard/uPlot.esm.js');
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await uplot.text()).toMatch(/export \{ uPlot as default \}/);
    // Only the files it ships: no path reaches the file system.
    for (const path of ['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/nope.js']) expect((await get(open, path)).status, path).toBe(404);
  });

  it('GET /api/v1/events: a tick about every 100 ms with rates, busy % and the snapshot, counters rising', async () => {
    const events = await readEvents(open, '/api/v1/events', (e) => e.length >= 8);
    expect(events.map((e) => e.event)).toEqual(Array(8).fill('tick'));
    const first = events[0]!.data;
    const last = events.at(-1)!.data;
    // 7 intervals of 100 ms (the first tick is sent at once).
    const took = events.at(-1)!.at - events[0]!.at;
    expect(took).toBeGreaterThan(500);
    expect(took).toBeLessThan(2_000);
    expect(last.timeMs).toBeGreaterThan(first.timeMs);
    expect(last.rates.map((r: { name: string }) => r.name)).toEqual(['a', 'b']);
    expect(last.rates[0].rxPps).toBeGreaterThan(0);
    expect(last.busy).toEqual([{ name: '1', cpu: 0, busyPercent: expect.any(Number) }]);
    expect(last.busy[0].busyPercent).toBeGreaterThan(0);
    expect(last.busy[0].busyPercent).toBeLessThanOrEqual(100);
    expect(last.stats.name).toBe(name);
    expect(last.stats).not.toHaveProperty('memoryRuns');
    expect(Object.keys(last.stats).sort()).toEqual(Object.keys(engine.stats()).filter((k) => k !== 'memoryRuns').sort());
    expect(last.stats.ports[0].rxPackets).toBeGreaterThan(first.stats.ports[0].rxPackets);
  });

  it('with a token, the page is open (it holds no data) but its data needs the token', async () => {
    expect((await get(guarded, '/')).status).toBe(200);
    expect((await get(guarded, '/dashboard/dashboard.js')).status).toBe(200);
    for (const path of ['/api/v1/events', '/api/v1/config']) {
      const none = await get(guarded, path);
      expect(none.status, path).toBe(401);
      expect((await json(none)).code).toBe('ERR_PERMISSION');
    }
    const events = await readEvents(guarded, '/api/v1/events', (e) => e.length >= 1, bearer);
    expect(events[0]!.data.stats.name).toBe(name);
  });

  it('at most 32 event streams are open at once: the next is 429 ERR_REQUEST, and one closed makes room', async () => {
    const server = await serve(engine, { listen: '127.0.0.1:0' });
    const streams: AbortController[] = [];
    try {
      for (let i = 0; i < 32; i++) {
        const controller = new AbortController();
        streams.push(controller);
        const response = await fetch(`${server.url}/api/v1/events`, { signal: controller.signal });
        expect(response.status, `stream ${i + 1}`).toBe(200);
      }
      const refused = await get(server, '/api/v1/events');
      expect(refused.status).toBe(429);
      expect(await json(refused)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('32 event streams') });
      streams.pop()!.abort();
      // The server sees the close when it next writes (a tick: 100 ms).
      let status = 0;
      for (let tries = 0; tries < 50 && status !== 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const controller = new AbortController();
        const response = await fetch(`${server.url}/api/v1/events`, { signal: controller.signal });
        status = response.status;
        if (status === 200) streams.push(controller);
        else await response.text();
      }
      expect(status).toBe(200);
    } finally {
      for (const controller of streams) controller.abort();
      await server.close();
    }
  });

  it('closing the server ends its open event streams (close() does not wait on them)', async () => {
    const server = await serve(engine, { listen: '127.0.0.1:0' });
    const response = await fetch(`${server.url}/api/v1/events`);
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
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
    // GET /config now answers the config applied, and an engine rule refused below leaves it so.
    expect(await json(await get(open, '/api/v1/config'))).toEqual(JSON.parse(JSON.stringify(next)));
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
      const read = await get(attached, '/api/v1/config', bearer);
      expect(read.status).toBe(404);
      expect(await json(read)).toMatchObject({ code: 'ERR_READ_ONLY', message: expect.stringContaining('where the engine was started') });
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
        expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('request timeout') });
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    } finally {
      await slow.close();
    }
  });

  it('headers over 16 KiB: 431 with the error body (its code), not Fastify\'s', async () => {
    const big = await get(open, '/healthz', { 'x-pad': 'x'.repeat(20_000) });
    expect(big.status).toBe(431);
    expect(await json(big)).toMatchObject({ code: 'ERR_REQUEST', message: expect.stringContaining('headers') });
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
    const { url, child, err, exited } = await startServe(['--attach', name, '--listen', '127.0.0.1:0']);
    try {
      const snap = await (await fetch(`${url}/api/v1/stats`)).json();
      expect(snap).toMatchObject({ name, alive: true });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(err()).toBe('');
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
    // An event stream open across the stop ends with a `stopped` event; a new one is refused.
    let ticks = 0;
    const streamed = readEvents(open, '/api/v1/events', (e) => {
      ticks = e.length;
      return e.at(-1)?.event === 'stopped';
    });
    expect(await waitFor(() => ticks >= 2, 5_000)).toBe(true);
    await engine.stop();
    const events = await streamed;
    expect(events.at(-1)).toMatchObject({ event: 'stopped', data: { code: 'ERR_STOPPED' } });
    const refused = await get(open, '/api/v1/events');
    expect(refused.status).toBe(503);
    expect((await json(refused)).code).toBe('ERR_STOPPED');
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
    const { url, child, out, exited } = await startServe([file, '--listen', '127.0.0.1:0', '--token-file', tokenFile]);
    try {
      expect(out()).not.toContain('read-only');
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
