/**
 * Who may call the API. Loopback by default; a listen address other machines can reach needs
 * a bearer token read from a file only its owner can read (0600), so the token never sits on
 * a command line (`ps` shows those to every user). With a token, every route but /healthz
 * requires it; without one, reads are open (to local processes) and changes are refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';

import { ErrorCode, FastpathError } from '@fastpath/types';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { DASHBOARD_PATHS } from './dashboard.js';
import { HttpError } from './errors.js';
import { CAPTURE_PATH } from './capture.js';

/** Where `fastpath serve` listens unless told: this machine only. */
export const DEFAULT_LISTEN = '127.0.0.1:9400';

/** A listen address: `HOST:PORT`, `[IPv6]:PORT`; PORT 0 picks a free one. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `--listen`; throws ERR_CONFIG saying the form it takes. */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535) || (match?.[1] !== undefined && isIP(host) !== 6)) {
    throw new FastpathError(ErrorCode.Config, `listen address ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:9400, [::1]:9400, 0.0.0.0:9400 with a token file)`);
  }
  return { host, port };
}

/** Whether only this machine can reach `host`: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * The token in `file`: refused (ERR_PERMISSION) unless the file is readable by its owner
 * alone and holds a token of at least 16 characters (surrounding whitespace trimmed).
 */
export function readTokenFile(file: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FastpathError(ErrorCode.Permission, `cannot read the token file ${file}: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new FastpathError(ErrorCode.Permission, `the token file ${file} is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${file}`);
  }
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new FastpathError(ErrorCode.Permission, `the token file ${file} must hold one token of at least 16 characters without spaces (e.g. from: openssl rand -hex 32 > ${file})`);
  }
  return token;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Paths open without a token even when one is set: a supervisor's liveness probe, and the
 * dashboard's own files (code shipped in the package, no engine data: the page asks for the
 * token and sends it with every API call it makes).
 */
const OPEN = new Set(['/healthz', ...DASHBOARD_PATHS]);

const HOW_TO_ENABLE = 'start fastpath serve with --token-file FILE (a 0600 file holding the token) and send Authorization: Bearer <token>';

/** Adds the check to every request of `app` (before its body is read). */
export function requireToken(app: FastifyInstance, token: string | undefined): void {
  const expected = token === undefined ? undefined : digest(token);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // The route the router matched, not the URL as sent: the router decodes the path
    // (`/api/v1/%63apture` reaches the capture route), so the raw URL must not decide.
    // No route matched (a 404 to come): nothing is open, and the checks below still apply.
    const path = request.routeOptions.url ?? request.url.split('?', 1)[0]!;
    if (request.routeOptions.url !== undefined && OPEN.has(path)) return;
    const mutating = request.method !== 'GET' && request.method !== 'HEAD';
    if (expected === undefined) {
      if (mutating) throw new HttpError(401, ErrorCode.Permission, `${request.method} ${path} changes the engine and needs a token: ${HOW_TO_ENABLE}`);
      if (path === CAPTURE_PATH) throw new HttpError(401, ErrorCode.Permission, `${path} hands out the packets themselves and needs a token: ${HOW_TO_ENABLE}`);
      return;
    }
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (\S+)$/i.exec(header)?.[1];
    // Compared as digests of one length, so the time taken says nothing about the token.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new HttpError(401, ErrorCode.Permission, given === undefined ? `this server needs a token: send Authorization: Bearer <token> (the token is in the file given to --token-file)` : 'wrong token: send the one in the file given to --token-file');
    }
  });
}
