/**
 * pcap-replay: read IN.pcap, drop what a filter matches, write the rest to OUT.pcap.
 *
 *   npx tsx examples/pcap-replay.ts IN.pcap OUT.pcap [--drop-dst PREFIX] [--drop-proto udp|tcp|icmp] [--json]
 *
 * Stops once every packet of IN.pcap has gone through, then prints what each stage did.
 */
import { defineConfig, startUnlessStopped, type StageConfig } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const PCAP_REPLAY = defineExample({
  name: 'pcap-replay',
  usage: 'npx tsx examples/pcap-replay.ts IN.pcap OUT.pcap [--drop-dst PREFIX] [--drop-proto udp|tcp|icmp] [--json]',
  summary: 'Read IN.pcap, drop what a filter matches, write the rest to OUT.pcap; stops at the end of IN.pcap',
  options: {
    'drop-dst': { type: 'string', value: 'PREFIX', help: 'drop IPv4 packets to PREFIX (like 198.51.100.0/24)' },
    'drop-proto': { type: 'string', value: 'PROTO', help: 'drop packets of PROTO: udp, tcp or icmp' },
    json: { type: 'boolean', default: false, help: 'end with the counts as one line of JSON' },
  },
  positionals: { min: 2, max: 2 },
});

runExample(PCAP_REPLAY, async (signals, { values, positionals }) => {
  const [input, output] = positionals as [string, string];

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
