/**
 * `fastpath ls`: the engines on this machine (their stats segments), alive or dead. Dead: no
 * process holds the lock the engine keeps on its segment for its life (its pid may live on in
 * another process); `fastpath clean`, or the next engine start, removes what it left.
 */
import { StatsReader } from '../stats-reader.js';
import { defineCommand } from './command.js';

export const lsCommand = defineCommand({
  name: 'ls',
  usage: 'fastpath ls [--json]',
  summary: 'List the engines on this machine (their stats segments), alive or dead',
  options: {
    json: { type: 'boolean', default: false, help: 'print them as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
  async run(flags) {
    const engines = StatsReader.list();
    if (flags.json) {
      console.log(JSON.stringify(engines));
      return;
    }
    if (engines.length === 0) console.log('no Fastpath engines on this machine');
    for (const e of engines) console.log(`${e.name.padEnd(28)} pid ${String(e.pid).padEnd(8)} ${e.alive ? 'alive' : 'dead '}  ${e.path}`);
    if (engines.some((e) => !e.alive)) console.log('dead: its process is gone; `fastpath clean` (or the next engine start) removes what it left');
  },
});
