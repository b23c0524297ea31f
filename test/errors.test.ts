/**
 * Bad input from the API: a rejected Promise with a stable code and a message that says
 * what to do, and the Node process carries on.
 */
import { describe, expect, it } from 'vitest';

import { Engine, ErrorCode, FastpathError, native, type EngineConfig } from '@fastpath/control';

async function rejection(config: unknown): Promise<FastpathError> {
  const error = await Engine.start(config as EngineConfig).then(
    () => new Error('Engine.start resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FastpathError);
  return error as FastpathError;
}

const twoNulls = [{ vdev: 'net_null0' }, { vdev: 'net_null1' }];

describe('error codes', () => {
  it('are the same list in Rust and TypeScript', () => {
    expect(native().errorCodes()).toEqual(Object.values(ErrorCode));
  });
});

describe('configs refused before EAL starts', () => {
  it('zero worker lcores', async () => {
    const e = await rejection({ ports: twoNulls, lcores: { workers: [] } });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.message).toBe('lcores.workers: no worker lcores: the poll loops need at least one, e.g. workers: [1]');
  });

  it('unknown fields and wrong types, each with its path', async () => {
    const e = await rejection({ ports: [{ vdev: 'net_null0', speed: 10 }, { vdev: 7 }], lcores: { workers: [1] } });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.message).toContain('ports[0].speed: unknown field');
    expect(e.message).toContain('ports[1].vdev: expected string, got number 7');
  });

  it('a worker on a CPU this process may not use (checked by the engine)', async () => {
    const e = await rejection({ ports: twoNulls, lcores: { workers: [1000] }, memory: { hugepages: false } });
    expect(e.code).toBe(ErrorCode.Config);
    expect(e.message).toMatch(/^lcores\.workers\[0\]: lcore 1000 is not a CPU this process may run on \(allowed: [\d,-]+\)$/);
  });

  it('hugepages required but not enough free', async () => {
    // 50 M mbufs need ~120 GiB of hugepages: more than any test machine has free.
    const e = await rejection({ ports: twoNulls, lcores: { workers: [1] }, memory: { hugepages: true, mbufs: 50_000_000 } });
    expect(e.code).toBe(ErrorCode.NoHugepages);
    expect(e.message).toContain('memory.hugepages to false');
  });
});

describe('an unknown vdev', () => {
  it('rejects with ERR_EAL_INIT naming the device and the fix; the process lives on', async () => {
    const e = await rejection({ ports: [{ vdev: 'net_bogus0' }, { vdev: 'net_null1' }], lcores: { workers: [1] }, memory: { hugepages: false } });
    expect(e.code).toBe(ErrorCode.EalInit);
    expect(e.message).toContain('net_bogus0');
    expect(e.message).toContain('check each --vdev spec');
    // Still alive and serving: the event loop runs and the binding answers.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(native().schemaVersion()).toBe(1);
  });
});
