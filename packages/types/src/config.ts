/**
 * The engine config: TypeScript types, their runtime schema (zod), and validation whose
 * errors name the exact path and the reason:
 *
 *   pipelines[0].stages[2].match.dst: "10.0.0.0/33" is not a valid IPv4 prefix
 *
 * The Rust engine decodes the same config (in its wire form, see codec.ts) with serde and
 * `deny_unknown_fields`; unknown fields are errors on both sides.
 */
import { isIPv4, isIPv6 } from 'node:net';

import { z } from 'zod';

import { ErrorCode, FastpathError } from './errors.js';

/** The config schema version this package writes. */
export const SCHEMA_VERSION = 2;

// ---------------------------------------------------------------------------------------
// Field checks with messages that say what a good value looks like.

const MAC = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;
const mac = z.string().regex(MAC, { error: (i) => `${JSON.stringify(i.input)} is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)` });

/** Why `text` is not an IPv4/IPv6 prefix, or undefined when it is one. */
export function prefixProblem(text: string): string | undefined {
  const [addr = '', len, extra] = text.split('/');
  const v4 = isIPv4(addr);
  const v6 = isIPv6(addr);
  if (extra !== undefined || (!v4 && !v6)) return `${JSON.stringify(text)} is not a valid IPv4 or IPv6 prefix`;
  const bits = v4 ? 32 : 128;
  if (len !== undefined && (!/^\d{1,3}$/.test(len) || Number(len) > bits)) {
    return `${JSON.stringify(text)} is not a valid ${v4 ? 'IPv4' : 'IPv6'} prefix`;
  }
  return undefined;
}

const prefix = z.string().superRefine((text, ctx) => {
  const problem = prefixProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
});
const ipv4 = z.string().refine(isIPv4, { error: (i) => `${JSON.stringify(i.input)} is not an IPv4 address` });
const u16 = z.number().int().min(0).max(65535);
const lcoreId = z.number().int().min(0).max(127);
const cpuId = z.number().int().min(0).max(1023);
const portName = z.string().min(1);
const oneOrMany = z.union([portName, z.array(portName)]);
const l4Port = z.union([u16, z.tuple([u16, u16])]);
/** A Linux interface name as the engine passes it on (IFNAMSIZ − 1 characters at most). */
const iface = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'is not an interface name (1 to 15 letters, digits, _, . or -)');
/** A file path that goes into a vdev argument: a `,` or `=` would start another argument. */
const vdevPath = z.string().regex(/^[^,=\x00-\x1f\x7f]+$/, "cannot be passed to the driver: a path may not be empty or hold ',', '=' or control characters");

// ---------------------------------------------------------------------------------------
// Ports.

const portSources = ['vdev', 'pci', 'pcap', 'afPacket', 'tap', 'ring', 'null'] as const;

const portSchema = z
  .strictObject({
    /** A raw DPDK vdev spec: `net_null0`, `net_ring0`, `net_memif0,role=server`, ... */
    vdev: z.string().regex(/^[A-Za-z0-9_]+(,.*)?$/, 'must start with a device name such as net_null0, then optional ,key=value arguments').optional(),
    /** A PCI address to allow-list and drive, e.g. `0000:03:00.0`. */
    pci: z.string().regex(/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/, 'must be a PCI address like 0000:03:00.0').optional(),
    /** Packets read from `rx` and written to `tx` (net_pcap). */
    pcap: z.strictObject({ rx: vdevPath.optional(), tx: vdevPath.optional(), infiniteRx: z.boolean().optional() }).optional(),
    /** A kernel interface through AF_PACKET sockets (net_af_packet). */
    afPacket: z.strictObject({ iface }).optional(),
    /** A new kernel TAP interface (net_tap). */
    tap: z.strictObject({ iface: iface.optional() }).optional(),
    /** An in-memory ring whose tx feeds its own rx (net_ring). */
    ring: z.strictObject({}).optional(),
    /** A packet sink and endless source (net_null). */
    null: z.strictObject({ size: z.number().int().min(14).max(9000).optional() }).optional(),
    /** Rx queues (RSS spreads packets over them where the driver can hash). Default 1. */
    queues: z.number().int().min(1).max(64).optional(),
    /** Rx ring size (default 1024). */
    rxDescriptors: z.number().int().min(1).max(65535).optional(),
    /** Tx ring size (default 1024). */
    txDescriptors: z.number().int().min(1).max(65535).optional(),
    /** Accept every destination MAC (default true). */
    promiscuous: z.boolean().optional(),
    /** MTU to set. */
    mtu: z.number().int().min(68).max(65535).optional(),
    /** MAC address to set. */
    mac: mac.optional(),
  })
  .superRefine((p, ctx) => {
    const given = portSources.filter((s) => p[s] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: given.length === 0
          ? `needs a source: one of ${portSources.join(', ')}`
          : `has ${given.join(' and ')}; give exactly one source`,
      });
    }
  });

