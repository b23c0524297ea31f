/**
 * What the API serves: an Engine in this process (full: info, stats, live config changes), or
 * a StatsReader attached to an engine in another process (read-only: the segment is all it
 * can see). Both read counters from the stats segment, so serving never calls into the data
 * plane except for a config change.
 */
import { ControlErrorCode, ErrorCode, FastpathError, type EngineStats } from '@fastpath/types';

import { Engine } from '../engine.js';
import { StatsReader } from '../stats-reader.js';

export type ServeSource = Engine | StatsReader;

export class Source {
  readonly engine: Engine | undefined;
  /** The segment, mapped once: rates, memory map, metrics (an Engine's own reader is private). */
  readonly reader: StatsReader;
  readonly #ownReader: boolean;

  constructor(source: ServeSource) {
    if (source instanceof Engine) {
      this.engine = source;
      this.reader = StatsReader.open(source.info.statsPath);
      this.#ownReader = true;
    } else {
      this.engine = undefined;
      this.reader = source;
      this.#ownReader = false;
    }
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

  /** Whether the engine is up: not stopped, its heartbeat recent, its process there. */
  get ready(): boolean {
    return (this.engine === undefined || !this.engine.stopped) && this.reader.alive;
  }

  close(): void {
    if (this.#ownReader) this.reader.close();
  }
}
