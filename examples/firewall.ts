/**
 * firewall: read IN.pcap, drop what an ACL file's rules match, write the rest to OUT.pcap, and
 * say how often each rule hit.
 *
 *   npx tsx examples/firewall.ts RULES IN.pcap OUT.pcap [--default pass|drop] [--json]
 *
 * RULES is in DPDK l3fwd's ACL format (examples/configs/firewall.rules is one): each line
 * `@src/len dst/len sport_lo : sport_hi dport_lo : dport_hi proto/mask` is a drop rule, first
 * match wins. Packets no rule matches pass (or, with --default drop, are dropped). Stops once
 * every packet of IN.pcap has gone through.
 */
import { defineConfig, startUnlessStopped } from '@fastpath/control';

import { defineExample, fail, runExample } from './lib/run.js';

const FIREWALL = defineExample({
  name: 'firewall',
  usage: 'npx tsx examples/firewall.ts RULES IN.pcap OUT.pcap [--default pass|drop] [--json]',
  summary: "Filter IN.pcap into OUT.pcap by an ACL in l3fwd's rule format, counting each rule's hits",
  options: {
    default: { type: 'string', default: 'pass', value: 'pass|drop', help: 'what packets no rule matches get' },
    json: { type: 'boolean', default: false, help: 'end with the counts as one line of JSON' },
  },
  positionals: { min: 3, max: 3 },
});

runExample(FIREWALL, async (signals, { values, positionals }) => {
  const [rules, input, output] = positionals as [string, string, string];
  const otherwise = values.default;
  if (otherwise !== 'pass' && otherwise !== 'drop') fail('firewall', `--default takes pass or drop; got ${JSON.stringify(otherwise)}`);

  const config = defineConfig({
    ports: { in: { pcap: { rx: input } }, out: { pcap: { tx: output } } },
    lcores: { workers: [1] },
    memory: { hugepages: false },
    pipelines: [{ name: 'filter', input: 'in', stages: [{ kind: 'acl', name: 'firewall', rulesFile: rules, default: otherwise }], output: 'out' }],
  });

  // The rules are checked before EAL starts: a bad line stops here, named with its line.
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
  const acl = filter.acls[0]!;
  console.log(`${input}: ${filter.inPackets} packets in, ${filter.outPackets} written to ${output}, ${filter.dropped} dropped`);
  for (const rule of acl.aclRules) console.log(`  ${rule.name.padEnd(8)} hits ${rule.hits}`);
  console.log(`  no rule  ${acl.unmatched} (${otherwise})`);
  if (values.json) {
    const hits = Object.fromEntries(acl.aclRules.map((r) => [r.name, r.hits]));
    console.log(JSON.stringify({ in: filter.inPackets, out: filter.outPackets, dropped: filter.dropped, unmatched: acl.unmatched, hits }));
  }
});
