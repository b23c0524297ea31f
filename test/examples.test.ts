/**
 * The examples as users run them (each in its own process): they start, report, and end
 * cleanly; pcap-replay's output is checked frame by frame.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { frame, lastLine, readPcap, runScript, scratchDir, writePcap } from './helpers.js';

const dir = scratchDir('examples');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples', () => {
  it('generator.ts accounts for every packet it made', () => {
    const run = runScript('examples/generator.ts', ['--duration', '1', '--flows', '8']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^made (\d+) = arrived \d+ \+ dropped \d+: ok$/m);
    expect(Number(/^made (\d+)/m.exec(run.stdout)![1])).toBeGreaterThan(0);
  });

  it('macswap.ts reflects packets both ways', () => {
    const run = runScript('examples/macswap.ts', ['--duration', '1', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(lastLine(run.stdout)) as { ports: { rxPackets: number; txPackets: number }[] };
    expect(summary.ports.every((p) => p.rxPackets > 0 && p.txPackets > 0)).toBe(true);
  });

  it('pcap-replay.ts writes what its filters let through', () => {
    const kept = frame({ ip: { v: 4, src: '10.0.0.1', dst: '192.0.2.1', proto: 6, sport: 1, dport: 2 } });
    const byPrefix = frame({ ip: { v: 4, src: '10.0.0.1', dst: '198.51.100.7', proto: 6, sport: 1, dport: 2 } });
    const byProto = frame({ ip: { v: 4, src: '10.0.0.1', dst: '192.0.2.2', proto: 17, sport: 1, dport: 2 } });
    const input = [kept, byPrefix, byProto, kept, byProto, byPrefix, kept];
    writePcap(join(dir, 'in.pcap'), input);
    const run = runScript('examples/pcap-replay.ts', [join(dir, 'in.pcap'), join(dir, 'out.pcap'), '--drop-dst', '198.51.100.0/24', '--drop-proto', 'udp', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(readPcap(join(dir, 'out.pcap'))).toEqual([kept, kept, kept]);
    expect(JSON.parse(lastLine(run.stdout))).toEqual({
      in: 7,
      out: 3,
      dropped: 4,
      rules: [
        { name: 'drop-dst', matched: 2 },
        { name: 'drop-proto', matched: 2 },
      ],
    });
  });

  it('pcap-replay.ts with an input that is not there refuses before anything starts, and leaves the output as it was', () => {
    const output = join(dir, 'kept.pcap');
    writeFileSync(output, 'what was there');
    const run = runScript('examples/pcap-replay.ts', [join(dir, 'nothing.pcap'), output]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^pcap-replay: ports\.in\.pcap\.rx: cannot read ".*nothing\.pcap" \(No such file or directory.*\[ERR_CONFIG\]$/m);
    expect(run.stderr).not.toContain('EAL:');
    expect(readFileSync(output, 'utf8')).toBe('what was there');
  });

  it("firewall.ts filters by an ACL file in l3fwd's format, counting each rule", () => {
    const v4 = (src: string, dst: string, proto: number, sport: number, dport: number) => frame({ ip: { v: 4, src, dst, proto, sport, dport } });
    const telnet = v4('10.0.0.1', '198.18.0.5', 6, 40000, 23);
    const ssh = v4('10.0.0.1', '198.18.0.9', 6, 40001, 22);
    const untrusted = v4('203.0.113.7', '192.0.2.1', 17, 5000, 9);
    const dnsLow = v4('10.0.0.2', '192.0.2.53', 17, 1000, 53);
    const dnsHigh = v4('10.0.0.2', '192.0.2.53', 17, 50000, 53);
    const web = v4('10.0.0.3', '198.18.0.5', 6, 40002, 443);
    const mgmt = frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8:ff::1', proto: 6, sport: 1, dport: 2 } });
    const v6 = frame({ ip: { v: 6, src: '2001:db8::1', dst: '2001:db8:1::1', proto: 6, sport: 1, dport: 2 } });
    writePcap(join(dir, 'fw-in.pcap'), [telnet, web, ssh, untrusted, dnsLow, dnsHigh, mgmt, v6, telnet]);
    const run = runScript('examples/firewall.ts', ['examples/configs/firewall.rules', join(dir, 'fw-in.pcap'), join(dir, 'fw-out.pcap'), '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(readPcap(join(dir, 'fw-out.pcap'))).toEqual([web, dnsHigh, v6]);
    expect(JSON.parse(lastLine(run.stdout))).toEqual({
      in: 9,
      out: 3,
      dropped: 6,
      unmatched: 3,
      hits: { line6: 2, line7: 1, line9: 1, line11: 1, line13: 1 },
    });
  });

  it('firewall.ts names a bad rule line and field before anything starts', () => {
    writeFileSync(join(dir, 'bad.rules'), '@10.0.0.0/8 0.0.0.0/0 0 : 65535 0 : 70000 6/0xff\n');
    const run = runScript('examples/firewall.ts', [join(dir, 'bad.rules'), join(dir, 'fw-in.pcap'), join(dir, 'fw-none.pcap')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^firewall: pipelines\[0\]\.stages\[0\]\.rulesFile: ".*bad\.rules" line 1: dstPorts: "0 : 70000" is not a port range/m);
    expect(run.stderr).not.toContain('EAL:');
  });

  it('bridge.ts says how to call it', () => {
    const run = runScript('examples/bridge.ts', ['onlyone']);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('bridge: usage: npx tsx examples/bridge.ts IFACE_A IFACE_B [--duration S] [--json]');
  });

  it('capture.ts captures what its filter matches from a forwarding engine', () => {
    const file = join(dir, 'capture.pcapng');
    const run = runScript('examples/capture.ts', [file, '--filter', 'udp src port 1027', '--count', '30']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^captured 30, dropped \d+ in [\d.]+ s; the engine has forwarded [\d,]+ packets since it started$/m);
    const ports = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'udp.srcport'], { encoding: 'utf8' });
    expect(ports.trim().split('\n')).toEqual(Array(30).fill('1027'));
  });
});
