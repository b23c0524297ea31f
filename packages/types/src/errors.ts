/**
 * Stable error codes. Every error Fastpath hands to JavaScript carries one as `error.code`.
 * The engine's codes are defined in Rust (crates/engine/src/error.rs) and must match these;
 * a test compares the two lists.
 */
export const ErrorCode = {
  /** The config is malformed or describes something impossible. */
  Config: 'ERR_CONFIG',
  /** DPDK's EAL failed to initialise. */
  EalInit: 'ERR_EAL_INIT',
  /** EAL already ran in this process; it starts once per process. */
  EalAlready: 'ERR_EAL_ALREADY',
  /** Hugepages were required but not enough are free. */
  NoHugepages: 'ERR_NO_HUGEPAGES',
  /** A port could not be found, configured or started. */
  Port: 'ERR_PORT',
  /** The packet buffer pool could not be created. */
  Mempool: 'ERR_MEMPOOL',
  /** A worker lcore could not be launched or failed. */
  Lcore: 'ERR_LCORE',
  /** The engine was already stopped. */
  Stopped: 'ERR_STOPPED',
  /** A live change needs a restart (ports, queue counts, lcores); the engine runs on unchanged. */
  NeedsRestart: 'ERR_NEEDS_RESTART',
  /** A stats segment is missing, stale, corrupt or of another layout version. */
  Stats: 'ERR_STATS',
  /** The platform probe could not read what it needs (sysfs, procfs). */
  Probe: 'ERR_PROBE',
  /** devbind refused a device (each refusal says why and what to do) or could not write. */
  Devbind: 'ERR_DEVBIND',
  /** This user may not do what the config asks (hugepages it cannot write, the segment's directory): grant it, or change the setting. */
  Permission: 'ERR_PERMISSION',
  /** A route change was refused (a bad prefix or next hop, no such table, a table full, a route that is not there): nothing of it was applied. */
  Route: 'ERR_ROUTE',
  /** A control request could not be served: no engine of that name answers (not running, or its control socket is not this user's), or the engine does not take the request. */
  Control: 'ERR_CONTROL',
  /** A bug: something that should not happen did. */
  Internal: 'ERR_INTERNAL',
} as const;

/** Codes raised by the TypeScript side only. */
export const ControlErrorCode = {
  /** The native binding is missing or cannot load on this platform. */
  Native: 'ERR_NATIVE',
  /** An HTTP request to `fastpath serve` that is not one the API takes: unknown route, too large, not JSON, too deep, bad query. */
  Request: 'ERR_REQUEST',
  /** `fastpath serve --attach` reads another process's engine: changes go through the process that started it. */
  ReadOnly: 'ERR_READ_ONLY',
} as const;

export type ErrorCode =
  | (typeof ErrorCode)[keyof typeof ErrorCode]
  | (typeof ControlErrorCode)[keyof typeof ControlErrorCode];

const CODE_PREFIX = /^\[(ERR_[A-Z_]+)\] ([\s\S]*)$/;
const KNOWN = new Set<string>([...Object.values(ErrorCode), ...Object.values(ControlErrorCode)]);

/** An error with a stable `code` and a message that says what is wrong and what to do. */
export class FastpathError extends Error {
  override readonly name = 'FastpathError';

  /** For ERR_CONFIG from validation: each problem as `path: reason`. */
  readonly problems: readonly string[];

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; problems?: readonly string[] },
  ) {
    super(message, options);
    this.problems = options?.problems ?? [message];
  }

  /** Turns an error from the native binding (`[ERR_X] message`) into a FastpathError. */
  static fromNative(error: unknown): FastpathError {
    const message = error instanceof Error ? error.message : String(error);
    const match = CODE_PREFIX.exec(message);
    if (match && KNOWN.has(match[1]!)) {
      return new FastpathError(match[1] as ErrorCode, match[2]!, { cause: error });
    }
    return new FastpathError(ErrorCode.Internal, `unexpected native error: ${message}`, { cause: error });
  }
}

/** Whether `error` is a FastpathError (optionally with the given code). */
export function isFastpathError(error: unknown, code?: ErrorCode): error is FastpathError {
  return error instanceof FastpathError && (code === undefined || error.code === code);
}
