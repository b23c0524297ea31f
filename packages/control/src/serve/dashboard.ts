/**
 * The dashboard at `/`: hand-written HTML, CSS and ES modules shipped in the package
 * (assets/dashboard/), and uPlot's files from its npm package, served as they are, with no
 * build step. A fixed list of files, read once when the app is made: no path from a request
 * ever reaches the file system. The page holds no engine data; everything it shows it reads
 * from /api/v1 (with the token, when the server has one), so it is served without one.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ErrorCode, FastpathError } from '@fastpath/types';
import type { FastifyInstance } from 'fastify';

/** Where the page's own files are: packages/control/assets/dashboard (beside src/ and dist/). */
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Scripts, styles and data from this server only; no inline script, no framing. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The URL paths the dashboard answers, each with its file. */
function files(): Map<string, string> {
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return new Map([
    ['/', join(ASSETS, 'index.html')],
    ['/dashboard/dashboard.js', join(ASSETS, 'dashboard.js')],
    ['/dashboard/memory-map.js', join(ASSETS, 'memory-map.js')],
    ['/dashboard/events.js', join(ASSETS, 'events.js')],
    ['/dashboard/dashboard.css', join(ASSETS, 'dashboard.css')],
    ['/dashboard/favicon.svg', join(ASSETS, 'favicon.svg')],
    ['/dashboard/uPlot.esm.js', join(uplot, 'uPlot.esm.js')],
    ['/dashboard/uPlot.min.css', join(uplot, 'uPlot.min.css')],
  ]);
}

const FILES = files();

/** The paths served without a token (see above). */
export const DASHBOARD_PATHS: ReadonlySet<string> = new Set(FILES.keys());

export function dashboardRoutes(app: FastifyInstance): void {
  for (const [path, file] of FILES) {
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      throw new FastpathError(ErrorCode.Internal, `the dashboard's file ${file} is missing (${(error as Error).message}): reinstall @fastpath/control`);
    }
    const type = TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('referrer-policy', 'no-referrer')
        .send(body),
    );
  }
}
