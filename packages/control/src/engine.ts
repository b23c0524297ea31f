/**
 * The engine, as a Node service embeds it.
 *
 * ```ts
 * await using engine = await Engine.start({ ports: [{ vdev: 'net_null0' }, { vdev: 'net_null1' }], lcores: { workers: [1] } });
 * console.log(engine.iovaMode, engine.stats().ports);
 * ```
 *
 * EAL runs on a thread of its own inside this process (never Node's main thread), and
 * only once per process: after `stop()`, start the next engine in a new process.
 */
import {
  encodeConfig,
  FastpathError,
  type EngineConfig,
  type EngineInfo,
  type EngineStats,
} from '@fastpath/types';

import { native, type NativeEngine } from './native.js';

export class Engine implements AsyncDisposable {
  readonly #native: NativeEngine;
  readonly #info: EngineInfo;
  #final: Promise<EngineStats> | undefined;

  private constructor(nativeEngine: NativeEngine) {
    this.#native = nativeEngine;
    this.#info = nativeEngine.info() as EngineInfo;
  }

  /**
   * Validates `config`, starts EAL, the ports and the worker lcores. Rejects with a
   * FastpathError (`code` ERR_CONFIG, ERR_EAL_INIT, ERR_NO_HUGEPAGES, ...) on failure;
   * the Node process is never exited.
   */
  static async start(config: EngineConfig): Promise<Engine> {
    const bytes = encodeConfig(config);
    const binding = native();
    try {
      return new Engine(await binding.startEngine(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
  }

  /** Facts fixed at start: IOVA mode, lcores, mempool, ports, EAL argv. */
  get info(): EngineInfo {
    return this.#info;
  }

  /** The IOVA mode DPDK selected. */
  get iovaMode(): 'PA' | 'VA' {
    return this.#info.iovaMode;
  }

  /** Whether `stop()` has been called. */
  get stopped(): boolean {
    return this.#final !== undefined;
  }

  /** A snapshot of every counter. Throws ERR_STOPPED after `stop()`. */
  stats(): EngineStats {
    try {
      return this.#native.stats();
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
  }

  /** Stops the workers, closes the ports, cleans EAL up; resolves to the final counters. Idempotent. */
  stop(): Promise<EngineStats> {
    this.#final ??= (async () => {
      try {
        return await this.#native.stop();
      } catch (error) {
        throw FastpathError.fromNative(error);
      }
    })();
    return this.#final;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
