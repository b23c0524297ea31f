/**
 * `fastpath serve`: the HTTP API (docs/serve.md) for an engine it starts from CONFIG (which it
 * can then change live), or for a running engine it attaches to (read-only). Runs until a
 * signal, then stops serving (and the engine it started) and exits 128 + the signal's number.
 */
import { FastpathError, type EngineConfig } from '@fastpath/types';

import { loadConfig } from '../load-config.js';
import { DEFAULT_LISTEN, isLoopback, parseListen, readTokenFile, serve, type ServeSource } from '../serve/index.js';
import { startUnlessStopped, watchSignals } from '../signals.js';
import { StatsReader } from '../stats-reader.js';
import { CONFIG_NOTE, defineCommand, reportConfigProblems, UsageError } from './command.js';

export const serveCommand = defineCommand({
  name: 'serve',
  usage: 'fastpath serve [CONFIG | --attach NAME] [--listen HOST:PORT] [--token-file F]',
  summary: 'Serve the HTTP API and /metrics for an engine it starts (CONFIG) or a running one (--attach)',
  options: {
    attach: { type: 'string', value: 'NAME', help: "serve a running engine, read-only (NAME: its EAL file prefix, as `fastpath ls` lists it)" },
    listen: { type: 'string', value: 'HOST:PORT', help: `where to listen (default ${DEFAULT_LISTEN}; port 0 picks a free one); any host but loopback needs --token-file` },
    'token-file': { type: 'string', value: 'F', help: 'a 0600 file holding the bearer token every route but /healthz then needs (changes, PUT /config and POST/DELETE /routes, and GET /capture always need one)' },
  },
  positionals: { min: 0, max: 1 },
  notes: [
    CONFIG_NOTE,
    'Prints `fastpath serve: serving NAME on http://HOST:PORT` once listening (the port bound, when 0 was asked for).',
    "Exit code: 1 on an error, 2 a command line that does not make sense (no CONFIG nor --attach, both, an open --listen without a token file), 128 + the signal's number after a stop by signal (130: Ctrl-C).",
  ],
  async run(flags, [file]) {
    if ((file === undefined) === (flags.attach === undefined)) throw new UsageError(file === undefined ? 'serve needs a CONFIG or --attach NAME' : 'give a CONFIG or --attach NAME, not both');
    const listen = flags.listen ?? DEFAULT_LISTEN;
    // Everything the command line can get wrong is refused before an engine starts.
    let token: string | undefined;
    try {
      const { host } = parseListen(listen);
      if (flags['token-file'] !== undefined) token = readTokenFile(flags['token-file']);
      else if (!isLoopback(host)) throw new UsageError(`--listen ${listen} opens the API to other machines: give --token-file F (a 0600 file holding a token, e.g. openssl rand -hex 32 > F; chmod 600 F), or listen on 127.0.0.1`);
    } catch (error) {
      if (error instanceof FastpathError) throw new UsageError(error.message);
      throw error;
    }
    const signals = watchSignals({ launcher: true });
    const body = async () => {
      const engine = file === undefined ? undefined : await startUnlessStopped((await loadConfig(file)) as EngineConfig, signals);
      if (file !== undefined && engine === undefined) return;
      const source: ServeSource = engine ?? StatsReader.attach(flags.attach);
      try {
        const server = await serve(source, { listen, token });
        const name = source instanceof StatsReader ? source.name : source.stats().name;
        console.log(`fastpath serve: serving ${name}${engine ? '' : ' (attached, read-only)'} on ${server.url} (API: ${server.url}/api/v1, metrics: ${server.url}/metrics)`);
        await signals.stopped;
        await server.close();
      } finally {
        if (engine !== undefined) await engine.stop();
      }
    };
    await (file === undefined ? body() : reportConfigProblems(file, body));
    if (signals.launcher) console.error(`fastpath serve: stopped because its launcher ended: ${signals.launcher.command} (pid ${signals.launcher.pid})`);
    return signals.exitCode;
  },
});
