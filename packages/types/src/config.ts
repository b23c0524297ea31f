/**
 * The engine config: TypeScript types and their runtime schema (zod), and the shape check
 * whose errors name the exact path and the reason:
 *
 *   pipelines[1].priority: unknown field (check its spelling)
 *
 * The schema holds the config's shape only: objects and their fields (unknown fields are
 * errors), unions, enums and literals, strings, booleans, and integers within the range of
 * the Rust field that stores them (u8, u16, u32, u64: a type, not a rule). Whatever it
 * accepts, the engine decodes (serde, `deny_unknown_fields`), and the other way round.
 *
 * Every rule beyond the shape (references between ports, pipelines and workers, bounds
 * such as queues 1-64, formats such as MACs and prefixes) is the engine's, written once in
 * Rust (crates/engine/src/validate/) and reported through the binding's `configProblems`:
 * `@fastpath/control` runs the shape check here, then those rules.
 */
import { z } from 'zod';

import { ErrorCode, FastpathError } from './errors.js';

/** The config schema version this package writes (the version of the wire: see codec.ts). */
export const SCHEMA_VERSION = 3;

// ---------------------------------------------------------------------------------------
// Integers as the engine stores them: the range of the Rust type, nothing more.

const uint = (max: number) => z.number().int().min(0).max(max);
const u8 = uint(255);
const u16 = uint(65535);
const u32 = uint(2 ** 32 - 1);
/** Up to 2^64 - 1 in Rust; zod's integers stop at 2^53 - 1 (the codec sends them exactly). */
const u64 = z.number().int().min(0);
const lcoreId = u32;
const cpuId = u32;
const portName = z.string();
const oneOrMany = z.union([portName, z.array(portName)]);
const l4Port = z.union([u16, z.tuple([u16, u16])]);
/** A MAC address, `02:00:00:00:00:01` (the engine checks the format). */
const mac = z.string();

// ---------------------------------------------------------------------------------------
// Ports.

const portSchema = z.strictObject({
  /** A raw DPDK vdev spec: `net_null0`, `net_ring0`, `net_memif0,role=server`, ... */
  vdev: z.string().optional(),
  /** A PCI address to allow-list and drive, e.g. `0000:03:00.0`. */
  pci: z.string().optional(),
  /** Packets read from `rx` and written to `tx` (net_pcap). */
  pcap: z.strictObject({ rx: z.string().optional(), tx: z.string().optional(), infiniteRx: z.boolean().optional() }).optional(),
  /** A kernel interface through AF_PACKET sockets (net_af_packet). */
  afPacket: z.strictObject({ iface: z.string() }).optional(),
  /** A new kernel TAP interface (net_tap). */
  tap: z.strictObject({ iface: z.string().optional() }).optional(),
  /** An in-memory ring whose tx feeds its own rx (net_ring). */
  ring: z.strictObject({}).optional(),
  /** A packet sink and endless source (net_null); `size` 14-9000. */
  null: z.strictObject({ size: u16.optional() }).optional(),
  /**
   * Shared-memory rings with another process through a Unix socket (net_memif): a client
   * needs its server listening when the engine starts; `id` (default 0) picks the server's
   * interface. Socket paths are absolute.
   */
  memif: z.strictObject({ role: z.enum(['server', 'client']), socket: z.string(), id: u32.optional() }).optional(),
  /** The vhost-user backend of a virtio device (net_vhost): listens on `socket`, or connects (`client`, reconnecting). */
  vhost: z.strictObject({ socket: z.string(), client: z.boolean().optional() }).optional(),
  /** A virtio device whose backend is the vhost-user socket `path` (net_virtio_user): connects, or listens (`server`). */
  virtioUser: z.strictObject({ path: z.string(), server: z.boolean().optional() }).optional(),
  /** A kernel interface's queues `queue`.. through AF_XDP sockets (net_af_xdp); needs root. */
  afXdp: z.strictObject({ iface: z.string(), queue: u16.optional() }).optional(),
  /** Rx queues, 1-64 (RSS spreads packets over them where the driver can hash). Default 1. */
  queues: u16.optional(),
  /** Rx ring size (default 1024). */
  rxDescriptors: u16.optional(),
  /** Tx ring size (default 1024). */
  txDescriptors: u16.optional(),
  /** Accept every destination MAC (default true). */
  promiscuous: z.boolean().optional(),
  /** MTU to set (at least 68). */
  mtu: u16.optional(),
  /** MAC address to set. */
  mac: mac.optional(),
});

