/**
 * The wire format to the engine: the validated config in the shape serde reads (ports as a
 * named list, shorthands expanded), plus the schema version, as msgpack.
 */
import { Packr } from 'msgpackr';

import { SCHEMA_VERSION, validateConfig, type EngineConfig, type StageConfig } from './config.js';

// Plain maps with string keys, no records or structures: what serde reads as a struct.
const packr = new Packr({ useRecords: false, variableMapSize: true });

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132, icmpv6: 58 };

/** Drops `undefined` members, which serde would read as an explicit nil. */
function defined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(defined) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, defined(v)]),
    ) as T;
  }
  return value;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);
const range = (v: number | [number, number] | undefined) => (typeof v === 'number' ? [v, v] : v);

function wireStage(stage: StageConfig): object {
  if (typeof stage === 'string') return { kind: stage };
  if (stage.kind !== 'match') return stage;
  const { proto, srcPort, dstPort, ...rest } = stage.match;
  const action = typeof stage.action === 'string'
    ? { kind: stage.action }
    : 'forward' in stage.action
      ? { kind: 'forward', port: stage.action.forward }
      : { kind: 'mirror', port: stage.action.mirror };
  return {
    kind: 'match',
    name: stage.name,
    match: { ...rest, proto: typeof proto === 'string' ? PROTOCOLS[proto] : proto, srcPort: range(srcPort), dstPort: range(dstPort) },
    action,
  };
}

/** The config in the engine's wire shape (serde's field names and forms). */
export function toWire(config: EngineConfig): object {
  return defined({
    version: SCHEMA_VERSION,
    eal: config.eal,
    memory: config.memory,
    ports: Object.entries(config.ports).map(([name, port]) => ({ name, ...port })),
    lcores: {
      main: config.lcores.main,
      mainCpu: config.lcores.mainCpu,
      workers: config.lcores.workers.map((w) => (typeof w === 'number' ? { lcore: w } : w)),
    },
    pipelines: config.pipelines.map((p) => ({
      name: p.name,
      input: list(p.input),
      generator: p.generator,
      stages: (p.stages ?? []).map(wireStage),
      output: list(p.output),
    })),
    stats: config.stats && { ...config.stats, group: config.stats.group === undefined ? undefined : String(config.stats.group) },
  });
}

/** Validates `config` and encodes it for the engine. Throws ERR_CONFIG on a bad config. */
export function encodeConfig(config: EngineConfig): Uint8Array {
  return packr.pack(toWire(validateConfig(config)));
}

/** Decodes what {@link encodeConfig} wrote (for tools and tests). */
export function decodeConfig(bytes: Uint8Array): Record<string, unknown> {
  return packr.unpack(bytes) as Record<string, unknown>;
}
