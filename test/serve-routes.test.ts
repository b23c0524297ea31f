/**
 * The route tables over HTTP (`serve()`): list, page, look up, add and delete, for an engine of
 * this process and, attached (`serve(StatsReader)`), through the engine's control socket; a
 * refused change answers 400 ERR_ROUTE with each problem and changes nothing; changes always
 * need a token (reads too, once one is set).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, serve, StatsReader, type EngineConfig, type ServeHandle } from '@fastpath/control';

const name = `fp-serve-routes-${process.pid}`;
const config: EngineConfig = {
  ports: { a: { null: {} }, b: { null: {} } },
  lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
  memory: { hugepages: false },
  eal: { filePrefix: name },
  pipelines: [
    {
      name: 'ab',
      input: 'a',
      stages: [{ kind: 'route', name: 'core', routes: [{ prefix: '198.18.0.0/24', via: 'up' }], nextHops: { up: { port: 'b', dstMac: '02:00:00:00:00:01' }, side: { port: 'a', dstMac: '02:00:00:00:00:02' } } }],
      output: 'b',
    },
  ],
};
const TOKEN = 'c'.repeat(32);
const bearer = { authorization: `Bearer ${TOKEN}` };

let engine: Engine;
let local: ServeHandle;
let attached: ServeHandle;
let reader: StatsReader;

beforeAll(async () => {
  engine = await Engine.start(config);
  local = await serve(engine, { listen: '127.0.0.1:0', token: TOKEN });
  reader = StatsReader.attach(name);
  attached = await serve(reader, { listen: '127.0.0.1:0', token: TOKEN });
});
afterAll(async () => {
  await local?.close();
  await attached?.close();
  reader?.close();
  await engine?.stop();
});

/** A request's status and JSON body. */
async function call(server: ServeHandle, method: string, path: string, body?: unknown, headers: Record<string, string> = bearer) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

describe.each([
  ['in process', () => local],
  ['attached, through the control socket', () => attached],
])('%s', (_, server) => {
  it('lists the tables and pages of routes, and looks addresses up', async () => {
    const tables = await call(server(), 'GET', '/routes');
    expect(tables.status).toBe(200);
    expect(tables.body).toEqual([{ name: 'core', pipeline: 'ab', stage: 'core', size: { ipv4: 1, ipv6: 0 }, room: { ipv4: 1024, ipv6: 0 }, nextHops: ['side', 'up'], default: null }]);
    const found = await call(server(), 'GET', '/routes/core/lookup?address=198.18.0.9&address=10.0.0.1');
    expect(found.body).toEqual([
      { address: '198.18.0.9', prefix: '198.18.0.0/24', via: 'up' },
      { address: '10.0.0.1', prefix: null, via: null },
    ]);
  });

  it('adds and deletes in one change each, and refuses a bad change whole with every problem', async () => {
    const added = await call(server(), 'POST', '/routes/core', { routes: [{ prefix: '10.0.0.0/8', via: 'side' }], text: '10.1.0.0/16 up\n10.2.0.0/16 up\n' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ table: 'core', added: 3, replaced: 0, deleted: 0, size: { ipv4: 4, ipv6: 0 } });
    const page1 = await call(server(), 'GET', '/routes/core?limit=2');
    expect(page1.body).toEqual({ routes: [{ prefix: '10.0.0.0/8', via: 'side' }, { prefix: '10.1.0.0/16', via: 'up' }], next: '10.1.0.0/16' });
    const page2 = await call(server(), 'GET', `/routes/core?limit=2&after=${encodeURIComponent(page1.body.next)}`);
    expect(page2.body).toEqual({ routes: [{ prefix: '10.2.0.0/16', via: 'up' }, { prefix: '198.18.0.0/24', via: 'up' }], next: null });

    const refused = await call(server(), 'POST', '/routes/core', { routes: [{ prefix: '10.3.0.0/16', via: 'up' }, { prefix: '10.4.0.1/16', via: 'down' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('ERR_ROUTE');
    expect(refused.body.problems).toEqual([
      'routes[1].prefix: "10.4.0.1/16" has host bits set; write 10.4.0.0/16',
      'routes[1].via: "down" is not a next hop of this table (nextHops: side, up); next hops change with the config',
    ]);
    const deleted = await call(server(), 'DELETE', '/routes/core', { prefixes: ['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16'] });
    expect(deleted.body).toMatchObject({ deleted: 3, size: { ipv4: 1, ipv6: 0 } });
    const unknown = await call(server(), 'GET', '/routes/edge');
    expect(unknown).toEqual({ status: 400, body: { code: 'ERR_ROUTE', message: '"edge" is not a route table (tables: core)', problems: ['"edge" is not a route table (tables: core)'] } });
  });
});

it('refuses route calls without the token, and a change without one even on loopback', async () => {
  expect((await call(local, 'GET', '/routes', undefined, {})).status).toBe(401);
  const open = await serve(engine, { listen: '127.0.0.1:0' });
  try {
    expect((await call(open, 'GET', '/routes', undefined, {})).status).toBe(200);
    const change = await call(open, 'POST', '/routes/core', { routes: [{ prefix: '10.0.0.0/8', via: 'up' }] }, {});
    expect(change.status).toBe(401);
    expect(change.body.code).toBe('ERR_PERMISSION');
  } finally {
    await open.close();
  }
  expect((await call(local, 'GET', '/routes/core')).body.routes).toEqual([{ prefix: '198.18.0.0/24', via: 'up' }]);
});
