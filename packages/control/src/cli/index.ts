/**
 * The `fastpath` command: a thin dispatcher over one module per command, each with its own flags.
 *
 *   fastpath run CONFIG [--duration S] [--json]   start the engine, live table, summary
 *   fastpath validate CONFIG                      check a config without starting DPDK
 *   fastpath ls | stats | top                     engines on this machine and their counters
 *   fastpath doctor | devbind | mem               the platform
 *
 * CONFIG is a .ts/.js module exporting a config (export default defineConfig({...})) or a
 * .json file. Errors print one line each (`fastpath: ...`) and exit 1; a command line that
 * does not make sense prints the usage and exits 2. No stack traces. `run` and `top` stopped
 * by SIGINT/SIGTERM/SIGHUP exit 128 + the signal's number after a clean stop (signals.ts).
 */
import { dispatch, type CommandGroup } from './command.js';
import { devbindCommand } from './devbind.js';
import { doctorCommand } from './doctor.js';
import { lsCommand } from './ls.js';
import { memCommand } from './mem.js';
import { runCommand } from './run.js';
import { statsCommand } from './stats.js';
import { topCommand } from './top.js';
import { validateCommand } from './validate.js';

/** In the order `fastpath --help` lists them. */
const FASTPATH: CommandGroup = {
  name: 'fastpath',
  commands: [runCommand, validateCommand, lsCommand, statsCommand, topCommand, doctorCommand, devbindCommand, memCommand],
};

export async function main(argv: string[]): Promise<void> {
  await dispatch(FASTPATH, argv);
}
