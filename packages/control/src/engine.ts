/**
 * The engine, as a Node service embeds it.
 *
 * ```ts
 * await using engine = await Engine.start({
 *   ports: { a: { null: {} }, b: { null: {} } },
 *   lcores: { workers: [1] },
 *   pipelines: [{ input: 'a', output: 'b' }, { input: 'b', output: 'a' }],
 * });
 * console.log(engine.iovaMode, engine.stats().ports);
 * await engine.apply({ ...config, pipelines: [...] }); // live, hitless
 * ```
 *
 * EAL runs on a thread of its own inside this process (never Node's main thread), and
 * only once per process: after `stop()`, start the next engine in a new process.
 */
import {
  encodeConfig,
  ErrorCode,
  FastpathError,
  type EngineConfig,
  type EngineInfo,
  type EngineStats,
} from '@fastpath/types';

import { Capture, type CaptureOptions } from './capture.js';
import { isLoadingConfig } from './load-config.js';
import { native, type NativeEngine } from './native.js';
import { answerOf, routeTables, RouteTable, type ControlTransport, type RouteTableInfo } from './routes.js';
import { StatsReader } from './stats-reader.js';

/**
 * Checks `config` and encodes it as the binding takes it: its shape first (zod, in
 * `@fastpath/types`), then, the shape being fine, the engine's rules (references, bounds,
 * formats: crates/engine/src/validate/) through `configProblems`, which starts nothing.
 * Either way a bad config is ERR_CONFIG with every problem as `path: reason` in `problems`;
 * a config with shape problems is reported for those alone (the rules need a well-formed one).
 */
export function wire(config: EngineConfig): Buffer {
  const encoded = encodeConfig(config);
  const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  let problems;
  try {
    problems = native().configProblems(bytes);
  } catch (error) {
    throw FastpathError.fromNative(error);
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.path || 'config'}: ${p.message}`);
    throw new FastpathError(ErrorCode.Config, lines.join('; '), { problems: lines });
  }
  return bytes;
}

export class Engine implements AsyncDisposable {
  readonly #native: NativeEngine;
  readonly #info: EngineInfo;
  /** The engine's own stats segment, read like any other process reads it. */
  readonly #reader: StatsReader;
  /** The config running now: the one started with, then each one applied. */
  #config: EngineConfig;
  #final: Promise<EngineStats> | undefined;

  private constructor(nativeEngine: NativeEngine, config: EngineConfig) {
    this.#native = nativeEngine;
    this.#config = config;
    this.#info = nativeEngine.info() as EngineInfo;
    this.#reader = StatsReader.open(this.#info.statsPath);
  }

  /**
   * Validates `config` (its shape, then the engine's rules: ERR_CONFIG with every problem),
   * starts EAL, the ports and the worker lcores. Rejects with a FastpathError (`code`
   * ERR_CONFIG, ERR_EAL_INIT, ERR_NO_HUGEPAGES, ...) on failure; the Node process is never
   * exited.
   */
  static async start(config: EngineConfig): Promise<Engine> {
    if (isLoadingConfig()) {
      throw new FastpathError(ErrorCode.Config, 'a module being loaded as a config tried to start an engine; run its main code only when it is the program (runExample does so), and export the config');
    }
    const bytes = wire(config);
    const binding = native();
    try {
      return new Engine(await binding.startEngine(bytes), config);
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
  }

  /**
   * Swaps in `config`'s pipelines, stages and rules while the engine runs: no worker is
   * paused and no packet is lost or duplicated by the swap. Ports, queue counts, lcores,
   * memory and EAL settings cannot change live: such a config is refused with
   * ERR_NEEDS_RESTART, and a refused config (ERR_CONFIG too, with every problem, checked
   * as `Engine.validate` checks it) leaves the engine untouched. Resolves to the new
   * pipeline generation.
   */
  async apply(config: EngineConfig): Promise<number> {
    const bytes = wire(config);
    let generation: number;
    try {
      generation = await this.#native.apply(bytes);
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
    this.#config = config;
    return generation;
  }

  /**
   * Checks `config` as far as is possible without starting DPDK: its shape (zod), then the
   * engine's rules (references, bounds, formats; every problem, in config order), then the
   * lcore, port and memory plan on this machine. Throws ERR_CONFIG (or ERR_NO_HUGEPAGES)
   * whose `problems` are the `path: reason` lines (message: them joined by `; `). With shape
   * problems only those are reported: the rules need a well-formed config.
   */
  static validate(config: unknown): EngineConfig {
    const bytes = wire(config as EngineConfig);
    try {
      native().checkConfig(bytes);
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
    return config as EngineConfig;
  }

  /**
   * The config running now, as given to `start` or the last `apply` that succeeded (what
   * `fastpath serve` answers on GET /api/v1/config, to edit and apply again).
   */
  get config(): EngineConfig {
    return this.#config;
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

  /**
   * Every counter, read from the engine's stats segment: the same object, field for field,
   * that `StatsReader.snapshot()` and `fastpath stats --json` give in any other process.
   * Plain memory reads, no native call. Throws ERR_STOPPED after `stop()`.
   */
  stats(): EngineStats {
    if (this.#final) throw new FastpathError(ErrorCode.Stopped, 'the engine is stopped; start a new one (in a new process: EAL runs once per process)');
    return this.#reader.snapshot();
  }

  /**
   * Sends one request to the engine's control API in this process (what its control socket
   * serves to others: crates/engine/src/control) and resolves to the answer's `ok`; throws its
   * error as a FastpathError. `routes()` is the typed way in.
   */
  readonly control: ControlTransport = async (request) => {
    let line;
    try {
      line = await this.#native.control(JSON.stringify(request));
    } catch (error) {
      throw FastpathError.fromNative(error);
    }
    return answerOf(line);
  };

  /**
   * Route table `table` (its route stage's name, or `pipeline/stage`; none: the only one),
   * changed live: `add`, `delete`, `lookup`, `list`, `size`. Each change is one batch, all or
   * nothing (ERR_ROUTE names each bad item or line); workers switch to it between bursts. A
   * config applied with the stage unchanged keeps the routes added here; a changed stage
   * starts from its config's routes. Other processes do the same through
   * `ControlClient.connect(name)` or `fastpath routes`.
   */
  routes(table?: string): RouteTable {
    return new RouteTable(this.control, table);
  }

  /** Every route table: name, pipeline and stage, size, room, next hops. */
  routeTables(): Promise<RouteTableInfo[]> {
    return routeTables(this.control);
  }

  /**
   * Starts a live capture: a Readable of pcapng (capture.ts) with the packets of `pipeline`
   * at `at` that `filter` (tcpdump syntax) matches, ending after `count` packets, `durationS`,
   * `stop()`, or with the engine. Other processes do the same through
   * `ControlClient.connect(name).capture()` or `fastpath capture`.
   */
  capture(options: CaptureOptions = {}): Promise<Capture> {
    return Capture.start(this.control, options);
  }

  /**
   * Stops the workers, closes the ports, cleans EAL up; resolves to the final counters (the
   * segment's last state: this process keeps its mapping after the file is removed).
   * Idempotent.
   */
  stop(): Promise<EngineStats> {
    this.#final ??= (async () => {
      try {
        await this.#native.stop();
      } catch (error) {
        this.#reader.close();
        throw FastpathError.fromNative(error);
      }
      const last = this.#reader.snapshot();
      // The segment's file is gone; let go of its pages now, not at garbage collection.
      this.#reader.close();
      return last;
    })();
    return this.#final;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
