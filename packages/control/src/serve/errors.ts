/**
 * Every error the API answers is `{ code, message, problems? }` with a stable `code` (the
 * FastpathError codes), so a client branches on `code`, never on the wording or the status.
 */
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

/** Answers every error of `app`, and every unknown route, with an error body. */
export function answerErrors(app: FastifyInstance): void {
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
