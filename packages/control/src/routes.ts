/**
 * Route tables of a running engine: add, delete, look up and list routes live, from the
 * engine's own process (`engine.routes(table)`) or any other (`ControlClient.connect(name)
 * .routes(table)`, what `fastpath routes` uses). Both speak the engine's control API
 * (crates/engine/src/control): a request is a JSON object with an `op`, the engine checks it
 * (every rule is the engine's: prefixes, next hops, room) and answers. A change is one batch,
 * all or nothing, and workers switch to it between two bursts: no packet waits and none is
 * sent where no version of the table said.
 */
import { FastpathError, type ErrorCode } from '@fastpath/types';

/** A route: a prefix (`198.18.0.0/24`, `2001:db8::/32`) and the name of a next hop of its table. */
export interface Route {
  prefix: string;
  via: string;
}

/** Counts per family. */
export interface PerFamily {
  ipv4: number;
  ipv6: number;
}

/** What one change did. */
export interface RouteChange {
  /** The table's name. */
  table: string;
  /** Routes that were not there before. */
  added: number;
  /** Routes whose next hop was given again (changed or not). */
  replaced: number;
  /** Routes deleted. */
  deleted: number;
  /** Routes the table holds now. */
  size: PerFamily;
  /** How long the change took in the engine, grace periods included. */
  ms: number;
}

/** Where a packet to `address` goes now. */
export interface RouteLookup {
  address: string;
  /** The longest prefix that covers it, or null. */
  prefix: string | null;
  /** The next hop the workers' table answers (the default's when no prefix covers it), or null: dropped as `noRoute`. */
  via: string | null;
}

/** A route table: the route stage it belongs to, its size and room, its next hops. */
export interface RouteTableInfo {
  /** Its stage's name, or `pipeline/stage` when several pipelines have a route stage of that name. */
  name: string;
  pipeline: string;
  stage: string;
  size: PerFamily;
  /** Routes each family's table has room for (`maxRoutes`); 0: that family has no table. */
  room: PerFamily;
  nextHops: string[];
  default: string | null;
}

/** Called while a long change works: edits made of how many (every 65,536 edits). */
export type OnProgress = (done: number, total: number) => void;

/** Sends one control request and resolves to its answer's `ok` (throws the error it carries). */
export type ControlTransport = (request: Record<string, unknown>, onProgress?: OnProgress) => Promise<unknown>;

interface Answer {
  ok?: unknown;
  error?: { code: ErrorCode; message: string; problems?: string[] };
  progress?: { done: number; total: number };
}

/** The `ok` of an answer line, or its error thrown as a FastpathError (with `problems`). */
export function answerOf(line: string): unknown {
  const answer = JSON.parse(line) as Answer;
  if (answer.error) {
    const { code, message, problems } = answer.error;
    throw new FastpathError(code, message, problems && problems.length > 0 ? { problems } : undefined);
  }
  return answer.ok;
}

/** Routes given as items, or as a route file's text (l3fwd's `R<prefix> <port>` or `<prefix> <nextHop>` lines). */
export type RoutesInput = readonly Route[] | { text: string };
/** Prefixes given as a list, or as text with a prefix first on each line (a route file deletes its own routes). */
export type PrefixesInput = readonly string[] | { text: string };

/** One route table of a running engine. */
export class RouteTable {
  readonly #send: ControlTransport;
  readonly #table: string | undefined;

  /** `table` undefined: the engine's only route table. */
  constructor(send: ControlTransport, table?: string) {
    this.#send = send;
    this.#table = table;
  }

  /** Adds routes, or replaces the next hop of those already there; one change, all or nothing (ERR_ROUTE names each bad item or line). */
  async add(routes: RoutesInput, options: { onProgress?: OnProgress } = {}): Promise<RouteChange> {
    const body = 'text' in routes ? { text: routes.text } : { routes };
    return (await this.#send({ op: 'routes.add', table: this.#table, ...body }, options.onProgress)) as RouteChange;
  }

  /** Deletes routes by prefix; one change, all or nothing (a prefix that is not routed is refused). */
  async delete(prefixes: PrefixesInput, options: { onProgress?: OnProgress } = {}): Promise<RouteChange> {
    const body = 'text' in prefixes ? { text: prefixes.text } : { prefixes };
    return (await this.#send({ op: 'routes.delete', table: this.#table, ...body }, options.onProgress)) as RouteChange;
  }

  /** Where packets to `address` go now. */
  async lookup(address: string): Promise<RouteLookup>;
  /** Where packets to each address go now, in order. */
  async lookup(addresses: readonly string[]): Promise<RouteLookup[]>;
  async lookup(addresses: string | readonly string[]): Promise<RouteLookup | RouteLookup[]> {
    const list = typeof addresses === 'string' ? [addresses] : addresses;
    const { results } = (await this.#send({ op: 'routes.lookup', table: this.#table, addresses: list })) as { results: RouteLookup[] };
    return typeof addresses === 'string' ? results[0]! : results;
  }

  /** Every route, IPv4 then IPv6, by address then length: fetched a page (10,000) at a time as you iterate. */
  async *list(options: { pageSize?: number } = {}): AsyncGenerator<Route> {
    let after: string | null = null;
    do {
      const page = (await this.#send({ op: 'routes.list', table: this.#table, after: after ?? undefined, limit: options.pageSize })) as { routes: Route[]; next: string | null };
      yield* page.routes;
      after = page.next;
    } while (after !== null);
  }

  /** Routes held, per family. */
  async size(): Promise<PerFamily> {
    return (await this.info()).size;
  }

  /** The table's name, size, room and next hops. */
  async info(): Promise<RouteTableInfo> {
    const tables = await routeTables(this.#send);
    const found = tables.find((t) => this.#table === undefined || t.name === this.#table || `${t.pipeline}/${t.stage}` === this.#table);
    if (found === undefined || (this.#table === undefined && tables.length !== 1)) {
      // The engine says why (no table, several, an unknown name) in the words of every request.
      await this.#send({ op: 'routes.list', table: this.#table, limit: 1 });
    }
    return found!;
  }
}

/** Every route table of the engine behind `send`. */
export async function routeTables(send: ControlTransport): Promise<RouteTableInfo[]> {
  return ((await send({ op: 'routes.tables' })) as { tables: RouteTableInfo[] }).tables;
}
