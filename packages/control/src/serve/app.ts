/**
 * The API as a Fastify app, and `serve()`, which listens with it. Requests are parsed and
 * checked by Fastify and zod (the config schema of `@fastpath/types` is PUT /config's body
 * schema, and the OpenAPI document is generated from the same schemas); nothing here parses
 * HTTP by hand. Limits keep a hostile client from holding the server: bodies of at most 1 MiB,
 * JSON at most 32 deep, a whole request within 10 s (a slowloris is cut off), idle
 * connections closed.
 */
import fastifySwagger from '@fastify/swagger';
import { ControlErrorCode, ErrorCode, FastpathError } from '@fastpath/types';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';

import { DEFAULT_LISTEN, isLoopback, parseListen, readTokenFile, requireToken } from './auth.js';
import { aclRoutes } from './acls.js';
import { captureRoutes } from './capture.js';
import { configRoutes } from './config.js';
import { dashboardRoutes } from './dashboard.js';
import { answerClientError, answerErrors, HttpError } from './errors.js';
import { eventsRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { infoRoutes } from './info.js';
import { metricsRoutes } from './metrics.js';
import { routeRoutes } from './routes.js';
import { Source, type ServeSource } from './source.js';
import { statsRoutes } from './stats.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes read and change. */
    source: Source;
  }
}

/** The app as the routes see it: zod schemas type their requests. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

export interface ServeOptions {
  /** `HOST:PORT` (default 127.0.0.1:9400; port 0 picks a free one). Any non-loopback host needs a token. */
  listen?: string;
  /** The bearer token every route but /healthz then requires (mutating calls always do). */
  token?: string;
  /** A 0600 file holding the token (instead of `token`). */
  tokenFile?: string;
  /** Largest request body, in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** How long a whole request (headers and body) may take to arrive, in ms (default 10 s). */
  requestTimeoutMs?: number;
  /** Fastify's logger (default off: the engine's output stays readable). */
  logger?: boolean;
}

/** Largest JSON nesting accepted: a config is at most a few levels deep. */
export const MAX_JSON_DEPTH = 32;

/** How deep `value` nests, counted without recursion (a hostile body cannot blow the stack). */
function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d);
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** The token the options give, if any (a token file is checked: 0600, a real token). */
function tokenOf(options: ServeOptions): string | undefined {
  if (options.token !== undefined && options.tokenFile !== undefined) throw new FastpathError(ErrorCode.Config, 'give token or tokenFile, not both');
  return options.tokenFile === undefined ? options.token : readTokenFile(options.tokenFile);
}

/**
 * The API over `source` as a Fastify app, not listening: mount it in a server of your own, or
 * `inject` requests. `serve()` listens with it. Routes: the dashboard at /, /api/v1/{info,
 * stats,rates,config,routes,acls,capture,events,openapi.json}, /metrics, /healthz, /readyz.
 */
export async function createApp(source: ServeSource, options: ServeOptions = {}): Promise<FastifyInstance> {
  const token = tokenOf(options);
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // The whole request (headers and body) within 10 s, checked every second (Node's default
    // is every 30 s: a slowloris would hold a socket that long); a silent socket closed after 30 s.
    requestTimeout,
    http: { connectionsCheckingInterval: 1_000 },
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // What Node's parser refuses (408, 431, 400) and a request while closing (503) answer
    // with the API's error body, code and all (answerErrors), not Fastify's.
    clientErrorHandler: answerClientError(requestTimeout),
    return503OnClosing: false,
  });
  // JSON only: a text/plain body is refused with 415 instead of reaching a schema as a string.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const served = new Source(source);
  app.decorate('source', served);
  app.addHook('onClose', async () => served.close());
  answerErrors(app);
  requireToken(app, token);
  app.addHook('preValidation', async (request) => {
    if (request.body !== undefined && depthOf(request.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      throw new HttpError(400, ControlErrorCode.Request, `the body nests deeper than ${MAX_JSON_DEPTH} levels; a config is a few levels deep`);
    }
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Fastpath engine API', version: '1', description: 'See docs/serve.md. Every error body is { code, message, problems? }.' },
      components: token === undefined ? {} : { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(token === undefined ? {} : { security: [{ bearer: [] }] }),
    },
    transform: jsonSchemaTransform,
  });
  const api = app.withTypeProvider<ZodTypeProvider>();
  healthRoutes(api);
  metricsRoutes(api);
  dashboardRoutes(app);
  await app.register(
    async (v1) => {
      const typed = v1.withTypeProvider<ZodTypeProvider>();
      infoRoutes(typed);
      statsRoutes(typed);
      configRoutes(typed);
      routeRoutes(typed);
      aclRoutes(typed);
      captureRoutes(typed);
      eventsRoutes(typed);
      typed.get('/openapi.json', { schema: { summary: 'This document', hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/** A listening API: its address, and `close()`, which stops serving (the engine runs on). */
export interface ServeHandle {
  /** `http://HOST:PORT` as bound (the port chosen when 0 was asked for). */
  url: string;
  host: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Serves the API for `source` (an Engine of this process, or a StatsReader attached to one in
 * another process) on `options.listen`. Refuses (ERR_PERMISSION) a non-loopback address
 * without a token: the API would be open to the network.
 */
export async function serve(source: ServeSource, options: ServeOptions = {}): Promise<ServeHandle> {
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  if (!isLoopback(host) && options.token === undefined && options.tokenFile === undefined) {
    throw new FastpathError(ErrorCode.Permission, `listening on ${host} opens the API to other machines: give a token file (--token-file FILE, a 0600 file holding a token, e.g. openssl rand -hex 32 > FILE), or listen on 127.0.0.1`);
  }
  const app = await createApp(source, options);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw new FastpathError(ErrorCode.Config, `cannot listen on ${options.listen ?? DEFAULT_LISTEN}: ${(error as Error).message}`);
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${bound}`, host, port: bound, app, close: () => app.close() };
}
