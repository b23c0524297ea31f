/**
 * Config rules are written once, in Rust: a property test over thousands of configs, random
 * ones covering the whole config space and mutations of the example configs, that
 *
 * 1. the two shape layers never disagree: zod (`@fastpath/types`) accepts a config exactly
 *    when the engine (serde) decodes the same config's wire bytes; and
 * 2. when the shape is fine, the problems TypeScript reports (`Engine.validate`) are the
 *    engine's, element for element, and what the engine itself refuses the same bytes with
 *    through another path (`checkConfig`: decode, then the planner, as `Engine.start` does).
 *
 * Lcores stay at 0 and 1 (or break the rules outright), so that the CPUs a config names exist
 * and the machine's own checks rarely speak; where they do, both sides still say the same.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { Engine, FastpathError, loadConfig, native, type EngineConfig } from '@fastpath/control';
import { encodeUnchecked, validateConfig } from '@fastpath/types';

import { repoRoot } from './helpers.js';

// ---------------------------------------------------------------------------------------
// The check, and what it saw.

type Verdict = 'shape' | 'rules' | 'machine' | 'good';
const seen: Record<string, Record<Verdict, number>> = {};
const started = Date.now();

function check(source: string, config: unknown): void {
  const tally = (seen[source] ??= { shape: 0, rules: 0, machine: 0, good: 0 });
  let shapeOk = true;
  try {
    validateConfig(config);
  } catch (error) {
    if (!(error instanceof FastpathError)) throw error;
    shapeOk = false;
  }
  const bytes = Buffer.from(encodeUnchecked(config));
  const rust = native().configProblems(bytes);
  // A config the engine cannot decode is one problem without a path; every rule has one.
  const decoded = !(rust.length === 1 && rust[0]!.path === '');
  expect(decoded, `zod ${shapeOk ? 'accepts' : 'refuses'} but serde ${decoded ? 'decodes' : `refuses (${rust[0]?.message})`}: ${show(config)}`).toBe(shapeOk);
  if (!shapeOk) {
    tally.shape++;
    return;
  }

  const ts = outcome(() => Engine.validate(config));
  const engine = outcome(() => native().checkConfig(bytes));
  const lines = rust.map((p) => `${p.path}: ${p.message}`);
  if (lines.length > 0) {
    tally.rules++;
    expect(ts?.code, show(config)).toBe('ERR_CONFIG');
    expect(ts?.problems, show(config)).toEqual(lines);
    expect(engine?.code, show(config)).toBe('ERR_CONFIG');
    expect(engine?.message, show(config)).toBe(lines.join('; '));
  } else {
    // No rule broken: what is left is the machine's to say (CPUs, hugepages), the same to both.
    expect(ts?.problems, show(config)).toEqual(engine === undefined ? undefined : [engine.message]);
    tally[engine === undefined ? 'good' : 'machine']++;
  }
}

function outcome(f: () => unknown): FastpathError | undefined {
  try {
    f();
    return undefined;
  } catch (error) {
    return error instanceof FastpathError ? error : FastpathError.fromNative(error);
  }
}

const show = (config: unknown) => JSON.stringify(config, (_, v: unknown) => (v === undefined ? '<undefined>' : v));

afterAll(() => {
  const total = { shape: 0, rules: 0, machine: 0, good: 0 };
  for (const [source, t] of Object.entries(seen)) {
    const n = t.shape + t.rules + t.machine + t.good;
    console.log(`config-rules: ${source}: ${n} configs, ${t.shape} refused for their shape, ${t.rules} for the engine's rules, ${t.machine} by this machine, ${t.good} accepted`);
    for (const k of Object.keys(total) as Verdict[]) total[k] += t[k];
  }
  const n = total.shape + total.rules + total.machine + total.good;
  console.log(`config-rules: ${n} configs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${n - total.good} bad (${total.shape} shape, ${total.rules} rules, ${total.machine} machine), ${total.good} good`);
});

// ---------------------------------------------------------------------------------------
// Values: mostly sensible, often at a bound, sometimes of the wrong type.

/** Wrong types for any field. */
const junk = fc.constantFrom<unknown>(null, true, 'x', '', [], {}, [1], { a: 1 }, 1.5, -1, 2 ** 32, Number.NaN);