// ---------------------------------------------------------------------------------------
// Stages.

const matchSchema = z.strictObject({
  /** Ethertype after any VLAN tags, e.g. 0x0800 (IPv4), 0x86dd (IPv6). */
  ethertype: u16.optional(),
  /** Outer VLAN id. */
  vlan: z.number().int().min(0).max(4095).optional(),
  /** Source prefix: `10.0.0.0/8`, `2001:db8::/32`, or one address. */
  src: prefix.optional(),
  /** Destination prefix. */
  dst: prefix.optional(),
  /** IP protocol: a name or a number. */
  proto: z.union([z.enum(['tcp', 'udp', 'icmp', 'icmpv6', 'sctp']), z.number().int().min(0).max(255)]).optional(),
  /** Source L4 port, or an inclusive [low, high] range. */
  srcPort: l4Port.optional(),
  /** Destination L4 port or range. */
  dstPort: l4Port.optional(),
});

const actionSchema = z.union([
  z.enum(['drop', 'count']),
  z.strictObject({ forward: portName }),
  z.strictObject({ mirror: portName }),
]);

const simpleKinds = ['io', 'macSwap', 'fiveTupleSwap', 'drop'] as const;

const stageObject = z.discriminatedUnion('kind', [
  /** Pass packets unchanged (testpmd io). */
  z.strictObject({ kind: z.literal('io') }),
  /** Set MACs: dst, and src (default: the output port's own MAC) (testpmd mac). */
  z.strictObject({ kind: z.literal('macRewrite'), dst: mac, src: mac.optional() }),
  /** Swap source and destination MAC (testpmd macswap). */
  z.strictObject({ kind: z.literal('macSwap') }),
  /** Swap MACs, IP addresses and L4 ports (testpmd 5tswap). */
  z.strictObject({ kind: z.literal('fiveTupleSwap') }),
  /** Drop everything (testpmd rxonly). */
  z.strictObject({ kind: z.literal('drop') }),
  /** Match headers; act on matching packets (drop, count, forward, mirror), counted per stage. */
  z.strictObject({ kind: z.literal('match'), name: z.string().min(1).optional(), match: matchSchema, action: actionSchema }),
  /** An L2 MAC-learning bridge over the pipeline's output ports. */
  z.strictObject({ kind: z.literal('bridge'), agingS: z.number().int().min(1).max(86_400).optional() }),
]);

export const STAGE_KINDS = ['io', 'macRewrite', 'macSwap', 'fiveTupleSwap', 'drop', 'match', 'bridge'] as const;

const stageSchema = z.union([z.enum(simpleKinds), stageObject]);

const generatorSchema = z.strictObject({
  /** Frame size in bytes without FCS (default 64). */
  packetSize: z.number().int().min(60).max(2048).optional(),
  /** Distinct flows (UDP source port and source address vary; default 1). */
  flows: z.number().int().min(1).max(65536).optional(),
  /** Packets per burst (default 32). */
  burst: z.number().int().min(1).max(32).optional(),
  /** Source MAC (default: the output port's). */
  srcMac: mac.optional(),
  /** Destination MAC (default 02:00:00:00:00:02). */
  dstMac: mac.optional(),
  /** First source IPv4 address. */
  srcIp: ipv4.optional(),
  /** Destination IPv4 address. */
  dstIp: ipv4.optional(),
  /** Stop after this many packets. */
  count: z.number().int().min(1).optional(),
});

const pipelineSchema = z.strictObject({
  /** A name for stats and errors (default `pipeline<i>`). */
  name: z.string().min(1).optional(),
  /** Port(s) whose received packets enter the pipeline. */
  input: oneOrMany.optional(),
  /** Makes packets (txonly/flowgen). */
  generator: generatorSchema.optional(),
  /** Stages, in order. */
  stages: z.array(stageSchema).optional(),
  /** Where packets go unless a stage decides (the first port), or the ports a bridge spans. */
  output: oneOrMany.optional(),
});

const workerSchema = z.union([
  lcoreId,
  z.strictObject({
    lcore: lcoreId,
    /** CPU to run on (default: the CPU numbered like the lcore). */
    cpu: cpuId.optional(),
    /** The (port, queue) pairs it alone polls (default: assigned round-robin). */
    rx: z.array(z.strictObject({ port: portName, queue: z.number().int().min(0).max(63) })).optional(),
  }),
]);

