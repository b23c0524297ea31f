/**
 * pcap-replay: read IN.pcap, drop what a filter matches, write the rest to OUT.pcap.
 *
 *   npx tsx examples/pcap-replay.ts IN.pcap OUT.pcap [--drop-dst PREFIX] [--drop-proto udp|tcp|icmp]
 *
 * Stops once every packet of IN.pcap has gone through, then prints what each stage did.
 */
import { parseArgs } from 'node:util';

import { defineConfig, startUnlessStopped, type StageConfig } from '@fastpath/control';

import { fail, runExample } from './lib/run.js';

runExample('pcap-replay', async (signals) => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'drop-dst': { type: 'string' }, 'drop-proto': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [input, output] = positionals;
  if (!input || !output) fail('pcap-replay', 'usage: pcap-replay IN.pcap OUT.pcap [--drop-dst PREFIX] [--drop-proto udp|tcp|icmp]');

  const stages: StageConfig[] = [];
  if (values['drop-dst']) stages.push({ kind: 'match', name: 'drop-dst', match: { dst: values['drop-dst'] }, action: 'drop' });
  if (values['drop-proto']) {
    stages.push({ kind: 'match', name: 'drop-proto', match: { proto: values['drop-proto'] as 'udp' | 'tcp' | 'icmp' }, action: 'drop' });
  }
  const config = defineConfig({
    ports: { in: { pcap: { rx: input } }, out: { pcap: { tx: output } } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [{ name: 'filter', input: 'in', stages, output: 'out' }],
  });

  const engine = await startUnlessStopped(config, signals);
  if (!engine) return;
  // The pcap port stops receiving at the end of the file: wait until nothing moves (or a signal).
  let seen = -1;
  while (!(await signals.sleep(100))) {
    const { inPackets } = engine.stats().pipelines[0]!;
    if (inPackets === seen) break;
    seen = inPackets;
  }
  const last = await engine.stop();
  const filter = last.pipelines[0]!;
  console.log(`${input}: ${filter.inPackets} packets in, ${filter.outPackets} written to ${output}, ${filter.dropped} dropped`);
  for (const rule of filter.rules) console.log(`  ${rule.name}: matched ${rule.matched}`);
  if (values.json) console.log(JSON.stringify({ in: filter.inPackets, out: filter.outPackets, dropped: filter.dropped, rules: filter.rules }));
});