/** One of `values`, the first (a good one) three times as often as any of them. */
const choose = <T>(values: T[]) => fc.oneof({ arbitrary: fc.constant(values[0]!), weight: 3 }, { arbitrary: fc.constantFrom(...values), weight: 1 });
const nums = (...values: number[]) => choose(values);
const strings = (...values: string[]) => choose(values);

const mac = strings('02:00:00:00:00:01', '02-00-00-00-00-0A', 'aa:bb:cc:dd:ee:ff', '02:00:00:00:00:0g', '02:00:00:00:00', '+2:00:00:00:00:01', '');

const prefix = strings('10.0.0.0/8', '10.1.2.3', '0.0.0.0/0', '2001:db8::/32', '::1', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/8', '10.0.0.0/+8', '10.0.0.0/008', 'x', '');

const ipv4 = strings('10.0.0.1', '198.18.0.1', '255.255.255.255', '1.2.3', '010.0.0.1', '::1', '');

const iface = strings('veth0', 'eth0.100', 'a-b_c', '', 'eth0,qpairs=64', 'a-name-longer-than-15', '../x');

const file = strings('/tmp/in.pcap', 'out.pcap', 'é.pcap', '', 'in.pcap,iface=eth0', 'a=b', 'tab\there');

const socketPath = strings('/tmp/fastpath-rules.sock', 'memif.sock', '', '/tmp/a,b.sock', `/${'s'.repeat(107)}`);

/** Unknown fields, a typo or a field from elsewhere ('version' included: it lives beside the config). */
const unknownKey = strings('speed', 'priority', 'nme', 'version', 'kind', 'queue');

/**
 * Field makers for configs where a value is of the wrong type, or an object has an unknown
 * field, about once in `1 / dirt` (never with `dirt` 0: configs of the right shape, whose
 * rules are then checked).
 */
function shapers(dirt: number) {
  const often = Math.round(1 / dirt);
  /** `arb` mostly, junk now and then. */
  const val = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    dirt === 0 ? arb : fc.oneof({ arbitrary: arb as fc.Arbitrary<unknown>, weight: often }, { arbitrary: junk, weight: 1 });
  /** An optional field: absent (undefined, left out on the wire) or a value. */
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(val(arb), { nil: undefined, freq: 2 });
  /** `object` with, now and then, an unknown field. */
  const withExtra = <T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    dirt === 0
      ? arb
      : fc.tuple(arb, fc.option(fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 1 })), { freq: often })).map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));
  /** One of `good` (of the right type), or in configs with dirt also one of `bad` (not). */
  const pick = <T>(good: T[], bad: T[] = []) => choose(dirt === 0 ? good : [...good, ...bad]);
  return { val, opt, withExtra, pick };
}

// ---------------------------------------------------------------------------------------
// Random configs over the whole space, references drawn from the ports they define.