export const engineConfigSchema = z.strictObject({
  /** EAL settings. */
  eal: z
    .strictObject({
      /** Runtime-directory prefix; defaults to fastpath-<pid>. Unique per process. */
      filePrefix: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -').optional(),
      /** Force an IOVA mode. */
      iovaMode: z.enum(['PA', 'VA']).optional(),
      /** EAL --log-level, e.g. "notice" or "lib.eal:debug". */
      logLevel: z.string().min(1).optional(),
      /** Echo DPDK's log to stderr (default true). */
      logToStderr: z.boolean().optional(),
      /** Extra EAL arguments, appended last. */
      extraArgs: z.array(z.string()).optional(),
    })
    .optional(),
  /** Packet memory. */
  memory: z
    .strictObject({
      /** true requires hugepages, false runs without them (--no-huge, IOVA as VA), absent uses them when free. */
      hugepages: z.boolean().optional(),
      /** Mbufs in the packet pool (default 8191; best as 2^k - 1). */
      mbufs: z.number().int().min(1).max(2 ** 30 - 1).optional(),
      /** Per-lcore mbuf cache (default 256, at most 512). */
      mbufCache: z.number().int().min(0).max(512).optional(),
    })
    .optional(),
  /** Ports by name, in port-id order. */
  ports: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'port names start with a letter, then letters, digits, _ or -'), portSchema),
  /** Which CPUs run what. */
  lcores: z.strictObject({
    /** The main (control) lcore; defaults to the lowest lcore id no worker uses. */
    main: lcoreId.optional(),
    /** CPU of the main lcore (default: numbered like it). */
    mainCpu: cpuId.optional(),
    /** Worker lcores that run the poll loops; at least one. */
    workers: z.array(workerSchema).min(1, 'no worker lcores: the poll loops need at least one, e.g. workers: [1]'),
  }),
  /** Input port(s) → stages → output port(s). */
  pipelines: z.array(pipelineSchema),
  /** What the workers count in the stats segment. */
  stats: z
    .strictObject({
      /** Per-lcore software counters (default true). Off, port counts come from the drivers alone. */
      counters: z.boolean().optional(),
      /** Group (name or id) given the segment file, mode 0640, so that its members can read it. */
      group: z.union([z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'is not a group name'), z.number().int().min(0)]).optional(),
    })
    .optional(),
});

/** One port. */
export type PortConfig = z.input<typeof portSchema>;
/** One stage. */
export type StageConfig = z.input<typeof stageSchema>;
/** One pipeline. */
export type PipelineConfig = z.input<typeof pipelineSchema>;
/** A whole engine config. */
export type EngineConfig = z.input<typeof engineConfigSchema>;

/** Identity, for typing a config module: `export default defineConfig({ ... })`. */
export function defineConfig<const C extends EngineConfig>(config: C): C {
  return config;
}

// ---------------------------------------------------------------------------------------
// Validation.

