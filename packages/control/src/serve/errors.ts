/**
 * Every error the API answers is `{ code, message, problems? }` with a stable `code` (the
 * FastpathError codes), so a client branches on `code`, never on the wording or the status:
 * the routes' errors, unknown routes, what Node's HTTP parser refuses before any route is
 * reached (a request timeout, headers too large, bytes that are not HTTP), and requests that
 * arrive while the server closes.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import { ControlErrorCode, ErrorCode, FastpathError, validateConfig } from '@fastpath/types';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

type Code = FastpathError['code'];

/** An error with the HTTP status to answer it with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
    readonly problems?: readonly string[],
  ) {
    super(message);
  }
}

/** The body of every error answer (also the OpenAPI document's error schema). */
export const errorSchema = z.object({
  code: z.string().describe('stable error code (ERR_CONFIG, ERR_NEEDS_RESTART, ERR_PERMISSION, ERR_REQUEST, ...)'),
  message: z.string().describe('what is wrong and what to do'),
  problems: z.array(z.string()).optional().describe('ERR_CONFIG, ERR_ROUTE: every problem as `path: reason` (a route file\'s: `line N: reason`)'),
});

/** The error answers every route may give (documented in the OpenAPI document). */
export const errorResponses = { 400: errorSchema, 401: errorSchema, 404: errorSchema, 503: errorSchema } as const;

/** The status each engine error is answered with. */
const STATUS: Partial<Record<Code, number>> = {
  [ErrorCode.Config]: 400,
  [ErrorCode.NeedsRestart]: 409,
  [ErrorCode.Stopped]: 503,
  [ErrorCode.Stats]: 503,
  [ErrorCode.Permission]: 401,
  [ControlErrorCode.ReadOnly]: 405,
  [ControlErrorCode.Request]: 400,
  [ErrorCode.Route]: 400,
  [ErrorCode.Control]: 400,
};

/** The config problems of a body the schema refused, worded as `fastpath validate` words them. */
function configProblems(body: unknown): readonly string[] {
  try {
    validateConfig(body);
  } catch (error) {
    if (error instanceof FastpathError) return error.problems;
  }
  return ['config: does not match the config schema'];
}

function toHttp(error: FastifyError | Error, request: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof FastpathError) return new HttpError(STATUS[error.code] ?? 500, error.code, error.message, error.code === ErrorCode.Config || error.code === ErrorCode.Route ? error.problems : undefined);
  if (hasZodFastifySchemaValidationErrors(error)) {
    if (request.routeOptions.url?.endsWith('/config')) {
      const problems = configProblems(request.body);
      return new HttpError(400, ErrorCode.Config, problems.join('; '), problems);
    }
    return new HttpError(400, ControlErrorCode.Request, error.message);
  }
  const status = (error as FastifyError).statusCode;
  // Fastify's own refusals (body too large 413, not JSON 415, unparsable JSON 400, ...).
  if (status !== undefined && status >= 400 && status < 500) return new HttpError(status, ControlErrorCode.Request, error.message);
  return new HttpError(500, ErrorCode.Internal, `unexpected error: ${error.message}`);
}

/** The status and message for what Node's HTTP parser refused (`error.code`). */
function clientError(code: string | undefined, timeoutMs: number): [number, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, `the request did not arrive whole within the server's request timeout (${timeoutMs / 1000} s): send it all at once`];
  if (code === 'HPE_HEADER_OVERFLOW') return [431, `the request's headers are over ${maxHeaderSize} bytes: send fewer or shorter ones`];
  return [400, `this is not an HTTP/1.1 request the server can read (${code ?? 'unparsable'}): send one such as curl sends`];
}

/**
 * Fastify's `clientErrorHandler` for a server whose request timeout is `timeoutMs`: what Node's
 * HTTP parser refuses never reaches a route, so it is answered here, on the socket, with the
 * same error body, and the socket closed.
 */
export const answerClientError = (timeoutMs: number) => (error: Error & { code?: string }, socket: Socket): void => {
  // Reset by the client, or gone already: there is no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = clientError(error.code, timeoutMs);
  const body = JSON.stringify({ code: ControlErrorCode.Request, message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
};

/**
 * Answers every error of `app`, and every unknown route, with an error body; and a request
 * that arrives while the server closes (on a connection still open) with 503 ERR_STOPPED
 * (Fastify's own 503 has no code: `return503OnClosing` must be off).
 */
export function answerErrors(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // The first onRequest hook: before the token check, which would answer 401.
  app.addHook('onRequest', async () => {
    if (closing) throw new HttpError(503, ErrorCode.Stopped, 'this server is closing and takes no new requests: retry once it (or the one replacing it) listens again');
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const http = toHttp(error, request);
    if (http.status >= 500) request.log.error(error);
    if (http.status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(http.status).send({ code: http.code, message: http.message, ...(http.problems ? { problems: http.problems } : {}) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: ControlErrorCode.Request, message: `no route ${request.method} ${request.url.split('?', 1)[0]}: GET /api/v1/openapi.json lists them` }),
  );
}
