/**
 * `fastpath ls`: the engines on this machine (their stats segments), alive or dead. Dead: no
 * process holds the lock the engine keeps on its segment for its life (its pid may live on in
 * another process); `fastpath clean`, or the next engine start, removes what it left.
 */
import { StatsReader } from '../stats-reader.js';
import { defineCommand } from './command.js';

/** The ports of the engine whose segment is at `path` whose link reads down (none if it cannot be read). */
function linksDown(path: string): string[] {
  try {
    const reader = StatsReader.open(path);
    try {
      return reader.snapshot().ports.filter((p) => p.linkUp === 0).map((p) => p.name);
    } finally {
      reader.close();
    }
  } catch {
    return [];
  }
}

export const lsCommand = defineCommand({
  name: 'ls',
  usage: 'fastpath ls [--json]',
  summary: 'List the engines on this machine (their stats segments), alive or dead',
  options: {
    json: { type: 'boolean', default: false, help: 'print them as one line of JSON' },
  },
  positionals: { min: 0, max: 0 },
  async run(flags) {
    // A live engine's ports whose link is down, named: what to look at first.
    const engines = StatsReader.list().map((e) => ({ ...e, linksDown: e.alive ? linksDown(e.path) : [] }));
    if (flags.json) {
      console.log(JSON.stringify(engines));
      return;
    }
    if (engines.length === 0) console.log('no Fastpath engines on this machine');
    for (const e of engines) {
      const down = e.linksDown.length > 0 ? `  link down: ${e.linksDown.join(', ')}` : '';
      console.log(`${e.name.padEnd(28)} pid ${String(e.pid).padEnd(8)} ${e.alive ? 'alive' : 'dead '}  ${e.path}${down}`);
    }
    if (engines.some((e) => !e.alive)) console.log('dead: its process is gone; `fastpath clean` (or the next engine start) removes what it left');
  },
});