/** `['ports', 'a', 'queues']` → `ports.a.queues`; numbers become `[i]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      // Keys that are not plain names (a space, a dot, nothing) are quoted, so that the path reads back.
      if (typeof key !== 'string' || !/^[A-Za-z_$][\w$-]*$/.test(key)) return `[${JSON.stringify(String(key))}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

interface Problem {
  path: PropertyKey[];
  message: string;
}

function schemaProblems(input: unknown, issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...issue.path];
    const got = valueAt(input, path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field (check its spelling)' }));
      case 'invalid_type':
        return [{ path, message: got === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, got ${describe(got)}` }];
      case 'invalid_union': {
        // Stages and actions: say which kinds exist rather than "invalid input".
        if (path.at(-2) === 'stages') {
          const kind = typeof got === 'string' ? got : (got as { kind?: unknown } | undefined)?.kind;
          if (typeof kind === 'string' && !(STAGE_KINDS as readonly string[]).includes(kind)) {
            return [{ path: typeof got === 'string' ? path : [...path, 'kind'], message: `unknown stage ${JSON.stringify(kind)} (stages: ${STAGE_KINDS.join(', ')})` }];
          }
          if (typeof got === 'object' && got !== null) {
            // A known kind with bad fields: report the inner problems.
            const inner = stageObject.safeParse(got);
            if (!inner.success) return schemaProblems(input, inner.error.issues.map((i) => ({ ...i, path: [...path, ...i.path] })));
          }
        }
        if (path.at(-1) === 'action') return [{ path, message: `${describe(got)} is not an action (use "drop", "count", { forward: port } or { mirror: port })` }];
        return [{ path, message: `${describe(got)} is not valid here` }];
      }
      default: {
        const shown = (typeof got === 'string' || typeof got === 'number') && !issue.message.includes(JSON.stringify(got)) ? `${describe(got)} ` : '';
        return [{ path, message: `${shown}${issue.message}` }];
      }
    }
  });
}

/** Checks what a schema cannot: names that must refer to ports, and queue ownership. */
function referenceProblems(config: z.output<typeof engineConfigSchema>): Problem[] {
  const problems: Problem[] = [];
  const ports = Object.keys(config.ports);
  const known = (name: string, path: PropertyKey[]) => {
    if (!ports.includes(name)) problems.push({ path, message: `${JSON.stringify(name)} is not a port (ports: ${ports.join(', ')})` });
  };
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : v);
  const inputOf = new Map<string, number>();
  const names = new Map<string, number>();
  config.pipelines.forEach((p, i) => {
    const name = p.name ?? `pipeline${i}`;
    if (names.has(name)) problems.push({ path: ['pipelines', i, 'name'], message: `${JSON.stringify(name)} is already pipelines[${names.get(name)}]` });
    names.set(name, i);
    if (p.input === undefined && p.generator === undefined) {
      problems.push({ path: ['pipelines', i], message: 'needs an input port or a generator' });
    }
    const inputPath = (k: number): PropertyKey[] => (typeof p.input === 'string' ? ['pipelines', i, 'input'] : ['pipelines', i, 'input', k]);
    list(p.input).forEach((port, k) => {
      known(port, inputPath(k));
      const other = inputOf.get(port);
      if (other !== undefined) problems.push({ path: inputPath(k), message: `port ${JSON.stringify(port)} is already the input of pipelines[${other}]; a port feeds one pipeline` });
      inputOf.set(port, i);
    });
    const outputs = list(p.output);
    outputs.forEach((port, k) => known(port, typeof p.output === 'string' ? ['pipelines', i, 'output'] : ['pipelines', i, 'output', k]));
    if (p.generator && outputs.length === 0) problems.push({ path: ['pipelines', i, 'output'], message: 'a generator needs an output port' });
    const matchNames = new Map<string, number>();
    (p.stages ?? []).forEach((stage, s) => {
      if (typeof stage === 'string') return;
      if (stage.kind === 'match') {
        const ruleName = stage.name ?? `stage${s}`;
        const other = matchNames.get(ruleName);
        if (other !== undefined) problems.push({ path: ['pipelines', i, 'stages', s, 'name'], message: `${JSON.stringify(ruleName)} already names stages[${other}]; counters are kept by name` });
        matchNames.set(ruleName, s);
      }
      if (stage.kind === 'match' && typeof stage.action === 'object') {
        const [verb, port] = Object.entries(stage.action)[0]!;
        known(port, ['pipelines', i, 'stages', s, 'action', verb]);
      }
      if (stage.kind === 'bridge') {
        if (outputs.length < 2) problems.push({ path: ['pipelines', i, 'stages', s], message: "a bridge forwards between the pipeline's output ports; give at least two" });
        list(p.input).forEach((port, k) => {
          if (!outputs.includes(port)) problems.push({ path: inputPath(k), message: `port ${JSON.stringify(port)} is bridged, so it must be an output too` });
        });
      }
    });
  });
  const owner = new Map<string, number>();
  config.lcores.workers.forEach((w, wi) => {
    if (typeof w === 'number' || !w.rx) return;
    w.rx.forEach((q, k) => {
      const path = ['lcores', 'workers', wi, 'rx', k];
      known(q.port, [...path, 'port']);
      const queues = config.ports[q.port]?.queues ?? 1;
      if (ports.includes(q.port) && q.queue >= queues) {
        problems.push({ path: [...path, 'queue'], message: `port ${JSON.stringify(q.port)} has ${queues} rx queue(s), so queue ${q.queue} does not exist` });
      }
      const key = `${q.port}:${q.queue}`;
      const other = owner.get(key);
      if (other !== undefined) {
        const lcore = config.lcores.workers[other];
        problems.push({ path, message: `queue ${q.queue} of port ${JSON.stringify(q.port)} is already polled by lcore ${typeof lcore === 'number' ? lcore : lcore?.lcore}; a queue has one owner` });
      }
      owner.set(key, wi);
    });
  });
  const lcores = config.lcores.workers.map((w) => (typeof w === 'number' ? w : w.lcore));
  lcores.forEach((l, i) => {
    if (lcores.indexOf(l) !== i) problems.push({ path: ['lcores', 'workers', i], message: `lcore ${l} is listed twice` });
    if (l === config.lcores.main) problems.push({ path: ['lcores', 'workers', i], message: `lcore ${l} is the main lcore; workers need lcores of their own` });
  });
  return problems;
}

/**
 * Checks `input` against the schema and its cross-references. Returns the config, or
 * throws a FastpathError with code ERR_CONFIG whose message lists every problem as
 * `path: reason`, separated by `; `.
 */
export function validateConfig(input: unknown): EngineConfig {
  const result = engineConfigSchema.safeParse(input);
  const problems = result.success ? referenceProblems(result.data) : schemaProblems(input, result.error.issues);
  if (problems.length === 0) return input as EngineConfig;
  const lines = [...new Set(problems.map((p) => `${formatPath(p.path) || 'config'}: ${p.message}`))];
  throw new FastpathError(ErrorCode.Config, lines.join('; '), { problems: lines });
}
