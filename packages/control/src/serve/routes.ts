/**
 * The route tables, over HTTP: what `engine.routes(…)` and `fastpath routes` do. GET lists
 * tables, pages of a table and lookups; POST adds (or replaces) routes and DELETE deletes them,
 * each one change, all or nothing (400 ERR_ROUTE with every problem when refused). Served for
 * an engine of this process, and for an attached one through its control socket.
 */
import { z } from 'zod';

import { routeTables, RouteTable } from '../routes.js';
import type { Api } from './app.js';
import { errorResponses, errorSchema } from './errors.js';

const perFamily = z.object({ ipv4: z.number(), ipv6: z.number() });
const route = z.object({ prefix: z.string().describe('198.18.0.0/24, 2001:db8::/32'), via: z.string().describe("a next hop of the table's stage") });
const table = z.object({
  name: z.string(),
  pipeline: z.string(),
  stage: z.string(),
  size: perFamily,
  room: perFamily.describe('routes each family has room for (maxRoutes)'),
  nextHops: z.array(z.string()),
  default: z.string().nullable(),
});
const change = z.object({ table: z.string(), added: z.number(), replaced: z.number(), deleted: z.number(), size: perFamily, ms: z.number() });
const params = z.object({ table: z.string().describe("the route stage's name (or pipeline/stage)") });
const changeErrors = { ...errorResponses, 405: errorSchema, 413: errorSchema, 415: errorSchema };

export function routeRoutes(app: Api): void {
  app.get(
    '/routes',
    { schema: { summary: 'The route tables: stage, size, room, next hops', querystring: z.object({}).strict(), response: { 200: z.array(table), ...errorResponses } } },
    async () => routeTables(app.source.control),
  );
  app.get(
    '/routes/:table',
    {
      schema: {
        summary: "A page of a table's routes, IPv4 then IPv6, by address then length; follow `next`",
        params,
        querystring: z.object({ after: z.string().optional().describe('the previous page’s `next`'), limit: z.coerce.number().int().min(1).max(10_000).default(10_000) }).strict(),
        response: { 200: z.object({ routes: z.array(route), next: z.string().nullable() }), ...errorResponses },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      return (await app.source.control({ op: 'routes.list', table: request.params.table, after, limit })) as { routes: z.output<typeof route>[]; next: string | null };
    },
  );
  app.get(
    '/routes/:table/lookup',
    {
      schema: {
        summary: 'Where packets to these addresses go now',
        params,
        querystring: z.object({ address: z.union([z.string(), z.array(z.string())]).describe('repeat for several') }).strict(),
        response: { 200: z.array(z.object({ address: z.string(), prefix: z.string().nullable(), via: z.string().nullable() })), ...errorResponses },
      },
    },
    async (request) => {
      const { address } = request.query;
      return new RouteTable(app.source.control, request.params.table).lookup(typeof address === 'string' ? [address] : address);
    },
  );
  app.post(
    '/routes/:table',
    {
      schema: {
        summary: 'Add (or replace) routes: items and/or route file text, one change, all or nothing',
        params,
        body: z.object({ routes: z.array(route).optional(), text: z.string().optional().describe("route file lines: l3fwd's R<prefix> <port>, or <prefix> <nextHop>") }).strict(),
        response: { 200: change, ...changeErrors },
      },
    },
    async (request) => (await app.source.control({ op: 'routes.add', table: request.params.table, ...request.body })) as z.output<typeof change>,
  );
  app.delete(
    '/routes/:table',
    {
      schema: {
        summary: 'Delete routes by prefix (items and/or route file text), one change, all or nothing',
        params,
        body: z.object({ prefixes: z.array(z.string()).optional(), text: z.string().optional() }).strict(),
        response: { 200: change, ...changeErrors },
      },
    },
    async (request) => (await app.source.control({ op: 'routes.delete', table: request.params.table, ...request.body })) as z.output<typeof change>,
  );
}
