/** `fastpath stats [NAME]`: one snapshot of an engine's counters. */
import { latencyLines, otherCounters, paceWarnings } from '../counters.js';
import { StatsReader } from '../stats-reader.js';
import { defineCommand, NAME_NOTE } from './command.js';

export const statsCommand = defineCommand({
  name: 'stats',
  usage: 'fastpath stats [NAME] [--json]',
  summary: "Print one snapshot of an engine's counters",
  options: {
    json: { type: 'boolean', default: false, help: 'print it as one line of JSON' },
  },
  positionals: { min: 0, max: 1 },
  notes: [NAME_NOTE],
  async run(flags, [name]) {
    const snap = StatsReader.attach(name).snapshot();
    if (flags.json) {
      console.log(JSON.stringify(snap));
      return;
    }
    console.log(`${snap.name} (pid ${snap.pid}, ${snap.alive ? 'alive' : 'stale'})`);
    for (const p of snap.ports) {
      const link = p.linkUp === 0 ? '  link down' : '';
      console.log(`  ${p.name.padEnd(12)} rx ${String(p.rxPackets).padStart(15)}  tx ${String(p.txPackets).padStart(15)}  unrouted ${p.unrouted}  tx dropped ${p.txDropped}${link}`);
    }
    for (const line of otherCounters(snap, { ports: ['rxPackets', 'txPackets', 'unrouted', 'txDropped', 'linkUp'], pipelines: ['paceMissed'] })) console.log(line);
    for (const line of latencyLines(snap)) console.log(`  ${line}`);
    for (const warning of paceWarnings(snap)) console.log(`  ${warning}`);
  },
});