// ---------------------------------------------------------------------------------------
// Stages.

const matchSchema = z.strictObject({
  /** Ethertype after any VLAN tags, e.g. 0x0800 (IPv4), 0x86dd (IPv6). */
  ethertype: u16.optional(),
  /** Outer VLAN id (0-4095). */
  vlan: u16.optional(),
  /** Source prefix: `10.0.0.0/8`, `2001:db8::/32`, or one address. */
  src: z.string().optional(),
  /** Destination prefix. */
  dst: z.string().optional(),
  /** IP protocol: a name or a number. */
  proto: z.union([z.enum(['tcp', 'udp', 'icmp', 'icmpv6', 'sctp']), u8]).optional(),
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

/** One route: an IPv4 or IPv6 prefix (`198.18.0.0/24`, `2001:db8::/32`, or one address) and the name of its next hop. */
const routeSchema = z.strictObject({ prefix: z.string(), via: z.string() });

/** Where a next hop is: the port to send on, its MAC, and the source MAC (default: the port's own). */
const nextHopSchema = z.strictObject({ port: portName, dstMac: mac, srcMac: mac.optional() });

/**
 * One ACL rule: every given field must hold (docs/routing.md, "ACL"). The rule checked first
 * has the highest `priority` (default 0), then comes first in the list; the first that
 * matches acts, as a match stage's action does, and counts its hit under its `name`
 * (default `rule<i>`). The rules themselves are checked by the engine.
 */
export const aclRuleSchema = z.strictObject({
  name: z.string().optional(),
  priority: u32.optional(),
  /** Source prefix: `10.0.0.0/8`, `2001:db8::/32`, or one address. */
  src: z.string().optional(),
  /** Destination prefix (of src's family). */
  dst: z.string().optional(),
  /** Source L4 ports: one, or a range `'1024-65535'`. */
  srcPorts: z.union([u16, z.string()]).optional(),
  /** Destination L4 ports. */
  dstPorts: z.union([u16, z.string()]).optional(),
  /** IP protocol: a name or a number. */
  proto: z.union([z.enum(['tcp', 'udp', 'icmp', 'icmpv6', 'sctp']), u8]).optional(),
  /** Bits of proto that must match (default 0xff). */
  protoMask: u8.optional(),
  /** Outer VLAN id (0-4095). */
  vlan: u16.optional(),
  action: actionSchema,
});

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
  z.strictObject({ kind: z.literal('match'), name: z.string().optional(), match: matchSchema, action: actionSchema }),
  /** An L2 MAC-learning bridge over the pipeline's output ports; `agingS` 1-86400. */
  z.strictObject({ kind: z.literal('bridge'), agingS: u32.optional() }),
  /**
   * Longest-prefix-match routing (RFC 1812): TTL / hop limit − 1, the next hop's MACs, out of
   * its port; expired, bad and unroutable packets are dropped and counted (docs/config.md).
   */
  z.strictObject({
    kind: z.literal('route'),
    name: z.string().optional(),
    routes: z.array(routeSchema).optional(),
    /** More routes from a file: l3fwd's `R<prefix> <port>` lines (the port number names a next hop) or `<prefix> <nextHop>` lines; relative to the working directory. */
    routesFile: z.string().optional(),
    nextHops: z.record(z.string(), nextHopSchema),
    default: z.string().optional(),
    /** Routes each family's table has room for, for routes added live (default: the config's, rounded up to a power of two, at least 1024). */
    maxRoutes: z.strictObject({ ipv4: u32.optional(), ipv6: u32.optional() }).optional(),
  }),
  /**
   * An ACL on DPDK's rte_acl: thousands of rules over prefixes, port ranges, protocol and
   * VLAN, first match wins; inline `rules` or a `rulesFile` in l3fwd's ACL format (each line a
   * drop rule), not both. Packets no rule matches `pass` (default) or `drop`. `memoryMiB`
   * bounds each classifier's tries (default 4 MiB + 2 KiB a rule).
   */
  z.strictObject({
    kind: z.literal('acl'),
    name: z.string().optional(),
    rules: z.array(aclRuleSchema).optional(),
    rulesFile: z.string().optional(),
    default: z.enum(['pass', 'drop']).optional(),
    memoryMiB: u32.optional(),
  }),
]);

export const STAGE_KINDS = ['io', 'macRewrite', 'macSwap', 'fiveTupleSwap', 'drop', 'match', 'bridge', 'route', 'acl'] as const;

