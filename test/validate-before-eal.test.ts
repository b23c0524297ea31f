/**
 * `fastpath validate` refuses what `fastpath run` would refuse and can be known before EAL
 * starts: a worker sending on a port with no tx queue left for it, a `stats.group` this
 * machine lacks, a port field its software driver cannot take. Each is named at its path;
 * the config that gives every sending worker a tx queue passes. `run` refuses the same
 * configs before EAL starts.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli, scratchDir } from './helpers.js';

const dir = scratchDir('validate-before-eal');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `config` as `name`.json in the scratch directory; returns its path. */
function file(name: string, config: object): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/**
 * Two workers (lcore 2 on CPU 1, so that two CPUs are enough) that both run the pipeline
 * from `a`, a null port with two rx queues, to port `b`.
 */
function twoSenders(b: object): object {
  return {
    memory: { hugepages: false, mbufs: 16383 },
    ports: { a: { null: {}, queues: 2 }, b },
    lcores: { workers: [1, { lcore: 2, cpu: 1 }] },
    pipelines: [{ input: 'a', output: 'b' }],
  };
}

const TX_QUEUE = 'pipelines[0].output: port "b" (net_pcap) has 1 tx queue(s), so only the first 1 worker(s) can send to it, but this pipeline also runs on lcore 2; use fewer workers or poll its inputs from the first ones';

/** The `path: reason` lines of an ERR_CONFIG refusal as the CLI prints it (one problem alone, or several under a heading). */
function problems(stderr: string): string[] {
  expect(stderr).toContain('[ERR_CONFIG]');
  return stderr
    .trim()
    .split('\n')
    .map((line) => line.replace(/^fastpath:\s+/, '').replace(/ \[ERR_CONFIG\]$/, ''))
    .filter((line) => !line.endsWith(': invalid config'));
}

/** A group name this machine does not have: the docs' own example when it is missing. */
function missingGroup(): string {
  const has = (name: string) => spawnSync('getent', ['group', name]).status === 0;
  return has('monitoring') ? `monitoring-${process.pid}` : 'monitoring';
}

describe('fastpath validate, before EAL', () => {
  it('refuses two workers sending to a pcap port with one tx file, at the output', () => {
    const config = file('one-tx-file', twoSenders({ pcap: { tx: join(dir, 'out.pcap') } }));
    const run = runCli(['validate', config]);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(1);
    expect(problems(run.stderr)).toEqual([TX_QUEUE]);
  });

  it('passes two workers sending to a pcap port with a tx file each', () => {
    const vdev = `net_pcap9,tx_pcap=${join(dir, 'out0.pcap')},tx_pcap=${join(dir, 'out1.pcap')}`;
    const config = file('two-tx-files', twoSenders({ vdev }));
    const run = runCli(['validate', config]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(`${config}: valid (2 ports, 1 pipeline, 2 worker lcores)`);
  });

  it('refuses a stats.group this machine does not have, saying what to do', () => {
    const group = missingGroup();
    const config = file('group', {
      memory: { hugepages: false },
      ports: { a: { null: {} }, b: { null: {} } },
      lcores: { workers: [1] },
      pipelines: [{ input: 'a', output: 'b' }],
      stats: { group },
    });
    const run = runCli(['validate', config]);
    expect(run.status).toBe(1);
    expect(problems(run.stderr)).toEqual([`stats.group: there is no group named "${group}" on this machine; create it (groupadd ${group}) or give a gid`]);
    // A gid need not be any group's.
    const gid = file('gid', { memory: { hugepages: false }, ports: { a: { null: {} } }, lcores: { workers: [1] }, pipelines: [{ input: 'a', output: 'a' }], stats: { group: 987654 } });
    const byId = runCli(['validate', gid]);
    expect(byId.stderr).toBe('');
    expect(byId.status).toBe(0);
  });

  it("refuses what a software driver cannot do with a port's fields, each at its path", () => {
    const config = file('drivers', {
      memory: { hugepages: false, mbufs: 65535 },
      ports: {
        a: { null: {}, mac: '01:00:5e:00:00:01' },
        b: { pcap: { rx: join(dir, 'in.pcap') }, queues: 2, mtu: 1400 },
        c: { ring: {}, mac: '02:00:00:00:00:0c' },
        t: { tap: {} },
      },
      lcores: { workers: [1, { lcore: 2, cpu: 1 }] },
      pipelines: [{ input: 'a', output: 'b' }, { input: 'b', output: ['c', 't'] }],
    });
    const run = runCli(['validate', config]);
    expect(run.status).toBe(1);
    expect(problems(run.stderr)).toEqual([
      'ports.a.mac: "01:00:5e:00:00:01" is a multicast address, which a port cannot take; give a unicast one (first byte even) such as 02:00:00:00:00:01',
      'ports.b.queues: driver net_pcap offers at most 1 rx queue(s) here; 2 were asked for: set queues to at most 1',
      'ports.b.mtu: driver net_pcap cannot set an MTU; remove mtu from this port',
      'ports.c.mac: driver net_ring cannot set its MAC address; remove mac from this port',
      'ports.t.queues: driver net_tap needs as many rx queues as tx queues, and the engine gives this port 2 tx queue(s) (one per worker, up to 16); set queues to 2',
    ]);
  });

  it('run refuses the same before EAL starts', () => {
    const config = file('run-one-tx-file', twoSenders({ pcap: { tx: join(dir, 'run-out.pcap') } }));
    const run = runCli(['run', config, '--duration', '1']);
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain('EAL:');
    expect(problems(run.stderr)).toEqual([TX_QUEUE]);
  });
});
