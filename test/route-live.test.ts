/**
 * Live route tables: the route API (`engine.routes(…)`, the control socket, `fastpath
 * routes`) against a model of what it should hold, while the generator's traffic is routed.
 *
 * - fast-check: random batches of adds and deletes, some with a bad item, over a small set of
 *   nested prefixes (so that batches collide): a good batch changes the table as the model
 *   says, a bad one (ERR_ROUTE, its item named) changes nothing; after each, `list()` is the
 *   model and lookups agree with the model's longest-prefix match.
 * - Another process: `fastpath routes` adds a route file, shows, looks up, deletes, and names
 *   a bad file's lines; `ControlClient` streams the table.
 * - apply(): a config whose route stage is unchanged keeps the routes added live; a changed
 *   stage starts from its config's.
 * - Under traffic: 10,000 route changes, every version of the table routing the traffic to
 *   one of two next hops: no packet is lost or sent elsewhere (exact accounting at stop; no
 *   test before it leaves the traffic's /24 unrouted or routes it to z).
 * (An engine of its own: EAL runs once per process.)
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ControlClient, Engine, FastpathError, type EngineConfig, type Route } from '@fastpath/control';

import { runCli, scratchDir, waitFor } from './helpers.js';

const dir = scratchDir('route-live');
const name = `route-live-${process.pid}`;
const routesFile = join(dir, 'routes.l3fwd');
// l3fwd's format: the port numbers name next hops '0' and '1'; a plain line names z.
writeFileSync(routesFile, '# from l3fwd\nR198.18.0.0/24 0\nR2001:db8:ffff::/48 1\n203.0.113.0/24 z\n');

function config(defaultHop?: string): EngineConfig {
  return {
    ports: { out: { null: {} } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    eal: { filePrefix: name },
    pipelines: [
      {
        name: 'gen',
        generator: { dstIp: '198.18.0.1', flows: 200 },
        stages: [
          {
            kind: 'route',
            name: 'core',
            routes: [{ prefix: '192.0.2.0/24', via: 'z' }],
            routesFile,
            nextHops: {
              '0': { port: 'out', dstMac: '02:00:00:00:00:00' },
              '1': { port: 'out', dstMac: '02:00:00:00:00:01' },
              z: { port: 'out', dstMac: '02:00:00:00:00:0f' },
            },
            maxRoutes: { ipv4: 4096, ipv6: 4096 },
            ...(defaultHop === undefined ? {} : { default: defaultHop }),
          },
        ],
        output: 'out',
      },
    ],
  };
}

const CONFIG_ROUTES: Route[] = [
  { prefix: '192.0.2.0/24', via: 'z' },
  { prefix: '198.18.0.0/24', via: '0' },
  { prefix: '203.0.113.0/24', via: 'z' },
  { prefix: '2001:db8:ffff::/48', via: '1' },
];

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.start(config());
});
afterAll(async () => {
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const all = async (table = engine.routes('core')) => {
  const routes: Route[] = [];
  for await (const r of table.list({ pageSize: 7 })) routes.push(r);
  return routes;
};

// ---- the model: prefixes as (family, value, length), longest match by masking ----

const v4 = (t: string) => t.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n);
const v4Text = (a: bigint) => [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 0xffn)).join('.');
const v6Text = (a: bigint) => Array.from({ length: 8 }, (_, i) => ((a >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
const v6 = (t: string) => {
  const [head, tail = ''] = t.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const groups = [...parts(head!), ...Array(8 - parts(head!).length - parts(tail).length).fill('0'), ...parts(tail)];
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
};
const parse = (prefix: string) => {
  const [addr, len] = prefix.split('/') as [string, string];
  const six = addr.includes(':');
  return { six, value: six ? v6(addr) : v4(addr), len: Number(len) };
};
/** The canonical text the engine prints (IPv6 compressed as Rust's Display does it). */
const canonical = (six: boolean, value: bigint, len: number) => {
  if (!six) return `${v4Text(value)}/${len}`;
  return `${new URL(`http://[${v6Text(value)}]`).hostname.slice(1, -1)}/${len}`;
};

class Model {
  readonly routes = new Map<string, string>();
  constructor(routes: Route[]) {
    for (const r of routes) this.routes.set(r.prefix, r.via);
  }
  lookup(address: string): { prefix: string | null; via: string | null } {
    const six = address.includes(':');
    const bits = six ? 128 : 32;
    const value = six ? v6(address) : v4(address);
    for (let len = bits; len >= 0; len--) {
      const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - len)) - 1n);
      const p = canonical(six, value & mask, len);
      const via = this.routes.get(p);
      if (via !== undefined) return { prefix: p, via };
    }
    return { prefix: null, via: null };
  }
  sorted(): Route[] {
    return [...this.routes]
      .map(([prefix, via]) => ({ prefix, via, ...parse(prefix) }))
      .sort((a, b) => Number(a.six) - Number(b.six) || (a.value < b.value ? -1 : a.value > b.value ? 1 : a.len - b.len))
      .map(({ prefix, via }) => ({ prefix, via }));
  }
}

