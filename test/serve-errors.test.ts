/**
 * The error answers Fastify would otherwise give in its own shape (`{ error, message,
 * statusCode }`, no `code`): bytes Node's HTTP parser refuses (400; the 408 of a slowloris and
 * the 431 of huge headers are in serve-api.test.ts), and a request that arrives on an open
 * connection while the server closes (503). Each is the API's error body with its `code`.
 */
import { connect, type Socket } from 'node:net';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { Engine, serve } from '@fastpath/control';

const name = `fp-serve-errors-${process.pid}`;
const TOKEN = 'f'.repeat(32);
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.start({
    ports: { a: { null: {} } },
    lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [{ input: 'a', stages: ['drop'] }],
  });
});
afterAll(async () => {
  if (engine && !engine.stopped) await engine.stop();
});

/** A raw connection to `port`, and everything it receives until the server closes it. */
async function connection(port: number): Promise<{ socket: Socket; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closed };
}

/** The answers in `text`: each one's status and JSON body. */
function answers(text: string): { status: number; body: unknown }[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d+) [^\r]*\r\n(?:[^\r]+\r\n)*?content-length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n/gi)].map((m) => ({
    status: Number(m[1]),
    body: JSON.parse(text.slice(m.index + m[0].length, m.index + m[0].length + Number(m[2]))),
  }));
}

it('bytes that are not HTTP: 400 ERR_REQUEST, the connection closed', async () => {
  const server = await serve(engine, { listen: '127.0.0.1:0' });
  try {
    const { socket, closed } = await connection(server.port);
    socket.write('HELLO THERE\r\n\r\n');
    expect(answers(await closed)).toEqual([{ status: 400, body: { code: 'ERR_REQUEST', message: expect.stringContaining('not an HTTP/1.1 request') } }]);
  } finally {
    await server.close();
  }
});

it('a request on an open connection while the server closes: 503 ERR_STOPPED (the one before it answered as usual)', async () => {
  const server = await serve(engine, { listen: '127.0.0.1:0', token: TOKEN });
  const { socket, closed } = await connection(server.port);
  // Half a body keeps the connection busy, so close() waits for it rather than cutting it.
  socket.write(`PUT /api/v1/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const closing = server.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The body's end, then a second request on the same connection (no token: 503 comes first).
  socket.write('}GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n');
  const got = answers(await closed);
  await closing;
  expect(got).toEqual([
    { status: 400, body: expect.objectContaining({ code: 'ERR_CONFIG' }) },
    { status: 503, body: { code: 'ERR_STOPPED', message: expect.stringContaining('closing') } },
  ]);
  expect(engine.stats().alive).toBe(true);
});
