/**
 * The `fastpath` command: a thin dispatcher over one module per command, each with its own
 * flags, summary and help (`fastpath --help`, `fastpath help COMMAND`, `fastpath COMMAND --help`).
 *
 * Errors print one line each (`fastpath: ...`) and exit 1; a command line that does not make
 * sense says why, then the usage, and exits 2. No stack traces. `run` and `top` stopped by
 * SIGINT/SIGTERM/SIGHUP exit 128 + the signal's number after a clean stop (signals.ts).
 */
import { readFileSync } from 'node:fs';

import { captureCommand } from './capture.js';
import { cleanCommand } from './clean.js';
import { CONFIG_NOTE, dispatch, NAME_NOTE, type CommandGroup } from './command.js';
import { devbindCommand } from './devbind.js';
import { doctorCommand } from './doctor.js';
import { lsCommand } from './ls.js';
import { memCommand } from './mem.js';
import { routesCommand } from './routes.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { topCommand } from './top.js';
import { validateCommand } from './validate.js';

/** This package's version, from its package.json (src/cli and dist/cli are both two levels down). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const FASTPATH: CommandGroup = {
  name: 'fastpath',
  summary: 'Run and check Fastpath engines, read their counters from any process, look at the platform',
  commands: [runCommand, serveCommand, validateCommand, lsCommand, cleanCommand, statsCommand, topCommand, routesCommand, captureCommand, doctorCommand, devbindCommand, memCommand],
  notes: [
    CONFIG_NOTE,
    NAME_NOTE,
    'Exit code: 0 done, 1 an error, 2 a command line that does not make sense, 128 + N stopped by signal N (130: Ctrl-C).',
  ],
  version,
};

export async function main(argv: string[]): Promise<void> {
  await dispatch(FASTPATH, argv);
}