/** Configs over the whole space, references drawn from the ports they define. */
function configs(dirt: number): fc.Arbitrary<unknown> {
  const { val, opt, withExtra, pick } = shapers(dirt);
  const names = strings('a', 'b', 'c', 'wan', 'lan', 'p-1', 'x_y', '1x', 'a b', '');

  const source = fc.oneof(
    fc.record({ null: val(withExtra(fc.record({ size: opt(pick([14, 64, 9000, 0, 13, 9001], [65536])) }))) }),
    fc.record({ ring: val(withExtra(fc.constant({}))) }),
    fc.record({ vdev: val(strings('net_null7', 'net_ring5', 'net_memif0,role=server', 'net_pcap0', ',x', 'net null', 'net_null0,a\nb', '')) }),
    fc.record({ pci: val(strings('0000:03:00.0', '03:00.7', '03:00.8', 'zz')) }),
    fc.record({ pcap: val(withExtra(fc.record({ rx: opt(file), tx: opt(file), infiniteRx: opt(fc.boolean()) }))) }),
    fc.record({ afPacket: val(withExtra(fc.record({ iface: val(iface) }))) }),
    fc.record({ tap: val(withExtra(fc.record({ iface: opt(iface) }))) }),
    fc.record({ memif: val(withExtra(fc.record({ role: val(pick(['server', 'client'], ['both'])), socket: val(socketPath), id: opt(nums(0, 7, 2 ** 32 - 1)) }))) }),
    fc.record({ vhost: val(withExtra(fc.record({ socket: val(socketPath), client: opt(fc.boolean()) }))) }),
    fc.record({ virtioUser: val(withExtra(fc.record({ path: val(socketPath), server: opt(fc.boolean()) }))) }),
    fc.record({ afXdp: val(withExtra(fc.record({ iface: val(iface), queue: opt(nums(0, 3, 65535)) }))) }),
    fc.constant({}),
    fc.constant({ null: {}, ring: {} }),
  );

  const port = withExtra(
    fc.tuple(
      source,
      fc.record({
        queues: opt(pick([1, 0, 2, 4, 64, 65, 65535], [65536])),
        rxDescriptors: opt(pick([1024, 0, 1, 512, 65535], [65536])),
        txDescriptors: opt(nums(1024, 0, 1, 512)),
        promiscuous: opt(fc.boolean()),
        mtu: opt(nums(1500, 20, 68, 9000, 65535)),
        mac: opt(mac),
      }),
    ).map(([s, common]) => ({ ...s, ...common })),
  );

  function pipelinesOver(ports: string[]) {
    const ref = fc.oneof({ arbitrary: fc.constantFrom(...(ports.length > 0 ? ports : ['a'])), weight: 6 }, { arbitrary: strings('zz', ''), weight: 1 });
    const refs = fc.oneof(val(ref), fc.array(val(ref), { maxLength: 3 }));
    const action = fc.oneof(
      pick<unknown>(['drop', 'count'], ['forward', 'nat', { forward: 'a', mirror: 'b' }]),
      ref.map((p) => ({ forward: p })),
      ref.map((p) => ({ mirror: p })),
    );
    const match = withExtra(
      fc.record({
        ethertype: opt(pick([0x0800, 0x86dd], [65536])),
        vlan: opt(nums(0, 100, 4095, 4096, 65535)),
        src: opt(prefix),
        dst: opt(prefix),
        proto: opt(pick<unknown>(['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 0, 17, 255], ['gre', 256])),
        srcPort: opt(pick<unknown>([0, 53, 65535, [1024, 2047], [9, 8], [5, 5]], [65536, [1], [1, 2, 3], [0, 65536]])),
        dstPort: opt(pick<unknown>([9, 53, [53, 53], [100, 1]])),
      }),
    );
    const l4Ports = pick<unknown>([53, 0, 65535, '1024-2047', '80', '9-8', 'http', ''], [65536, -1, [1, 2], 1.5]);
    const aclRule = withExtra(
      fc.record({
        name: opt(strings('r', 'rule0', '')),
        priority: opt(nums(0, 1, 2 ** 32 - 1, 2 ** 32)),
        src: opt(prefix),
        dst: opt(prefix),
        srcPorts: opt(l4Ports),
        dstPorts: opt(l4Ports),
        proto: opt(pick<unknown>(['tcp', 'udp', 0, 17, 255], ['gre', 256])),
        protoMask: opt(nums(255, 0, 240, 256)),
        vlan: opt(nums(0, 100, 4095, 4096, 65535)),
        action: val(action),
      }),
    );
    const acl = withExtra(
      fc.record({
        kind: fc.constant('acl'),
        name: opt(strings('fw', 'stage0', '')),
        rules: opt(fc.array(val(aclRule), { maxLength: 3 })),
        rulesFile: opt(strings('/nonexistent/fw.rules', '')),
        default: opt(pick(['pass', 'drop'], ['allow'])),
        memoryMiB: opt(nums(8, 0, 1, 65536, 65537)),
      }),
    );
    const stage = fc.oneof(
      pick(['io', 'macSwap', 'fiveTupleSwap', 'drop'], ['bridge', 'nat']),
      acl,
      withExtra(fc.record({ kind: fc.constant('macRewrite'), dst: val(mac), src: opt(mac) })),
      withExtra(fc.record({ kind: fc.constant('match'), name: opt(strings('r', 'stage0', 'stage1', '')), match: val(match), action: val(action) })),
      withExtra(fc.record({ kind: fc.constant('bridge'), agingS: opt(nums(300, 0, 1, 86400, 86401)) })),
      withExtra(fc.record({ kind: pick(['io', 'drop', 'macSwap'], ['nat']) })),
    );
    const generator = withExtra(
      fc.record({
        packetSize: opt(nums(64, 59, 60, 2048, 2049)),
        flows: opt(nums(64, 0, 1, 65536, 65537)),
        burst: opt(nums(32, 0, 1, 33)),
        srcMac: opt(mac),
        dstMac: opt(mac),
        srcIp: opt(ipv4),
        dstIp: opt(ipv4),
        count: opt(pick([1000, 0, 1, 2 ** 40, 2 ** 53 - 1], [2 ** 60])),
      }),
    );
    const pipeline = withExtra(
      fc.record({
        name: opt(strings('p', 'q', 'pipeline0', '')),
        input: fc.option(refs, { nil: undefined, freq: 5 }),
        generator: fc.option(val(generator), { nil: undefined, freq: 2 }),
        stages: opt(fc.array(val(stage), { maxLength: 4 })),
        output: fc.option(refs, { nil: undefined, freq: 6 }),
      }),
    );
    const worker = fc.oneof(
      { arbitrary: nums(0, 1, 1), weight: 4 },
      { arbitrary: nums(128, 200), weight: 1 },
      {
        arbitrary: withExtra(
          fc.record({
            lcore: val(nums(0, 1, 1, 128)),
            cpu: opt(nums(0, 1, 1024)),
            rx: opt(fc.array(withExtra(fc.record({ port: val(ref), queue: val(nums(0, 0, 1, 3, 63, 64)) })), { maxLength: 3 })),
          }),
        ),
        weight: 2,
      },
    );
    const lcores = val(withExtra(fc.record({ main: opt(nums(0, 1, 200)), mainCpu: opt(nums(0, 1, 2000)), workers: val(fc.array(val(worker), { maxLength: 3 })) })));
    return { lcores, pipelines: val(fc.array(val(pipeline), { maxLength: 3 })), stages: opt(fc.array(val(stage), { maxLength: 3 })), generator };
  }

  const eal = opt(withExtra(fc.record({ filePrefix: opt(strings('fp', 'fp-1.x', 'a b', '')), iovaMode: opt(pick(['VA', 'PA'], ['pa'])), logLevel: opt(strings('notice', '')), logToStderr: opt(fc.boolean()), extraArgs: opt(pick<unknown>([[], ['--no-telemetry']], [[1]])) })));
  const memory = opt(withExtra(fc.record({ hugepages: opt(fc.constant(false)), mbufs: opt(nums(262143, 0, 1, 1023, 8191, 65535, 2 ** 30 - 1, 2 ** 30)), mbufCache: opt(nums(256, 0, 512, 513)) })));
  const stats = opt(withExtra(fc.record({ counters: opt(fc.boolean()), group: opt(pick<unknown>(['monitoring', '_g.1', '1x', '1000', '', 0, 1000, 2 ** 32 - 1], [2 ** 32, -1])) })));

  // Any layout: ports by any name, pipelines and workers referring to them or not.
  const anyLayout = fc
    .dictionary(names, val(port), { maxKeys: 4 })
    .chain((ports) => {
      const { lcores, pipelines } = pipelinesOver(Object.keys(ports));
      return fc.record({ eal, memory, ports: fc.constant(ports), lcores, pipelines, stats });
    });
  // A sound layout (a ↔ b on worker 1) with random fields: where the other rules speak.
  const { stages, generator } = pipelinesOver(['a', 'b']);
  const soundLayout = fc
    .record({ eal, memory, a: val(port), b: val(port), ab: stages, ba: stages, make: opt(generator), stats })
    .map(({ eal, memory, a, b, ab, ba, make, stats }) => ({
      eal,
      memory,
      ports: { a, b },
      lcores: { workers: [1] },
      pipelines: [
        { input: 'a', stages: ab, output: 'b' },
        { input: 'b', generator: make, stages: ba, output: 'a' },
      ],
      stats,
    }));
  return fc.oneof({ arbitrary: anyLayout, weight: 1 }, { arbitrary: soundLayout, weight: 2 });
}

/**
 * Values at the edges of the shape, by the type of what they replace: an integer type's
 * ends and just past them, floats, other types. One of them in an otherwise well-formed
 * config tests one boundary of the two shape layers at a time.
 */
const edges: Record<string, unknown[]> = {
  number: [-1, -0, 1.5, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, null, '1', true, [1]],
  string: [1, null, true, [], {}, ['a'], ''],
  boolean: [0, 1, null, 'true'],
  object: [null, [], 'x', 1, [{}]],
};

/** `config` with the value at one path (of all of them, by `at`) replaced by an edge value. */
function oneDefect(config: unknown, at: number, which: number, key: string): unknown {
  const copy = structuredClone(config);
  const all = paths(copy);
  if (all.length === 0) return copy;
  const path = all[at % all.length]!;
  const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], copy);
  const target = parent[path.at(-1)!];
  if (target !== null && typeof target === 'object' && !Array.isArray(target) && which % 3 === 0) {
    target[key] = 1; // an unknown field
  } else {
    const options = edges[Array.isArray(target) ? 'object' : typeof target] ?? edges.object!;
    parent[path.at(-1)!] = options[which % options.length];
  }
  return copy;
}

/**
 * Random configs: of the right shape (the rules speak), with exactly one defect at the
 * edge of the shape, or with a few wrong types and unknown fields.
 */
const randomConfig = fc.oneof(
  configs(0),
  fc.tuple(configs(0), fc.nat(), fc.nat(), unknownKey).map(([config, at, which, key]) => oneDefect(config, at, which, key)),
  configs(1 / 60),
);

// ---------------------------------------------------------------------------------------
// Mutations of the example configs.

/** Interesting values to put anywhere: bounds, references, formats, kinds, wrong types. */
const anyValue = fc.oneof(
  { arbitrary: nums(0, 1, 2, 13, 14, 59, 60, 63, 64, 65, 127, 128, 512, 513, 1023, 1024, 2048, 2049, 4095, 4096, 9000, 9001, 65535, 65536, 86400, 86401, 2 ** 30 - 1, 2 ** 30, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, 1.5, -0), weight: 4 },
  { arbitrary: strings('a', 'b', 'r0', 'r1', 'net_null0', 'net_null1', 'c', '', 'zz', '02:00:00:00:00:01', '02:00:00:00:00:0g', '10.0.0.0/8', '10.0.0.0/33', '1.2.3.4', 'x,y', 'veth0', 'eth0,x=1', 'PA', 'pa', 'udp', 'gre', 'drop', 'count', 'macSwap', 'bridge', 'io'), weight: 4 },
  { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, ['r0'], ['r0', 'r1'], [9, 8], { forward: 'r1' }, { mirror: 'zz' }, { kind: 'drop' }, { kind: 'bridge' }, { kind: 'nat' }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);

type Path = (string | number)[];

/** Every path in `value` (containers and leaves), depth first. */
function paths(value: unknown, at: Path = []): Path[] {
  const here: Path[] = at.length > 0 ? [at] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...at, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))];
  return here;
}

