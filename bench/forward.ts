/**
 * Each forwarding mode, Fastpath next to dpdk-testpmd in the same mode, in the same run, on
 * the same vdevs, lcores, mbuf count and memory mode (see lib/forward.ts for the method).
 * Prints per-port Mpps for both, their ratio, and stats on/off; --json prints one JSON line.
 * `npm run bench` (bench/run.ts) runs this and everything else, and records the results.
 *
 *   npx tsx bench/forward.ts [--modes io,mac,...] [--duration S] [--rounds N] [--no-huge] [--json]
 */
import { parseArgs } from 'node:util';

import { measureMode, MODES, type Mode, type ModeResult } from './lib/forward.js';

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: MODES.join(',') },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    'no-huge': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const modes = values.modes.split(',') as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}; modes: ${MODES.join(', ')}`);
const opts = { durationS: Number(values.duration), noHuge: values['no-huge'], mbufs: 8191 };
const log = (line: string) => {
  if (!values.json) console.log(line);
};
const results: ModeResult[] = [];
for (const mode of modes) results.push(await measureMode(mode, opts, Number(values.rounds), true, log));
if (values.json) console.log(JSON.stringify({ ...opts, results }));
else {
  for (const r of results) {
    console.log(`${r.mode.padEnd(8)} testpmd ${r.testpmdMpps.median} Mpps/port  fastpath ${r.fastpathMpps.median}  ratio ${r.ratio.median} (${r.ratio.min}-${r.ratio.max})  stats on/off ${r.statsOnOff?.median ?? '-'}`);
  }
}
