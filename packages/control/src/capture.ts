/**
 * Live capture of a running engine as a pcapng stream, in the engine's own process
 * (`engine.capture(options)`) or any other of its user (`ControlClient.connect(name)
 * .capture(options)`, what `fastpath capture` uses):
 *
 * ```ts
 * const capture = await engine.capture({ pipeline: 'edge', at: 'input', filter: 'udp port 53', count: 100 });
 * capture.pipe(createWriteStream('dns.pcapng'));
 * const { captured, dropped } = await capture.done;
 * ```
 *
 * The engine (crates/engine/src/capture) compiles the filter once (libpcap → rte_bpf, JIT where
 * DPDK has one), and its workers copy each matching packet (at most `snaplen` bytes) into a
 * shared-memory ring this process maps: no packet crosses a socket, and a worker never waits
 * for this reader (a full ring drops the copy and counts it, as `dropped`). The stream is
 * pcapng: the section and interface blocks librte_pcapng wrote in the engine (each port's
 * name, MAC and speed; a comment with the pipeline and point), then an enhanced packet block
 * per packet (nanosecond timestamps, the original length when snapped, the direction).
 *
 * It ends after `count` packets, after `durationS`, on `stop()`, or when the engine stops.
 * Destroying it stops the capture too; over a control connection, so does closing the
 * connection (a killed client leaves no ring behind).
 */
import { Readable } from 'node:stream';

import { ErrorCode, FastpathError } from '@fastpath/types';

import { native } from './native.js';
import type { ControlTransport } from './routes.js';

/** Where in a pipeline packets are copied. */
export type CapturePoint = 'input' | 'output' | 'drops';

export interface CaptureOptions {
  /** The pipeline (its name); none: every pipeline. */
  pipeline?: string;
  /** `input` (as received, before any stage; the default), `output` (as handed to a port, copies included) or `drops` (what the stages drop). */
  at?: CapturePoint;
  /** A tcpdump filter expression (`udp and dst port 53`); none: every packet. */
  filter?: string;
  /** Bytes kept of each packet (1 to 65,535, the default); the original length is kept too. */
  snaplen?: number;
  /** Stop after this many packets. */
  count?: number;
  /** Stop after this many seconds. */
  durationS?: number;
  /** Ring MiB per worker (default 4): room for bursts the reader has not caught up with. */
  bufferMiB?: number;
}

/** How a capture went. */
export interface CaptureCounts {
  /** Packets in the stream. */
  captured: number;
  /**
   * Copies the workers dropped because the ring was full (the reader fell behind), until the
   * capture ended or reached its `count`. Drops are counted, not placed: with a `count`, some
   * may have been of packets after the last one captured.
   */
  dropped: number;
}

/** What the engine answered to `capture.start`. */
interface Started {
  id: number;
  path: string;
  pipeline: string | null;
  at: CapturePoint;
  filter: string | null;
  jit: boolean;
  snaplen: number;
}

/** Packets read per native call at most. */
const BATCH = 4096;
/** How long the reader sleeps when the ring is empty. */
const IDLE_MS = 5;

/** A running capture: a Readable of pcapng bytes. */
export class Capture extends Readable {
  /** The engine's number for it. */
  readonly id: number;
  /** Whether the filter runs as native code (DPDK's BPF JIT) in the workers. */
  readonly jit: boolean;
  /** Resolves with the counts once the stream has ended (or was destroyed). */
  readonly done: Promise<CaptureCounts>;
  readonly #send: ControlTransport;
  #reader: ReturnType<typeof native>['CaptureReader']['prototype'] | undefined;
  #remaining: number;
  #stopping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #counts: CaptureCounts = { captured: 0, dropped: 0 };
  #gone = false;
  /** The counts when `count` was reached. */
  #final: CaptureCounts | undefined;
  #settle!: (counts: CaptureCounts) => void;

  private constructor(send: ControlTransport, started: Started, options: CaptureOptions) {
    super();
    this.#send = send;
    this.id = started.id;
    this.jit = started.jit;
    this.#remaining = options.count ?? Infinity;
    this.done = new Promise((resolve) => (this.#settle = resolve));
    try {
      this.#reader = native().CaptureReader.open(started.path);
    } catch (error) {
      void this.stop();
      throw error;
    }
    if (options.durationS !== undefined) {
      this.#deadline = setTimeout(() => void this.stop(), options.durationS * 1000);
      this.#deadline.unref();
    }
  }

  /** Starts a capture through `send` (the engine's control transport). */
  static async start(send: ControlTransport, options: CaptureOptions = {}): Promise<Capture> {
    for (const [key, value] of [['count', options.count], ['durationS', options.durationS]] as const) {
      if (value !== undefined && !(value > 0)) throw new FastpathError(ErrorCode.Control, `capture ${key} must be above 0, got ${value}`);
    }
    const { count: _count, durationS: _durationS, ...request } = options;
    const started = (await send({ op: 'capture.start', ...request })) as Started;
    return new Capture(send, started, options);
  }

  /** Packets so far, and copies dropped because the ring was full. */
  counts(): CaptureCounts {
    if (this.#reader) this.#counts = this.#reader.counts();
    return { ...this.#counts };
  }

  /** Ends the capture: the engine stops copying; what is in the ring still comes, then the stream ends. */
  stop(): Promise<void> {
    this.#stopping ??= this.#send({ op: 'capture.stop', id: this.id })
      .then(() => undefined)
      // Already ended (the engine stopped, or the connection closed): nothing to stop.
      .catch(() => undefined)
      .finally(() => this.#pump());
    return this.#stopping;
  }

  /** The engine is gone (its control connection closed): what the ring holds still comes, then the stream ends. */
  engineGone(): void {
    this.#gone = true;
    this.#pump();
  }

  override _read(): void {
    this.#pump();
  }

  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const reader = this.#reader;
    if (reader === undefined) return;
    for (;;) {
      const chunk = reader.read(Math.min(this.#remaining, BATCH));
      this.#remaining -= chunk.packets;
      if (this.#remaining === 0 && this.#stopping === undefined) {
        // The count is reached: what the workers drop from now on was not wanted.
        this.#final = reader.counts();
        void this.stop();
      }
      const more = chunk.bytes.length === 0 || this.push(chunk.bytes);
      // Done: the engine ended it and the ring is empty, or `count` reached and the engine
      // has been told (what it copied after the count is not wanted).
      if (chunk.done || (chunk.packets === 0 && (this.#gone || (this.#remaining === 0 && this.#stopping !== undefined)))) {
        this.#finish();
        this.push(null);
        return;
      }
      if (!more) return;
      if (chunk.packets === 0) break;
    }
    this.#timer = setTimeout(() => this.#pump(), IDLE_MS);
  }

  #finish(): void {
    if (this.#reader === undefined) return;
    this.#counts = this.#final ?? this.#reader.counts();
    this.#reader.close();
    this.#reader = undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
    this.#settle({ ...this.#counts });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.stop();
    this.#finish();
    callback(error);
  }
}