type Op = [kind: 'tweak' | 'set' | 'delete' | 'unknown' | 'rename' | 'duplicate', pick: number, value: unknown];

/** Values of the same type as a leaf, for mutations that keep the shape and test the rules. */
const sameType: Record<string, unknown[]> = {
  number: [0, 1, 13, 59, 63, 64, 65, 127, 128, 513, 1023, 1024, 2049, 4096, 9001, 65535, 86401, 2 ** 30],
  string: ['a', 'b', 'r0', 'r1', 'net_null0', 'net_null1', 'c', '', '1x', '02:00:00:00:00:0g', '10.0.0.0/33', '1.2.3', 'x,y', 'eth0,x=1', 'stage0', 'make'],
  boolean: [true, false],
};

function mutate(config: unknown, ops: Op[]): unknown {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const [kind, pick, value] of ops) {
    const all = paths(copy);
    if (all.length === 0) break;
    const path = all[pick % all.length]!;
    const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], copy);
    const key = path.at(-1)!;
    const target = parent[key];
    if (kind === 'tweak') {
      const options = sameType[typeof target];
      if (options) parent[key] = options[pick % options.length];
    } else if (kind === 'set') parent[key] = value;
    else if (kind === 'delete') Array.isArray(parent) ? parent.splice(Number(key), 1) : delete parent[key];
    else if (kind === 'unknown' && target !== null && typeof target === 'object' && !Array.isArray(target)) target[String(value).slice(0, 8) || 'extra'] = 1;
    else if (kind === 'rename' && !Array.isArray(parent) && typeof value === 'string') {
      // A port renamed (or any key): the references to it now point nowhere.
      const entries = Object.entries(parent).map(([k, v]) => [k === key ? value : k, v]);
      for (const k of Object.keys(parent)) delete parent[k];
      Object.assign(parent, Object.fromEntries(entries));
    } else if (kind === 'duplicate' && Array.isArray(target) && target.length > 0) target.push(structuredClone(target[0]));
  }
  return copy;
}

