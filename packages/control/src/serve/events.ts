/**
 * GET /api/v1/events: Server-Sent Events, one `tick` about every 100 ms with what the dashboard
 * draws, built from the same reads as /stats and /rates (the stats segment, plain memory
 * reads): per-port rates over the last 100 ms of the 10 ms sample ring, the snapshot (less the
 * memory runs, which /info has), and each worker lcore's busy share since the last tick. A
 * served engine that stops ends the stream with a `stopped` event carrying the error body.
 *
 * A stream is a long-lived answer: each one is ended when the server closes (else close()
 * would wait on it), a client that reads too slowly misses ticks instead of growing a buffer,
 * and at most MAX_STREAMS are open at once.
 */
import type { ServerResponse } from 'node:http';

import { ControlErrorCode, ErrorCode, FastpathError, type EngineStats } from '@fastpath/types';
import { z } from 'zod';

import type { PortRates } from '../stats-reader.js';
import type { Api } from './app.js';
import { errorResponses, errorSchema, HttpError } from './errors.js';

/** How often a tick is sent (the dashboard's ~10 Hz). */
export const TICK_MS = 100;
/** Open streams at most: a dashboard each; more is a client gone wrong. */
export const MAX_STREAMS = 32;

/** One worker lcore's share of loop time that did work, since the previous tick (0..100). */
export interface LcoreBusy {
  name: string;
  cpu: number;
  busyPercent: number;
}

/** What a `tick` event's data holds. */
export interface Tick {
  /** When the newest sample was taken, Unix time in ms. */
  timeMs: number;
  rates: PortRates[];
  busy: LcoreBusy[];
  stats: Omit<EngineStats, 'memoryRuns'>;
}

/** Busy share per lcore between two snapshots (the whole life so far when there is no earlier one). */
function busyBetween(now: EngineStats, before: EngineStats | undefined): LcoreBusy[] {
  return now.lcores.map((lcore, i) => {
    // Another engine since the last tick (attached, after a restart): its whole life so far.
    const prev = before?.pid === now.pid ? before.lcores[i] : undefined;
    const busy = lcore.busyCycles - (prev?.busyCycles ?? 0);
    const idle = lcore.idleCycles - (prev?.idleCycles ?? 0);
    const total = busy + idle;
    return { name: lcore.name, cpu: lcore.cpu, busyPercent: total > 0 ? Math.min(100, Math.max(0, (100 * busy) / total)) : 0 };
  });
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function eventsRoutes(app: Api): void {
  /** Open streams, each with what ends it. */
  const streams = new Map<ServerResponse, () => void>();
  // Before the server waits for its connections to end: end the streams, which never would.
  app.addHook('preClose', async () => {
    for (const end of [...streams.values()]) end();
  });

  app.get(
    '/events',
    {
      schema: {
        summary: 'Server-Sent Events for the dashboard: a `tick` every ~100 ms (rates, busy %, the snapshot), `stopped` when the engine stops',
        description: 'text/event-stream. Each `tick` event\'s data is JSON: { timeMs, rates: [{ name, rxPps, txPps, dropPps }], busy: [{ name, cpu, busyPercent }], stats: the /stats snapshot without memoryRuns }.',
        querystring: z.object({}).strict(),
        response: { ...errorResponses, 429: errorSchema },
      },
    },
    async (request, reply) => {
      const { source } = app;
      if (streams.size >= MAX_STREAMS) throw new HttpError(429, ControlErrorCode.Request, `${MAX_STREAMS} event streams are open already: close a dashboard`);
      // A stopped engine is 503 ERR_STOPPED here, before the stream starts (EventSource then gives up).
      source.stats();
      let before: EngineStats | undefined;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      // A client's EventSource reconnects after 1 s if the stream breaks.
      res.write('retry: 1000\n\n');
      let timer: NodeJS.Timeout | undefined;
      const end = (last = '') => {
        clearInterval(timer);
        streams.delete(res);
        if (!res.writableEnded) res.end(last);
      };
      streams.set(res, end);
      let waiting = false;
      const send = (text: string) => {
        // Too slow a reader: skip ticks until its socket drains, never buffer without bound.
        if (waiting) return;
        if (!res.write(text)) {
          waiting = true;
          res.once('drain', () => (waiting = false));
        }
      };
      const tick = () => {
        // Runs from a timer: nothing may throw out of it (that would end the process).
        try {
          const stats = source.stats();
          const rates = source.reader.rates(TICK_MS);
          const newest = source.reader.recent(1).at(-1);
          const { memoryRuns: _runs, ...rest } = stats;
          const data: Tick = { timeMs: newest ? Number(newest.timeNs / 1_000_000n) : Date.now(), rates, busy: busyBetween(stats, before), stats: rest };
          before = stats;
          send(event('tick', data));
        } catch (error) {
          const code = error instanceof FastpathError ? error.code : ErrorCode.Internal;
          end(event('stopped', { code, message: (error as Error).message }));
        }
      };
      timer = setInterval(tick, TICK_MS);
      tick();
      res.on('close', () => end());
      request.log.debug('event stream opened');
    },
  );
}
