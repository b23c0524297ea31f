/**
 * The engine config: TypeScript types, their runtime schema, and validation whose errors
 * name the exact path (`ports[1].vdev: ...`). The Rust engine decodes the same shape with
 * serde (`deny_unknown_fields`); unknown fields are errors on both sides.
 */
import { z } from 'zod';

import { ErrorCode, FastpathError } from './errors.js';

/** The config schema version this package writes. */
export const SCHEMA_VERSION = 1;

const lcoreId = z.number().int().min(0).max(1023);
const u16 = (min: number) => z.number().int().min(min).max(65535);

const portSchema = z
  .strictObject({
    /** Display name; defaults to the device name. */
    name: z.string().min(1).optional(),
    /** A DPDK vdev spec: `net_null0`, `net_ring0`, `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`, ... */
    vdev: z
      .string()
      .regex(/^[A-Za-z0-9_]+(,.*)?$/, 'must start with a device name such as net_null0, then optional ,key=value arguments')
      .optional(),
    /** A PCI address to allow-list and drive, e.g. `0000:03:00.0`. */
    pci: z
      .string()
      .regex(/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/, 'must be a PCI address like 0000:03:00.0')
      .optional(),
    /** Rx ring size (default 1024). */
    rxDescriptors: u16(1).optional(),
    /** Tx ring size (default 1024). */
    txDescriptors: u16(1).optional(),
    /** Accept every destination MAC (default true). */
    promiscuous: z.boolean().optional(),
  })
  .refine((p) => (p.vdev === undefined) !== (p.pci === undefined), {
    message: 'give exactly one of vdev or pci',
  });

export const engineConfigSchema = z.strictObject({
  /** Ports in port-id order; io forwarding pairs them 0↔1, 2↔3, ... */
  ports: z.array(portSchema).min(2, 'give at least two ports (io forwarding pairs them 0↔1)'),
  /** Which CPUs run what. */
  lcores: z.strictObject({
    /** The main (control) lcore; defaults to the first CPU not used by a worker. */
    main: lcoreId.optional(),
    /** Worker lcores that run the poll loops; at least one. */
    workers: z.array(lcoreId).min(1, 'no worker lcores: the poll loops need at least one, e.g. workers: [1]'),
  }),
  /** Packet memory. */
  memory: z
    .strictObject({
      /** true requires hugepages, false runs without them (--no-huge, IOVA as VA), absent uses them when free. */
      hugepages: z.boolean().optional(),
      /** Mbufs in the packet pool (default 8191; best as 2^k - 1). */
      mbufs: z.number().int().min(1).max(2 ** 31).optional(),
      /** Per-lcore mbuf cache (default 256, at most 512). */
      mbufCache: z.number().int().min(0).max(512).optional(),
    })
    .optional(),
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
});

/** One port: a vdev or a PCI device. */
export type PortConfig = z.input<typeof portSchema>;
/** A whole engine config. */
export type EngineConfig = z.input<typeof engineConfigSchema>;

/** Identity, for typing a config module: `export default defineConfig({ ... })`. */
export function defineConfig(config: EngineConfig): EngineConfig {
  return config;
}

/** `['ports', 1, 'vdev']` → `ports[1].vdev`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
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

/**
 * Checks `input` against the schema. Returns the config, or throws a FastpathError with
 * code ERR_CONFIG whose message lists every problem as `path: reason`.
 */
export function validateConfig(input: unknown): EngineConfig {
  const result = engineConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((key) => `${formatPath([...issue.path, key])}: unknown field (check its spelling)`)
        .join('; ');
    }
    const path = formatPath(issue.path) || 'config';
    if (issue.code === 'invalid_type') {
      const got = valueAt(input, issue.path);
      return got === undefined
        ? `${path}: missing (expected ${issue.expected})`
        : `${path}: expected ${issue.expected}, got ${describe(got)}`;
    }
    const got = valueAt(input, issue.path);
    const shown = typeof got === 'string' || typeof got === 'number' ? `${describe(got)} ` : '';
    return `${path}: ${shown}${issue.message}`;
  });
  throw new FastpathError(ErrorCode.Config, problems.join('; '));
}