const stageSchema = z.union([z.enum(simpleKinds), stageObject]);

/** One frame size, or a size and its weight in a mix. */
const sizeItem = z.union([u16, z.strictObject({ size: u16, weight: u32 })]);

const generatorSchema = z.strictObject({
  /** Frame size in bytes without FCS, 60-2048 (default 64). */
  packetSize: u16.optional(),
  /**
   * Frame sizes without FCS instead of packetSize: one, a list made in turn, 'imix' (7:4:1 of
   * 60/566/1514: 64/570/1518-byte frames on the wire), or `{ size, weight }`s made in proportion.
   */
  sizes: z.union([u16, z.literal('imix'), z.string(), z.array(sizeItem)]).optional(),
  /** UDP source port (default 1024) or a range 'lo-hi' stepped through packet by packet. */
  srcPort: z.union([u16, z.string()]).optional(),
  /** UDP destination port (default 9) or a range 'lo-hi'. */
  dstPort: z.union([u16, z.string()]).optional(),
  /**
   * Paced rate, exactly one of: packets per second; bits per second (frames and their FCS);
   * percent of the output port's link speed (frames, FCS, preamble and gap: 100 is line rate).
   */
  rate: z.union([z.strictObject({ pps: z.number() }), z.strictObject({ bps: z.number() }), z.strictObject({ percent: z.number() })]).optional(),
  /** Every packet is a latency probe: its round trip, when it comes back to the engine, goes in `pipelines[].probes`. */
  probe: z.boolean().optional(),
  /** Distinct flows, 1-65536 (UDP source port and source address vary; default 1). */
  flows: u32.optional(),
  /** Packets per burst, 1-32 (default 32). */
  burst: u16.optional(),
  /** Source MAC (default: the output port's). */
  srcMac: mac.optional(),
  /** Destination MAC (default 02:00:00:00:00:02). */
  dstMac: mac.optional(),
  /** Source IPv4 or IPv6 address (default 198.18.0.1), or a range 'first-last' stepped through packet by packet. */
  srcIp: z.string().optional(),
  /** Destination address (default 198.19.0.1), or a range 'first-last'. */
  dstIp: z.string().optional(),
  /** Stop after this many packets (at least 1). */
  count: u64.optional(),
});

const pipelineSchema = z.strictObject({
  /** A name for stats and errors (default `pipeline<i>`). */
  name: z.string().optional(),
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
    rx: z.array(z.strictObject({ port: portName, queue: u16 })).optional(),
  }),
]);

export const engineConfigSchema = z.strictObject({
  /** EAL settings. */
  eal: z
    .strictObject({
      /** Runtime-directory prefix (letters, digits, _ . -); defaults to fastpath-<pid>. Unique per process. */
      filePrefix: z.string().optional(),
      /** Force an IOVA mode. */
      iovaMode: z.enum(['PA', 'VA']).optional(),
      /** EAL --log-level, e.g. "notice" or "lib.eal:debug". */
      logLevel: z.string().optional(),
      /** Echo DPDK's log to stderr (default true). */
      logToStderr: z.boolean().optional(),
      /** Extra EAL arguments, appended last. */
      extraArgs: z.array(z.string()).optional(),
      /**
       * Let DPDK secondary processes attach (dpdk-dumpcap, dpdk-proc-info): hugepage files stay
       * linked while the engine runs and pdump is served; the data path pays only while a
       * dumpcap captures. Needs hugepages (default false).
       */
      secondaryProcesses: z.boolean().optional(),
    })
    .optional(),
  /** Packet memory. */
  memory: z
    .strictObject({
      /** true requires hugepages, false runs without them (--no-huge, IOVA as VA), absent uses them when free. */
      hugepages: z.boolean().optional(),
      /** Mbufs in the packet pool (default 8191, at most 2^30 - 1; best as 2^k - 1). */
      mbufs: u32.optional(),
      /** Per-lcore mbuf cache (default 256, at most 512). */
      mbufCache: u32.optional(),
    })
    .optional(),
  /** Ports by name (a letter, then letters, digits, _ or -), in port-id order. */
  ports: z.record(z.string(), portSchema),
  /** Which CPUs run what. */
  lcores: z.strictObject({
    /** The main (control) lcore; defaults to the lowest lcore id no worker uses. */
    main: lcoreId.optional(),
    /** CPU of the main lcore (default: numbered like it). */
    mainCpu: cpuId.optional(),
    /** Worker lcores that run the poll loops; at least one. */
    workers: z.array(workerSchema),
    /**
     * Start even when another live engine's worker polls a CPU a worker of this one would
     * (each poll loop then gets about half of it). Default false: such a start is refused.
     */
    shareCpus: z.boolean().optional(),
  }),
  /** Input port(s) → stages → output port(s). */
  pipelines: z.array(pipelineSchema),
  /** What the workers count in the stats segment. */
  stats: z
    .strictObject({
      /** Per-lcore software counters (default true). Off, port counts come from the drivers alone. */
      counters: z.boolean().optional(),
      /** Group (name or id) given the segment file, mode 0640, so that its members can read it. */
      group: z.union([z.string(), u32]).optional(),
      /** Latency histograms, `pipelines[].latency` (default true, with counters): two TSC reads and a histogram record per burst. */
      latency: z.boolean().optional(),
    })
    .optional(),
});