// A small universe of nested prefixes, so that random batches collide.
const UNIVERSE = [
  '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.128/25', '10.1.2.200/32', '10.1.3.0/24', '10.200.0.0/13', '0.0.0.0/0',
  '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8:1:2::7/128', '::/0',
];
const ADDRESSES = ['10.1.2.200', '10.1.2.201', '10.1.2.5', '10.1.3.9', '10.9.9.9', '10.203.0.1', '11.0.0.1', '198.18.0.77', '2001:db8:1:2::7', '2001:db8:1:2::8', '2001:db8:1:3::1', '2001:db8:2::1', '2002::1'];

describe('the route API', () => {
  it('agrees with a model over random batches, refusing bad ones whole', async () => {
    const table = engine.routes('core');
    const hop = fc.constantFrom('0', '1', 'z');
    const good = fc.oneof(
      fc.record({ add: fc.uniqueArray(fc.record({ prefix: fc.constantFrom(...UNIVERSE), via: hop }), { selector: (r) => r.prefix, minLength: 1, maxLength: 5 }) }),
      fc.record({ del: fc.uniqueArray(fc.constantFrom(...UNIVERSE), { minLength: 1, maxLength: 3 }) }),
    );
    const bad = fc.constantFrom(
      { item: { prefix: '10.1.2.1/24', via: '0' }, says: 'routes[1].prefix: "10.1.2.1/24" has host bits set; write 10.1.2.0/24' },
      { item: { prefix: '10.1.0.0/16', via: 'nowhere' }, says: 'routes[1].via: "nowhere" is not a next hop of this table (nextHops: 0, 1, z)' },
      { item: { prefix: '300.1.0.0/16', via: '1' }, says: 'routes[1].prefix:' },
    );
    const model = new Model(await all(table));
    expect(model.sorted()).toEqual(CONFIG_ROUTES);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 }), { maxLength: 12 }), async (ops) => {
        for (const op of ops) {
          if ('says' in op) {
            const before = await all(table);
            const error = await table.add([{ prefix: '10.77.0.0/16', via: '0' }, op.item]).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(FastpathError);
            expect((error as FastpathError).code).toBe('ERR_ROUTE');
            expect((error as FastpathError).message).toContain(op.says);
            expect(await all(table), 'a refused batch changes nothing').toEqual(before);
          } else if ('add' in op) {
            const change = await table.add(op.add);
            expect(change.added + change.replaced).toBe(op.add.length);
            for (const r of op.add) model.routes.set(r.prefix, r.via);
          } else {
            const present = op.del.filter((p) => model.routes.has(p));
            if (present.length < op.del.length) {
              await expect(table.delete(op.del)).rejects.toMatchObject({ code: 'ERR_ROUTE', message: expect.stringContaining('is not routed') });
            } else {
              expect((await table.delete(op.del)).deleted).toBe(op.del.length);
              for (const p of op.del) model.routes.delete(p);
            }
          }
          expect(await all(table)).toEqual(model.sorted());
          const found = await table.lookup(ADDRESSES);
          expect(found.map((f) => ({ prefix: f.prefix, via: f.via }))).toEqual(ADDRESSES.map((a) => model.lookup(a)));
        }
      }),
      { numRuns: 25, seed: 14 },
    );
    const size = await table.size();
    expect(size.ipv4 + size.ipv6).toBe(model.routes.size);
    // Back to the config's routes for the tests that follow.
    const extra = [...model.routes.keys()].filter((p) => !CONFIG_ROUTES.some((r) => r.prefix === p));
    if (extra.length > 0) await table.delete(extra);
    expect(await all(table)).toEqual(CONFIG_ROUTES);
  }, 120_000);

  it('names the table, refuses unknown ones, and says a family without a table has none', async () => {
    await expect(engine.routes('edge').list().next()).rejects.toMatchObject({ code: 'ERR_ROUTE', message: '"edge" is not a route table (tables: core)' });
    const [info] = await engine.routeTables();
    expect(info).toMatchObject({ name: 'core', pipeline: 'gen', stage: 'core', room: { ipv4: 4096, ipv6: 4096 }, nextHops: ['0', '1', 'z'], default: null });
  });
});

