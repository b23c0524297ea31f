/**
 * latency: probes through two network namespaces joined by the bridge, printing the round
 * trip's p50/p99/p99.9 each second. The engine sends probes out of an af_packet port into
 * namespace A, which routes them to namespace B over their link: two veth pairs joined by a
 * bridge pipeline of the same engine (examples/bridge.ts's). B routes them back into the
 * engine on another port. A probe crosses the kernel's forwarding twice, four veth pairs and
 * the engine three times (out, bridged, back in). Needs root (namespaces, raw sockets);
 * cleans up on every way out.
 *
 *   npx tsx examples/latency.ts [--duration S] [--pps N]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { allowedCpus, defineConfig, positiveNumber, startUnlessStopped } from '@fastpath/control';

import { defineExample, runExample } from './lib/run.js';

const LATENCY = defineExample({
  name: 'latency',
  usage: 'npx tsx examples/latency.ts [--duration S] [--pps N]',
  summary: 'Probe round trips through two network namespaces joined by the bridge, as percentiles each second (needs root)',
  options: {
    duration: { type: 'string', default: '10', value: 'S', help: 'stop after S seconds, or at Ctrl-C' },
    pps: { type: 'string', default: '10000', value: 'N', help: 'probes per second' },
  },
  positionals: { min: 0, max: 0 },
});

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
const inA = (...args: string[]) => ip('netns', 'exec', 'fplatA', ...args);
const inB = (...args: string[]) => ip('netns', 'exec', 'fplatB', ...args);

/** engine ⇄ lA|pA (A, 10.81.1.1) ⇄ aB|xA ⇄ engine's bridge ⇄ xB|bA (10.81.3.1-2) ⇄ (B, 10.81.2.1) pB|lB ⇄ engine */
function setUp(): { macA: string; macB: string } {
  tearDown();
  ip('netns', 'add', 'fplatA');
  ip('netns', 'add', 'fplatB');
  ip('link', 'add', 'lA', 'type', 'veth', 'peer', 'name', 'pA', 'netns', 'fplatA');
  ip('link', 'add', 'lB', 'type', 'veth', 'peer', 'name', 'pB', 'netns', 'fplatB');
  ip('link', 'add', 'xA', 'type', 'veth', 'peer', 'name', 'aB', 'netns', 'fplatA');
  ip('link', 'add', 'xB', 'type', 'veth', 'peer', 'name', 'bA', 'netns', 'fplatB'); // the engine bridges xA, xB
  for (const [run, dev, addr] of [[inA, 'pA', '10.81.1.1/24'], [inA, 'aB', '10.81.3.1/24'], [inB, 'pB', '10.81.2.1/24'], [inB, 'bA', '10.81.3.2/24']] as const) {
    run('ip', 'addr', 'add', addr, 'dev', dev);
    run('ip', 'link', 'set', dev, 'up');
  }
  for (const run of [inA, inB]) run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0');
  inA('ip', 'route', 'add', '10.81.2.0/24', 'via', '10.81.3.2');
  inB('ip', 'route', 'add', '10.81.1.0/24', 'via', '10.81.3.1');
  for (const dev of ['lA', 'lB', 'xA', 'xB']) ip('link', 'set', dev, 'up');
  // B sends the probes to the engine's port, which answers no ARP: its MAC, given.
  const lB = readFileSync('/sys/class/net/lB/address', 'utf8').trim();
  inB('ip', 'neigh', 'replace', '10.81.2.2', 'lladdr', lB, 'dev', 'pB');
  const macA = execFileSync('ip', ['netns', 'exec', 'fplatA', 'cat', '/sys/class/net/pA/address'], { encoding: 'utf8' }).trim();
  return { macA, macB: lB };
}

/** Deleting a namespace deletes its veth ends, and their peers outside with them. */
function tearDown(): void {
  for (const ns of ['fplatA', 'fplatB']) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); // fails where not there
}

runExample(LATENCY, async (signals, { values }) => {
  const durationS = positiveNumber('--duration', values.duration, 'seconds');
  const pps = positiveNumber('--pps', values.pps, 'probes per second');
  const [main = 0, worker = 1] = allowedCpus();
  const { macA } = setUp();
  try {
    const config = defineConfig({
      ports: { a: { afPacket: { iface: 'lA' } }, b: { afPacket: { iface: 'lB' } }, xa: { afPacket: { iface: 'xA' } }, xb: { afPacket: { iface: 'xB' } } },
      lcores: { main, workers: [worker] },
      memory: { hugepages: false, mbufs: 16383 },
      pipelines: [
        { name: 'probe', generator: { probe: true, rate: { pps }, dstMac: macA, srcIp: '10.81.1.2', dstIp: '10.81.2.2', dstPort: 7 }, output: 'a' },
        { name: 'back', input: 'b', stages: ['drop'] },
        { name: 'link', input: ['xa', 'xb'], stages: [{ kind: 'bridge', agingS: 300 }], output: ['xa', 'xb'] },
      ],
    });
    const engine = await startUnlessStopped(config, signals);
    if (!engine) return;
    try {
      console.log(`probes at ${pps}/s: engine → lA → namespace A → bridge (xA ⇄ xB) → namespace B → lB → engine`);
      console.log('  time     count      p50      p99    p99.9      max   lost  reordered');
      for (let t = 1; t <= durationS && !(await signals.sleep(1000)); t++) {
        const s = engine.stats().pipelines[0]!;
        const us = (ns: number | null) => (ns === null ? '-' : `${(ns / 1000).toFixed(1)}µs`).padStart(9);
        console.log(`${String(t).padStart(5)}s${String(s.probes.count).padStart(10)}${us(s.probes.p50Ns)}${us(s.probes.p99Ns)}${us(s.probes.p999Ns)}${us(s.probes.maxNs)}${String(s.probesLost).padStart(7)}${String(s.probesReordered).padStart(11)}`);
      }
    } finally {
      const last = (await engine.stop()).pipelines[0]!;
      console.log(`sent ${last.generated}, came back ${last.probes.count}, lost ${last.probesLost}, rate missed ${last.paceMissed}`);
    }
  } finally {
    tearDown();
  }
});