const op = fc.tuple(fc.constantFrom('tweak', 'tweak', 'tweak', 'set', 'set', 'delete', 'unknown', 'rename', 'duplicate'), fc.nat(), anyValue) as fc.Arbitrary<Op>;

// ---------------------------------------------------------------------------------------

const examples: [string, EngineConfig][] = [];

describe('config rules, written once in Rust', () => {
  it('loads the example configs', async () => {
    const dir = join(repoRoot, 'examples/configs');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      examples.push([`examples/configs/${file}`, (await loadConfig(join(dir, file))) as EngineConfig]);
    }
    examples.push(['examples/l2fwd.ts', (await loadConfig(join(repoRoot, 'examples/l2fwd.ts'))) as EngineConfig]);
    for (const [name, config] of examples) {
      expect(outcome(() => Engine.validate(config)), name).toBeUndefined();
    }
  });

  it('random configs over the whole space: zod accepts what serde decodes, and TypeScript reports the engine\'s problems', () => {
    fc.assert(fc.property(randomConfig, (config) => check('random', config)), { numRuns: 3000 });
  });

  it('mutated example configs: the same', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const mutated = fc.tuple(fc.nat({ max: examples.length - 1 }), fc.array(op, { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(mutated, ([which, ops]) => check('mutated examples', mutate(examples[which]![1], ops))),
      { numRuns: 2500 },
    );
  });

  it('compared the problem lists of at least 2,000 configs, broken and good', () => {
    // Configs zod refuses only test the shape layers; the lists are compared for the rest.
    const total = { shape: 0, rules: 0, machine: 0, good: 0 };
    for (const t of Object.values(seen)) for (const k of Object.keys(total) as Verdict[]) total[k] += t[k];
    expect(total.rules + total.machine + total.good).toBeGreaterThanOrEqual(2000);
    expect(total.rules).toBeGreaterThanOrEqual(500);
    expect(total.good).toBeGreaterThanOrEqual(200);
  });
});
