/**
 * Bad input from the API: a rejected Promise with a stable code and a message that names
 * the path and says what to do, and the Node process carries on.
 */
import { describe, expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, native, SCHEMA_VERSION, type EngineConfig } from '@fastpath/control';

async function rejection(config: unknown): Promise<FastpathError> {
  const error = await Engine.start(config as EngineConfig).then(
    () => new Error('Engine.start resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FastpathError);
  return error as FastpathError;
}

const nulls = { a: { null: {} }, b: { null: {} } };
const forward = [{ input: 'a', output: 'b' }];

describe('error codes', () => {
  it('are the same list in Rust and TypeScript', () => {
    expect(native().errorCodes()).toEqual(Object.values(ErrorCode));
  });
});

describe('configs refused before EAL starts', () => {
  it('zero worker lcores', async () => {
    const e = await rejection({ ports: nulls, lcores: { workers: [] }, pipelines: forward });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.message).toBe('lcores.workers: no worker lcores: the poll loops need at least one, e.g. workers: [1]');
  });

  it('unknown fields and wrong types, each with its path', async () => {
    const e = await rejection({ ports: { a: { null: {}, speed: 10 }, b: { vdev: 7 } }, lcores: { workers: [1] }, pipelines: forward });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.problems).toEqual(['ports.a.speed: unknown field (check its spelling)', 'ports.b.vdev: expected string, got number 7']);
  });

  it('a bad MAC, a bad prefix and an undefined port: every rule, each with its path', async () => {
    const e = await rejection({
      ports: nulls,
      lcores: { workers: [1] },
      pipelines: [{ input: 'a', stages: ['io', { kind: 'macRewrite', dst: '02:00:00:00:00:zz' }, { kind: 'match', match: { dst: '10.0.0.0/33' }, action: 'drop' }], output: 'b' }],
    });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.problems).toEqual([
      'pipelines[0].stages[1].dst: "02:00:00:00:00:zz" is not a MAC address (expected six hex bytes like 02:00:00:00:00:01)',
      'pipelines[0].stages[2].match.dst: "10.0.0.0/33" is not a valid IPv4 prefix',
    ]);
    const undefinedPort = await rejection({ ports: nulls, lcores: { workers: [1] }, pipelines: [{ input: 'a', output: 'c' }] });
    expect(undefinedPort.message).toBe('pipelines[0].output: "c" is not a port (ports: a, b)');
  });

  it('an unknown stage: a shape problem, reported alone (the rules need a well-formed config)', async () => {
    const e = await rejection({
      ports: nulls,
      lcores: { workers: [1] },
      pipelines: [{ input: 'a', stages: ['io', { kind: 'macRewrite', dst: '02:00:00:00:00:zz' }, { kind: 'nat' }], output: 'b' }],
    });
    expect(e.problems).toEqual(['pipelines[0].stages[2].kind: unknown stage "nat" (stages: io, macRewrite, macSwap, fiveTupleSwap, drop, match, bridge, route, acl)']);
  });

  it('a value a field does not take: what it does take is listed', async () => {
    const e = await rejection({
      ports: nulls,
      lcores: { workers: [1, 'two'] },
      memory: { mbufs: Number('lots') },
      pipelines: [{ input: 'a', stages: [{ kind: 'match', match: { proto: 'gre', srcPort: [1024, 70000] }, action: 'drop' }], output: 'b' }],
    });
    expect(e.problems).toEqual([
      'memory.mbufs: expected number, got NaN',
      'lcores.workers[1]: "two" is not valid here (expected a number or an object)',
      'pipelines[0].stages[0].match.proto: "gre" is not valid here (expected one of "tcp", "udp", "icmp", "icmpv6", "sctp" or a number)',
      'pipelines[0].stages[0].match.srcPort[1]: number 70000 Too big: expected number to be <=65535',
    ]);
  });

  it('a queue owned twice', async () => {
    const e = await rejection({
      ports: nulls,
      lcores: { workers: [{ lcore: 1, rx: [{ port: 'a', queue: 0 }] }, { lcore: 2, rx: [{ port: 'a', queue: 0 }] }] },
      pipelines: forward,
    });
    expect(e.message).toBe('lcores.workers[1].rx[0]: queue 0 of port "a" is already polled by lcore 1; a queue has one owner');
  });

  it('a worker on a CPU this process may not use (checked by the engine)', async () => {
    const e = await rejection({ ports: nulls, lcores: { workers: [{ lcore: 1, cpu: 1000 }] }, memory: { hugepages: false }, pipelines: forward });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.message).toMatch(/^lcores\.workers\[0\]\.cpu: CPU 1000 is not one this process may run on \(allowed: [\d,-]+\)$/);
  });

  it('hugepages required but not enough free', async () => {
    // 50 M mbufs need ~120 GiB of hugepages: more than any test machine has free.
    const e = await rejection({ ports: nulls, lcores: { workers: [1] }, memory: { hugepages: true, mbufs: 50_000_000 }, pipelines: forward });
    expect(e.code).toBe(ErrorCode.NoHugepages);
    expect(e.message).toContain('memory.hugepages to false');
  });
});

describe('an unknown vdev', () => {
  it('rejects with ERR_EAL_INIT naming the device and the fix; the process lives on', async () => {
    const e = await rejection({ ports: { a: { vdev: 'net_bogus0' }, b: { null: {} } }, lcores: { workers: [1] }, memory: { hugepages: false }, pipelines: forward });
    expect(e.code).toBe(ErrorCode.EalInit);
    expect(e.message).toContain('net_bogus0');
    expect(e.message).toContain('check each --vdev spec');
    // Still alive and serving: the event loop runs and the binding answers.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(native().schemaVersion()).toBe(SCHEMA_VERSION);
  });
});
