/**
 * The acl stage on net_ring ports under a generator's traffic (64 UDP flows from source ports
 * 1024-1087, in turn): first match wins and every rule counts its hits under its name, exactly
 * (a counted run of 640,000 packets); a pcap of IPv4, IPv6, VLAN-tagged, fragmented and ARP
 * frames through an ACL that drops, forwards, mirrors and counts comes out byte for byte where
 * each belongs; then 100 live swaps between ACLs (inline rules, a rules file in l3fwd's format, a default-drop ACL)
 * account for every packet exactly: made = arrived + dropped by rules and defaults + dropped
 * at full tx queues, and the pipeline's drops are exactly the drop rules' hits plus the
 * default-drop ACL's unmatched packets.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, summaryLines, type EngineConfig, type StageConfig } from '@fastpath/control';

import { frame, readPcap, scratchDir, waitFor, writePcap } from './helpers.js';

const dir = scratchDir('acl');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const v4 = (dst: string, proto: number, sport: number, dport: number, vlan?: number) =>
  frame({ ...(vlan === undefined ? {} : { vlan }), ip: { v: 4, src: '10.0.0.1', dst, proto, sport, dport } });
/** The frames the pcap ACL sees, each named by where it must end up. */
const pcapFrames = (() => {
  const fragment = v4('192.0.2.53', 17, 1000, 53);
  fragment.writeUInt16BE(185, 14 + 6); // a later fragment: its L4 ports are not ports
  const arp = Buffer.concat([Buffer.from('ffffffffffff020000000001', 'hex'), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
  return {
    ssh: v4('198.18.0.5', 6, 40000, 22),
    dns: v4('192.0.2.53', 17, 1000, 53),
    v6: frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8:1::1', proto: 6, sport: 2000, dport: 80 } }),
    tagged: v4('192.0.2.53', 17, 1000, 53, 7),
    arp,
    fragment,
    untrusted: v4('203.0.113.9', 17, 1000, 9),
  };
})();
writePcap(join(dir, 'in.pcap'), Object.values(pcapFrames));

/** Drops, forwards, mirrors and counts the pcap's frames (priority puts `tagged` first). */
const pcapAcl: StageConfig = {
  kind: 'acl',
  name: 'edge',
  rules: [
    { name: 'ssh', dst: '198.18.0.0/24', proto: 'tcp', dstPorts: 22, action: 'drop' },
    { name: 'dns', proto: 'udp', dstPorts: '53', action: { forward: 'fwd' } },
    { name: 'v6-high', src: '2001:db8::/32', srcPorts: '1024-65535', action: { mirror: 'mirror' } },
    { name: 'tagged', priority: 10, vlan: 7, action: 'count' },
    { name: 'untrusted', dst: '203.0.113.0/24', action: 'drop' },
  ],
};

/** 64 flows from 198.18.0.1, source ports 1024-1087 in turn; `count` packets, or without end. */
const config = (filter: StageConfig[], count?: number): EngineConfig => ({
  ports: {
    gen: { ring: {} },
    sink: { ring: {} },
    in: { pcap: { rx: join(dir, 'in.pcap') } },
    main: { pcap: { tx: join(dir, 'main.pcap') } },
    fwd: { pcap: { tx: join(dir, 'fwd.pcap') } },
    mirror: { pcap: { tx: join(dir, 'mirror.pcap') } },
  },
  lcores: { workers: [1] },
  memory: { hugepages: false, mbufs: 16_383 },
  pipelines: [
    { name: 'make', generator: { flows: 64, packetSize: 64, srcIp: '198.18.0.1', dstIp: '198.19.0.1', ...(count ? { count } : {}) }, output: 'gen' },
    { name: 'filter', input: 'gen', stages: filter, output: 'sink' },
    { name: 'arrive', input: 'sink', stages: ['drop'] },
    { name: 'edge', input: 'in', stages: [pcapAcl], output: 'main' },
  ],
});

type Snapshot = ReturnType<Engine['stats']>;
const acls = (s: Snapshot) => s.pipelines[1]!.acls;
const hits = (s: Snapshot, acl: string): Record<string, number> =>
  Object.fromEntries((acls(s).find((a) => a.name === acl)?.aclRules ?? []).map((r) => [r.name, r.hits]));

const fw: StageConfig = {
  kind: 'acl',
  name: 'fw',
  rules: [
    { name: 'v6-only', src: '2001:db8::/32', action: 'drop' },
    { name: 'drop-low', proto: 'udp', srcPorts: '1024-1031', action: 'drop' },
    { name: 'count-low', src: '198.18.0.0/24', srcPorts: '1024-1039', action: 'count' },
    { name: 'tagged', vlan: 10, action: 'drop' },
    { name: 'first', priority: 5, srcPorts: 1087, dst: '198.19.0.1', action: 'count' },
    { name: 'shadowed', srcPorts: '1080-1087', proto: 17, protoMask: 0xf0, action: 'count' },
  ],
};

describe('an acl stage on net_ring under a generator', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(config([fw], 640_000));
  });
  afterAll(async () => {
    if (engine && !engine.stopped) await engine.stop();
  });

  it('counts each rule by name, first match wins, the rest take the default', async () => {
    const settled = () => {
      const s = engine.stats();
      return s.pipelines[0]!.generated === 640_000 && s.pipelines[2]!.inPackets + s.pipelines[1]!.dropped === 640_000;
    };
    expect(await waitFor(settled, 30_000)).toBe(true);
    const snap = engine.stats();
    const filter = snap.pipelines[1]!;
    // Slots in check order: priority first, then as written.
    expect(acls(snap)[0]!.aclRules.map((r) => r.name)).toEqual(['first', 'v6-only', 'drop-low', 'count-low', 'tagged', 'shadowed']);
    expect(filter.inPackets).toBe(640_000);
    // 10,000 packets a flow. No IPv6, no VLAN: those rules never hit. drop-low takes ports
    // 1024-1031 before count-low (1024-1039) sees them; first outranks shadowed for 1087;
    // shadowed takes 1080-1086 (17 & 0xf0 = 16: its mask lets UDP through); 40 flows are left.
    expect(hits(snap, 'fw')).toEqual({ 'v6-only': 0, 'drop-low': 80_000, 'count-low': 80_000, tagged: 0, first: 10_000, shadowed: 70_000 });
    expect(acls(snap)[0]!.unmatched).toBe(400_000);
    expect(filter.dropped).toBe(80_000);
  }, 60_000);

  it('sends each pcap frame where its first matching rule says, counting it', async () => {
    expect(await waitFor(() => engine.stats().pipelines[3]!.inPackets === 7)).toBe(true);
    const snap = engine.stats();
    const acl = snap.pipelines[3]!.acls[0]!;
    expect(Object.fromEntries(acl.aclRules.map((r) => [r.name, r.hits]))).toEqual({ tagged: 1, ssh: 1, dns: 1, 'v6-high': 1, untrusted: 1 });
    // ARP and the later fragment (no ports for dstPorts 53) match nothing and pass.
    expect(acl.unmatched).toBe(2);
    expect(snap.pipelines[3]!.dropped).toBe(2);
    // A run's summary names an ACL's busiest rules.
    expect(summaryLines(engine.info, snap, 1)).toContain('    acl edge: tagged 1, ssh 1, dns 1, v6-high 1, untrusted 1; no rule 2');
  });

  it('swaps ACLs 100 times under traffic without losing or double-counting a packet', async () => {
    const file = join(dir, 'fw.rules');
    writeFileSync(
      file,
      [
        '# l3fwd ACL format: source ports 1040-1047 from 198.18.0.0/24, and an IPv6 rule',
        '@198.18.0.0/24 0.0.0.0/0 1040 : 1047 0 : 65535 0x11/0xff',
        '@2001:db8::/32 ::/0 0 : 65535 0 : 65535 0/0',
        '',
      ].join('\n'),
    );
    const variants: StageConfig[][] = [
      [],
      [{ kind: 'acl', name: 'fw', rules: [{ name: 'drop-low', srcPorts: '1024-1031', action: 'drop' }, { name: 'count-udp', proto: 'udp', action: 'count' }] }],
      [{ kind: 'acl', name: 'fw-file', rulesFile: file }],
      [{ kind: 'acl', name: 'fw-strict', default: 'drop', rules: [{ name: 'allow-some', srcPorts: '1024-1055', action: 'count' }] }],
      [{ kind: 'acl', name: 'fw', rules: [{ name: 'count-udp', proto: 'udp', dst: '198.19.0.0/16', action: 'count' }] }, 'macSwap'],
    ];
    const start = engine.stats().generation;
    for (let i = 1; i <= 100; i++) {
      const generation = await engine.apply(config(variants[i % variants.length]!));
      expect(generation).toBe(start + i);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const last = await engine.stop();
    // The pcap ports' files are whole once the engine has stopped.
    const f = pcapFrames;
    expect(readPcap(join(dir, 'main.pcap'))).toEqual([f.v6, f.tagged, f.arp, f.fragment]);
    expect(readPcap(join(dir, 'fwd.pcap'))).toEqual([f.dns]);
    expect(readPcap(join(dir, 'mirror.pcap'))).toEqual([f.v6]);
    const [make, filter, arrive] = [last.pipelines[0]!, last.pipelines[1]!, last.pipelines[2]!];
    const txDropped = last.ports.reduce((sum, p) => sum + p.txDropped, 0);
    expect(make.generated).toBeGreaterThan(1_000_000);
    expect(last.ports.reduce((sum, p) => sum + p.unrouted, 0)).toBe(0);
    // Made = arrived + dropped in the filter + dropped at full tx queues, exactly.
    expect(make.generated).toBe(arrive.inPackets + filter.dropped + txDropped);
    // The filter's drops are exactly the drop rules' hits and the strict ACL's defaults, over
    // both tests (counters carry across programs by name).
    const fw = hits(last, 'fw');
    const file_ = hits(last, 'fw-file');
    const strict = acls(last).find((a) => a.name === 'fw-strict')!;
    expect(Object.keys(file_)).toEqual(['line2', 'line3']);
    expect(file_['line3']).toBe(0);
    expect(fw['drop-low']).toBeGreaterThan(80_000);
    expect(file_['line2']).toBeGreaterThan(0);
    expect(strict.unmatched).toBeGreaterThan(0);
    expect(filter.dropped).toBe(fw['drop-low']! + fw['v6-only']! + fw['tagged']! + file_['line2']! + file_['line3']! + strict.unmatched);
    expect(last.generation).toBe(1 + 100);
  }, 120_000);
});
