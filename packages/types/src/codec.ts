/** The wire format to the engine: the validated config plus its schema version, as msgpack. */
import { Packr } from 'msgpackr';

import { SCHEMA_VERSION, validateConfig, type EngineConfig } from './config.js';

// Plain maps with string keys, no records or structures: what serde reads as a struct.
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** Drops `undefined` members, which serde would read as an explicit nil. */
function defined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defined);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, defined(v)]),
    );
  }
  return value;
}

/** Validates `config` and encodes it for the engine. Throws ERR_CONFIG on a bad config. */
export function encodeConfig(config: EngineConfig): Uint8Array {
  const valid = validateConfig(config);
  return packr.pack({ version: SCHEMA_VERSION, ...(defined(valid) as object) });
}

/** Decodes what {@link encodeConfig} wrote (for tools and tests). */
export function decodeConfig(bytes: Uint8Array): EngineConfig & { version: number } {
  return packr.unpack(bytes) as EngineConfig & { version: number };
}
