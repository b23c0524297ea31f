/**
 * Loads the native binding: `native/fastpath.<platform-arch-abi>.node`, built by
 * `@napi-rs/cli` from crates/node. The platform triple comes from `@napi-rs/triples`, so
 * an unsupported machine gets a clear error rather than a dlopen failure.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ControlErrorCode, FastpathError } from '@fastpath/types';
import { platformArchTriples } from '@napi-rs/triples';

import type * as Binding from '../native/binding.js';

export type { NativeEngine } from '../native/binding.js';

const require = createRequire(import.meta.url);
const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');

/** The only target Fastpath builds: DPDK's Debian packages are linux-x64-gnu. */
const SUPPORTED = 'linux-x64-gnu';

function abi(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  // glibc reports its version in the process report; musl does not.
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

function bindingName(): string {
  const triples = platformArchTriples[process.platform]?.[process.arch] ?? [];
  const wanted = abi();
  const triple = triples.find((t) => t.abi === wanted) ?? triples[0];
  if (!triple) {
    throw new FastpathError(
      ControlErrorCode.Native,
      `Fastpath has no native build for ${process.platform}-${process.arch}; it runs on ${SUPPORTED}`,
    );
  }
  return triple.platformArchABI;
}

let loaded: typeof Binding | undefined;

/** The binding, loaded once. Throws ERR_NATIVE with what to do when it cannot load. */
export function native(): typeof Binding {
  if (loaded) return loaded;
  const name = bindingName();
  const file = join(nativeDir, `fastpath.${name}.node`);
  if (!existsSync(file)) {
    throw new FastpathError(
      ControlErrorCode.Native,
      name === SUPPORTED
        ? `the native binding ${file} is not built; run \`npm run setup\` (or \`pnpm --filter @fastpath/control build:native\`)`
        : `Fastpath has no native build for ${name}; it runs on ${SUPPORTED}`,
    );
  }
  try {
    loaded = require(file) as typeof Binding;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new FastpathError(
      ControlErrorCode.Native,
      `cannot load ${file}: ${why}. Install DPDK's runtime (apt-get install dpdk) and rebuild with \`npm run setup\``,
      { cause },
    );
  }
  return loaded;
}
