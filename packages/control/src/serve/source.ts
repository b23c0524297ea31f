/**
 * What the API serves: an Engine in this process (full: info, stats, live config changes), or
 * a StatsReader attached to an engine in another process (read-only: the segment is all it
 * can see). Both read counters from the stats segment, so serving never calls into the data
 * plane except for a config change. Attached, a server outlives its engine: once that engine
 * is gone and another of its name runs, the next read finds the new one (as a supervisor
 * restarting the engine expects of `fastpath serve --attach NAME`).
 */
import { ControlErrorCode, ErrorCode, FastpathError, type EngineStats } from '@fastpath/types';

import { ControlClient } from '../control-client.js';
import { Engine } from '../engine.js';
import type { ControlTransport } from '../routes.js';
import { StatsReader } from '../stats-reader.js';

export type ServeSource = Engine | StatsReader;

/** How often an attached server whose engine is gone looks for a new one of its name. */
const REATTACH_MS = 1000;

export class Source {
  readonly engine: Engine | undefined;
  #reader: StatsReader;
  #ownReader: boolean;
  #lookedAt = 0;

  constructor(source: ServeSource) {
    if (source instanceof Engine) {
      this.engine = source;
      this.#reader = StatsReader.open(source.info.statsPath);
      this.#ownReader = true;
    } else {
      this.engine = undefined;
      this.#reader = source;
      this.#ownReader = false;
    }
  }

  /**
   * The segment, mapped once: rates, memory map, metrics (an Engine's own reader is private).
   * Attached, a segment whose engine is gone is swapped for a live one of the same name when
   * there is one (looked for at most once a second: the check is a system call).
   */
  get reader(): StatsReader {
    if (this.engine === undefined && Date.now() - this.#lookedAt >= REATTACH_MS) {
      this.#lookedAt = Date.now();
      if (!this.#reader.alive) this.#reattach();
    }
    return this.#reader;
  }

  #reattach(): void {
    let next: StatsReader;
    try {
      next = StatsReader.attach(this.#reader.name);
    } catch {
      // None of that name runs (yet): keep serving the last one's final counters.
      return;
    }
    if (next.pid === this.#reader.pid) {
      next.close();
      return;
    }
    if (this.#ownReader) this.#reader.close();
    this.#reader = next;
    this.#ownReader = true;
  }

  /** The snapshot, the JSON `fastpath stats --json` prints; ERR_STOPPED once a served engine stopped. */
  stats(): EngineStats {
    return this.engine ? this.engine.stats() : this.reader.snapshot();
  }

  /** The engine, to change; refused when attached (ERR_READ_ONLY) or stopped. */
  changeable(): Engine {
    if (this.engine === undefined) {
      throw new FastpathError(ControlErrorCode.ReadOnly, `this server is attached to ${this.reader.name}'s stats segment and can only read: change the config through the process that started the engine (fastpath serve CONFIG serves an engine it can change)`);
    }
    if (this.engine.stopped) throw new FastpathError(ErrorCode.Stopped, 'the engine is stopped; start a new one');
    return this.engine;
  }

  #client: Promise<ControlClient> | undefined;

  /**
   * The engine's control API (route tables): in process for an Engine; attached, through the
   * engine's control socket, connected at the first request and again after a restart.
   */
  readonly control: ControlTransport = async (request, onProgress) => {
    if (this.engine !== undefined) return this.engine.control(request, onProgress);
    this.#client ??= ControlClient.connect(this.reader.name);
    let client;
    try {
      client = await this.#client;
      return await client.send(request, onProgress);
    } catch (error) {
      if (client !== undefined && !client.closed) throw error; // the engine's answer
      // A refused connection or one the engine closed: it is not running (now); connect anew
      // next time, as the segment is looked for anew.
      this.#client = undefined;
      client?.close();
      const why = error instanceof Error ? error.message : String(error);
      throw new FastpathError(ErrorCode.Stopped, `${this.reader.name} does not answer on its control socket (${why})`, { cause: error });
    }
  };

  /** Whether the engine is up: not stopped, its heartbeat recent, its process there. */
  get ready(): boolean {
    return (this.engine === undefined || !this.engine.stopped) && this.reader.alive;
  }

  close(): void {
    if (this.#ownReader) this.#reader.close();
    void this.#client?.then((c) => c.close(), () => undefined);
  }
}
