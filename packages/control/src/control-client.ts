/**
 * A connection to a running engine's control socket, from any process of the engine's user:
 *
 * ```ts
 * await using client = await ControlClient.connect('edge'); // or no name: the only engine
 * await client.routes('core').add([{ prefix: '198.18.0.0/24', via: 'uplink' }]);
 * ```
 *
 * The socket (`<EAL runtime dir>/fastpath-control.sock`, 0600) carries newline-delimited
 * JSON: a request per line, `{progress}` lines while a long change works, then one answer
 * (crates/engine/src/control/socket.rs). Requests on one connection are answered in order.
 */
import { createConnection, type Socket } from 'node:net';

import { ErrorCode, FastpathError } from '@fastpath/types';

import { Capture, type CaptureOptions } from './capture.js';
import { native } from './native.js';
import { answerOf, routeTables, RouteTable, type ControlTransport, type OnProgress, type RouteTableInfo } from './routes.js';
import { StatsReader } from './stats-reader.js';

interface Pending {
  onProgress: OnProgress | undefined;
  resolve: (line: string) => void;
  reject: (error: Error) => void;
}

/** The engine `name` names, or the only running one. */
function engineName(name: string | undefined): string {
  if (name !== undefined) return name;
  const alive = StatsReader.list().filter((e) => e.alive);
  if (alive.length === 1) return alive[0]!.name;
  throw new FastpathError(
    ErrorCode.Control,
    alive.length === 0
      ? 'no Fastpath engine is running on this machine (fastpath ls lists them)'
      : `${alive.length} engines are running (${alive.map((e) => e.name).join(', ')}): name one`,
  );
}

export class ControlClient implements AsyncDisposable {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #buffered = '';
  #closed: Error | undefined;
  /** The engine's name (its EAL file prefix). */
  readonly name: string;

  private constructor(socket: Socket, name: string) {
    this.#socket = socket;
    this.name = name;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    const gone = (error?: Error) => {
      this.#closed ??= new FastpathError(ErrorCode.Control, `engine ${JSON.stringify(name)} closed its control socket${error ? ` (${error.message})` : ''}: it stopped`);
      for (const p of this.#pending.splice(0)) p.reject(this.#closed);
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  /** Connects to engine `name`'s control socket (no name: the only running engine). Throws ERR_CONTROL saying why when none answers. */
  static async connect(name?: string): Promise<ControlClient> {
    const engine = engineName(name);
    const path = native().controlSocketPath(engine);
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const why =
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? `no engine named ${JSON.stringify(engine)} answers at ${path}: is it running? (fastpath ls lists engines)`
            : error.code === 'EACCES'
              ? `${path} is not this user's: run as the user that started engine ${JSON.stringify(engine)}`
              : `could not reach engine ${JSON.stringify(engine)} at ${path}: ${error.message}`;
        reject(new FastpathError(ErrorCode.Control, why, { cause: error }));
      });
    });
    return new ControlClient(socket, engine);
  }

  #receive(chunk: string): void {
    this.#buffered += chunk;
    let end;
    while ((end = this.#buffered.indexOf('\n')) >= 0) {
      const line = this.#buffered.slice(0, end);
      this.#buffered = this.#buffered.slice(end + 1);
      const pending = this.#pending[0];
      if (pending === undefined) continue;
      const progress = line.startsWith('{"progress"') ? (JSON.parse(line) as { progress: { done: number; total: number } }).progress : undefined;
      if (progress) {
        pending.onProgress?.(progress.done, progress.total);
        continue;
      }
      this.#pending.shift();
      pending.resolve(line);
    }
  }

  /** Sends one request; resolves to its answer's `ok`, or throws its error (a FastpathError with the engine's code). */
  readonly send: ControlTransport = async (request, onProgress) => {
    if (this.#closed) throw this.#closed;
    const line = await new Promise<string>((resolve, reject) => {
      this.#pending.push({ onProgress, resolve, reject });
      this.#socket.write(`${JSON.stringify(request)}\n`);
    });
    return answerOf(line);
  };

  /** Whether the engine closed the connection (it stopped), or `close()` was called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Route table `table` (its stage's name; none: the engine's only one). */
  routes(table?: string): RouteTable {
    return new RouteTable(this.send, table);
  }

  /** Every route table of the engine. */
  routeTables(): Promise<RouteTableInfo[]> {
    return routeTables(this.send);
  }

  /**
   * Starts a live capture (a Readable of pcapng; capture.ts). It belongs to this connection:
   * closing it (or this process ending, however it ends) stops the capture in the engine.
   */
  async capture(options: CaptureOptions = {}): Promise<Capture> {
    const capture = await Capture.start(this.send, options);
    if (this.#closed) capture.engineGone();
    else this.#socket.once('close', () => capture.engineGone());
    return capture;
  }

  /** Closes the connection (the engine is not affected). */
  close(): void {
    this.#closed ??= new FastpathError(ErrorCode.Control, 'this control connection was closed');
    this.#socket.end();
    this.#socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
