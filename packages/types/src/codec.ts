/**
 * The wire format to the engine: `{ version, config }` as msgpack, where `config` is the
 * config exactly as written (shorthands and all, `undefined` members left out), so that the
 * engine reads the shape zod checked and reports every problem at the path the user wrote.
 * The version is beside the config, not in it, so a config can never carry its own.
 */
import { Packr } from 'msgpackr';

import { defined, SCHEMA_VERSION, validateConfig, type EngineConfig } from './config.js';

// Plain maps with string keys, no records or structures: what serde reads as a struct.
const packr = new Packr({ useRecords: false, variableMapSize: true });

/**
 * Integers beyond 32 bits as BigInt: msgpackr writes other numbers past 2^32 as floats,
 * which the engine's integer fields (u64: a generator's `count`) rightly refuse. Numbers
 * that are not safe integers stay floats (the schema refuses those too).
 */
function exactIntegers(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && (value > 0xffff_ffff || value < -0x8000_0000) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(exactIntegers);
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactIntegers(v)]));
  }
  return value;
}

/** The wire value for `config`: `{ version, config }`, `undefined` members left out. */
export function toWire(config: EngineConfig): { version: number; config: EngineConfig } {
  return { version: SCHEMA_VERSION, config: defined(config) };
}

/**
 * Encodes any value as the engine would receive it as a config, without checking it (for
 * tools and tests: the engine decodes it or says why not).
 */
export function encodeUnchecked(config: unknown): Uint8Array {
  return packr.pack(exactIntegers(toWire(config as EngineConfig)));
}

/** Checks the shape of `config` and encodes it for the engine. Throws ERR_CONFIG on a bad shape. */
export function encodeConfig(config: EngineConfig): Uint8Array {
  return encodeUnchecked(validateConfig(config));
}

/** Decodes what {@link encodeConfig} wrote (for tools and tests). */
export function decodeConfig(bytes: Uint8Array): Record<string, unknown> {
  return packr.unpack(bytes) as Record<string, unknown>;
}
