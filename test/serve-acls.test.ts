/**
 * GET /api/v1/acls over a generator's counted traffic (64,000 UDP packets, 64 flows from source
 * ports 1024-1087, 1,000 each) through three ACL stages on net_ring ports: each rule's hits and
 * each stage's unmatched packets exactly, from the stats segment; with the rules and defaults
 * of the running config in process, without them attached (`serve(StatsReader)` and
 * `fastpath serve --attach`); one stage by name or by pipeline/stage; a stage a later config
 * dropped kept with its counters.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, serve, StatsReader, type EngineConfig, type ServeHandle } from '@fastpath/control';
import type { AclRuleConfig, AclStageConfig } from '@fastpath/types';

import { scratchDir, startServe, waitFor } from './helpers.js';

const dir = scratchDir('serve-acls');
const rulesFile = join(dir, 'fw.rules');
// Line 2: UDP from 198.18.0.0/24, source ports 1040-1047, anywhere: a drop rule named line2.
writeFileSync(rulesFile, '# source ports 1040-1047\n@198.18.0.0/24 0.0.0.0/0 1040 : 1047 0 : 65535 0x11/0xff\n');

const name = `fp-serve-acls-${process.pid}`;
const PACKETS = 64_000;
const fw: AclStageConfig & { rules: AclRuleConfig[] } = {
  kind: 'acl',
  name: 'fw',
  rules: [
    { name: 'low', proto: 'udp', srcPorts: '1024-1031', action: 'drop' },
    { name: 'mid', src: '198.18.0.0/24', srcPorts: '1032-1039', action: 'count' },
    { dstPorts: 22, action: 'drop' },
  ],
};
const config: EngineConfig = {
  ports: { gen: { ring: {} }, sink: { ring: {} } },
  lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
  memory: { hugepages: false, mbufs: 16_383 },
  eal: { filePrefix: name },
  pipelines: [
    { name: 'make', generator: { flows: 64, packetSize: 64, srcIp: '198.18.0.1', dstIp: '198.19.0.1', count: PACKETS }, output: 'gen' },
    // fw drops 1024-1031 and counts 1032-1039 (which go on); stage1 drops 1040-1047.
    { name: 'filter', input: 'gen', stages: [fw, { kind: 'acl', rulesFile }], output: 'sink' },
    // Another stage named fw: the rest, dropped by a rule without fields (every IP packet).
    { name: 'arrive', input: 'sink', stages: [{ kind: 'acl', name: 'fw', rules: [{ name: 'all', action: 'drop' }], default: 'drop' }] },
  ],
};
const TOKEN = 'd'.repeat(32);
const bearer = { authorization: `Bearer ${TOKEN}` };

let engine: Engine;
let local: ServeHandle;
let attached: ServeHandle;
let reader: StatsReader;

/** A GET's status and JSON body. */
async function get(server: ServeHandle | string, path: string, headers: Record<string, string> = bearer) {
  const response = await fetch(`${typeof server === 'string' ? server : server.url}/api/v1${path}`, { headers });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

beforeAll(async () => {
  engine = await Engine.start(config);
  local = await serve(engine, { listen: '127.0.0.1:0', token: TOKEN });
  reader = StatsReader.attach(name);
  attached = await serve(reader, { listen: '127.0.0.1:0', token: TOKEN });
  // Every packet made has been through the filter, and the rest through arrive.
  const settled = () => {
    const [, filter, arrive] = engine.stats().pipelines;
    return filter!.inPackets === PACKETS && filter!.dropped + arrive!.inPackets === PACKETS && arrive!.dropped === arrive!.inPackets;
  };
  expect(await waitFor(settled, 30_000)).toBe(true);
}, 60_000);
afterAll(async () => {
  await local?.close();
  await attached?.close();
  reader?.close();
  if (engine && !engine.stopped) await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What both servers count, rule by rule: 1,000 packets a flow. */
const counted = [
  { pipeline: 'filter', name: 'fw', unmatched: 48_000, rules: [['low', 8_000], ['mid', 8_000], ['rule2', 0]] },
  { pipeline: 'filter', name: 'stage1', unmatched: 48_000, rules: [['line2', 8_000]] },
  { pipeline: 'arrive', name: 'fw', unmatched: 0, rules: [['all', 48_000]] },
] as const;
const counts = (acls: { pipeline: string; name: string; unmatched: number; rules: { name: string; hits: number }[] }[]) =>
  acls.map((a) => ({ pipeline: a.pipeline, name: a.name, unmatched: a.unmatched, rules: a.rules.map((r) => [r.name, r.hits]) }));

describe('in process', () => {
  it('lists every ACL stage: hits per rule and unmatched, with the rules and defaults of the running config', async () => {
    const { status, body } = await get(local, '/acls');
    expect(status).toBe(200);
    expect(counts(body)).toEqual(counted);
    expect(body[0]).toMatchObject({ running: true, default: 'pass', rulesFile: null });
    expect(body[0].rules.map((r: { spec: unknown }) => r.spec)).toEqual(fw.rules);
    expect(body[1]).toMatchObject({ running: true, default: 'pass', rulesFile, rules: [{ name: 'line2', spec: null }] });
    expect(body[2]).toMatchObject({ running: true, default: 'drop', rules: [{ name: 'all', spec: { name: 'all', action: 'drop' } }] });
    // The segment's numbers, as the snapshot has them.
    const filter = engine.stats().pipelines.find((p) => p.name === 'filter')!;
    expect(body[0].unmatched).toBe(filter.acls[0]!.unmatched);
    expect(filter.dropped).toBe(16_000);
  });

  it('one stage by name, or by pipeline/stage when the name is not unique; ?pipeline= filters', async () => {
    expect((await get(local, '/acls/stage1')).body).toMatchObject({ pipeline: 'filter', name: 'stage1', rules: [{ name: 'line2', hits: 8_000 }] });
    expect((await get(local, '/acls/arrive/fw')).body).toMatchObject({ pipeline: 'arrive', unmatched: 0, rules: [{ name: 'all', hits: 48_000 }] });
    expect(counts((await get(local, '/acls?pipeline=filter')).body)).toEqual(counted.slice(0, 2));
    const several = await get(local, '/acls/fw');
    expect(several).toEqual({ status: 400, body: { code: 'ERR_REQUEST', message: expect.stringContaining('/api/v1/acls/PIPELINE/fw') } });
    const none = await get(local, '/acls/filter/nope');
    expect(none).toEqual({ status: 404, body: { code: 'ERR_REQUEST', message: '"filter/nope" is not an ACL stage (ACL stages: filter/fw, filter/stage1, arrive/fw); GET /api/v1/acls lists them' } });
    expect((await get(local, '/acls', {})).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await get(local, '/openapi.json')).body;
    for (const path of ['/api/v1/acls', '/api/v1/acls/{stage}', '/api/v1/acls/{pipeline}/{stage}']) expect(Object.keys(doc.paths)).toContain(path);
    const item = doc.paths['/api/v1/acls'].get.responses['200'].content['application/json'].schema.items;
    expect(Object.keys(item.properties)).toEqual(['pipeline', 'name', 'unmatched', 'running', 'default', 'rulesFile', 'rules']);
  });
});

describe('attached', () => {
  it('serve(StatsReader): the same counters from the segment, without the config', async () => {
    const { status, body } = await get(attached, '/acls');
    expect(status).toBe(200);
    expect(counts(body)).toEqual(counted);
    for (const acl of body) {
      expect(acl).toMatchObject({ running: null, default: null, rulesFile: null });
      for (const rule of acl.rules) expect(rule.spec).toBeNull();
    }
  });

  it('fastpath serve --attach NAME answers /acls', async () => {
    const { url, child, exited } = await startServe(['--attach', name, '--listen', '127.0.0.1:0']);
    try {
      const { status, body } = await get(url, '/acls/filter/fw', {});
      expect(status).toBe(200);
      expect(counts([body])).toEqual([counted[0]]);
      expect(body.rules[0].spec).toBeNull();
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

it('after a config that drops a stage and a rule, both stay with their counters, marked', async () => {
  const next = { ...config, pipelines: [config.pipelines[0]!, { ...config.pipelines[1]!, stages: [{ ...fw, rules: fw.rules.slice(0, 2) }, { kind: 'acl', rulesFile }] }, { name: 'arrive', input: 'sink', stages: ['drop'] }] } satisfies EngineConfig;
  await engine.apply(next);
  const { body } = await get(local, '/acls');
  expect(counts(body)).toEqual(counted);
  expect(body.map((a: { running: boolean }) => a.running)).toEqual([true, true, false]);
  expect(body[0].rules.map((r: { spec: unknown }) => r.spec)).toEqual([fw.rules[0], fw.rules[1], null]);
  expect(body[2]).toMatchObject({ default: null, rules: [{ name: 'all', hits: 48_000, spec: null }] });
});