/** One port. */
export type PortConfig = z.input<typeof portSchema>;
/** One stage. */
export type StageConfig = z.input<typeof stageSchema>;
/** An ACL stage. */
export type AclStageConfig = Extract<StageConfig, { kind: 'acl' }>;
/** One rule of an ACL stage. */
export type AclRuleConfig = z.input<typeof aclRuleSchema>;
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

/** What a union takes, from each alternative's complaint about the value: `one of "tcp", "udp" or a number`. */
function alternatives(errors: readonly (readonly z.core.$ZodIssue[])[]): string {
  const values: string[] = [];
  const kinds: string[] = [];
  for (const alternative of errors) {
    const issue = alternative.find((i) => i.path.length === 0) ?? alternative[0];
    if (issue?.code === 'invalid_value') values.push(...issue.values.map((v) => JSON.stringify(v)));
    if (issue?.code === 'invalid_type') kinds.push({ array: 'an array', object: 'an object', tuple: 'an array' }[issue.expected as string] ?? `a ${issue.expected}`);
    if (issue?.code === 'too_big') kinds.push(`a ${issue.origin} <= ${String(issue.maximum)}`);
    if (issue?.code === 'too_small') kinds.push(`a ${issue.origin} >= ${String(issue.minimum)}`);
  }
  const listed = [...(values.length > 0 ? [`${values.length > 1 ? 'one of ' : ''}${values.join(', ')}`] : []), ...kinds];
  if (listed.length === 0) return 'another value';
  return listed.length === 1 ? listed[0]! : `${listed.slice(0, -1).join(', ')} or ${listed.at(-1)!}`;
}

function describe(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
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
        // One alternative of the value's own type: its problems are the ones inside it.
        const inside = issue.errors.filter((alternative) => alternative.length > 0 && alternative.every((i) => i.path.length > 0));
        if (inside.length === 1) return schemaProblems(input, inside[0]!.map((i) => ({ ...i, path: [...path, ...i.path] })));
        return [{ path, message: `${describe(got)} is not valid here (expected ${alternatives(issue.errors)})` }];
      }
      default: {
        const shown = (typeof got === 'string' || typeof got === 'number') && !issue.message.includes(JSON.stringify(got)) ? `${describe(got)} ` : '';
        return [{ path, message: `${shown}${issue.message}` }];
      }
    }
  });
}

/** `undefined` members dropped (an absent field, as the engine reads it; see codec.ts). */
export function defined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(defined) as T;
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, defined(v)]),
    ) as T;
  }
  return value;
}

/**
 * Checks the shape of `input` against the schema: its objects, fields, types and kinds.
 * Returns the config, or throws a FastpathError with code ERR_CONFIG whose message lists
 * every shape problem as `path: reason`, separated by `; ` (and `problems`, one each).
 *
 * The shape only: a config that passes may still break the engine's rules (an unknown
 * port, a bad MAC, 65 queues), which `@fastpath/control` checks next through the binding
 * (`Engine.validate`). Those rules need a well-formed config, so a config with shape
 * problems is reported for its shape problems alone.
 */
export function validateConfig(input: unknown): EngineConfig {
  const result = engineConfigSchema.safeParse(defined(input));
  if (result.success) return input as EngineConfig;
  const problems = schemaProblems(input, result.error.issues);
  const lines = [...new Set(problems.map((p) => `${formatPath(p.path) || 'config'}: ${p.message}`))];
  throw new FastpathError(ErrorCode.Config, lines.join('; '), { problems: lines });
}