describe('another process', () => {
  it('fastpath routes adds a route file, shows, looks up and deletes; a bad file is named line by line', async () => {
    const file = join(dir, 'more.routes');
    writeFileSync(file, Array.from({ length: 300 }, (_, i) => `172.${16 + (i >> 8)}.${i & 255}.0/24 ${i % 2 ? '1' : 'z'}`).join('\n').replace(/ 1$/gm, ' one'));
    // 'one' is no next hop: the whole file is refused, each bad line named.
    const refused = runCli(['routes', name, 'add', '--file', file]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('[ERR_ROUTE]');
    expect(refused.stderr).toContain('line 2: "one" is not a next hop of this table (nextHops: 0, 1, z)');
    expect(await all(), 'nothing of a refused file is applied').toEqual(CONFIG_ROUTES);

    writeFileSync(file, Array.from({ length: 300 }, (_, i) => `172.${16 + (i >> 8)}.${i & 255}.0/24 ${i % 2 ? 'z' : '1'}`).join('\n'));
    const added = runCli(['routes', name, 'add', '--file', file, '--json']);
    expect(added.stderr).toBe('');
    expect(JSON.parse(added.stdout)).toMatchObject({ table: 'core', added: 300, replaced: 0, deleted: 0 });

    const tables = runCli(['routes', name, 'tables']);
    expect(tables.stdout.trim()).toBe('core (pipeline gen): 303 IPv4 routes of room 4096, 1 IPv6 of 4096; next hops 0, 1, z');

    const looked = runCli(['routes', name, 'lookup', '172.17.0.9', '172.17.1.9']);
    expect(looked.stdout.trim().split('\n')).toEqual(['172.17.0.9 via 1 (172.17.0.0/24)', '172.17.1.9 via z (172.17.1.0/24)']);

    const shown = runCli(['routes', name, 'show']);
    const lines = shown.stdout.trim().split('\n');
    expect(lines).toContain('172.16.1.0/24 z');
    expect(lines.length).toBe(304);

    // A route file deletes its own routes.
    const deleted = runCli(['routes', name, 'del', '--file', file, '--table', 'core']);
    expect(deleted.stdout.trim()).toMatch(/^added 0, replaced 0, deleted 300: core holds 3 IPv4 and 1 IPv6 routes \(\d+ ms\)$/);
    expect(await all()).toEqual(CONFIG_ROUTES);

    const unknown = runCli(['routes', 'no-such-engine', 'show']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^fastpath: no engine named "no-such-engine" answers at .*fastpath-control.sock: is it running\? \(fastpath ls lists engines\) \[ERR_CONTROL\]$/m);
  }, 60_000);

  it('ControlClient streams a table page by page and sees changes made in process', async () => {
    await using client = await ControlClient.connect(name);
    const seen: Route[] = [];
    for await (const r of client.routes('core').list({ pageSize: 2 })) seen.push(r);
    expect(seen).toEqual(CONFIG_ROUTES);
    expect(await client.routes('core').lookup('198.18.0.200')).toEqual({ address: '198.18.0.200', prefix: '198.18.0.0/24', via: '0' });
  });
});

describe('apply()', () => {
  it('keeps routes added live when the stage is unchanged, and starts from the config when it changed', async () => {
    await engine.routes('core').add([{ prefix: '100.64.0.0/10', via: 'z' }]);
    await engine.apply(config());
    expect((await all()).map((r) => r.prefix)).toContain('100.64.0.0/10');
    await engine.apply(config('z'));
    expect(await all()).toEqual(CONFIG_ROUTES);
    expect(await engine.routes().lookup('8.8.8.8')).toEqual({ address: '8.8.8.8', prefix: null, via: 'z' });
    await engine.apply(config());
  });
});

describe('under traffic', () => {
  it('10,000 route changes lose and misroute no packet', async () => {
    const table = engine.routes('core');
    const hops = () => engine.stats().pipelines[0]!.routes[0]!;
    expect(await waitFor(() => hops().nextHops[0]!.forwarded > 10_000)).toBe(true);
    const started = performance.now();
    let changes = 0;
    for (let batch = 0; changes < 10_000; batch++) {
      // Every version routes 198.18.0.0/24 (the traffic) to '0' or '1', more specifics too.
      const via = batch % 2 ? '1' : '0';
      const hosts = Array.from({ length: 9 }, (_, i) => ({ prefix: `198.18.0.${(batch * 9 + i) % 200}/32`, via: i % 2 ? '0' : '1' }));
      await table.add([{ prefix: '198.18.0.0/24', via }, ...hosts]);
      changes += 10;
      if (batch % 50 === 49) {
        const change = await table.delete(hosts.map((h) => h.prefix));
        changes += change.deleted;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`route-live: ${changes} route changes in ${seconds.toFixed(2)} s under traffic (${Math.round(changes / seconds)} changes/s, batches of 10)`);
    const last = await engine.stop();
    const route = last.pipelines[0]!.routes[0]!;
    const pipeline = last.pipelines[0]!;
    const forwarded = route.nextHops.map((h) => h.forwarded);
    expect(route.noRoute + route.ttlExpired + route.badHeader + route.notIp).toBe(0);
    expect(pipeline.dropped).toBe(0);
    expect(forwarded[0]! + forwarded[1]! + forwarded[2]!).toBe(pipeline.inPackets);
    expect(pipeline.outPackets).toBe(pipeline.inPackets);
    expect(forwarded[2], 'no version sent the traffic to z').toBe(0);
    expect(forwarded[1], 'changes reached the workers').toBeGreaterThan(0);
  }, 120_000);
});
