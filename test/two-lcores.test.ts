/**
 * Two worker lcores, each owning one rx queue of a two-queue port, both sending to the
 * same output (each on its own tx queue): per-lcore counters add up to the port's.
 */
import { expect, it } from 'vitest';

import { allowedCpus, Engine } from '@fastpath/control';

it('splits a port between two lcores and counts each', async () => {
  const cpus = allowedCpus();
  const cpu = cpus[1] ?? cpus[0]!;
  // On a two-CPU machine both workers share the second CPU (lcore ids need not be CPU ids).
  const engine = await Engine.start({
    ports: { a: { null: {}, queues: 2 }, b: { null: {} } },
    lcores: {
      main: 0,
      mainCpu: cpus[0],
      workers: [
        { lcore: 1, cpu, rx: [{ port: 'a', queue: 0 }] },
        { lcore: 2, cpu, rx: [{ port: 'a', queue: 1 }] },
      ],
    },
    memory: { hugepages: false, mbufs: 16383 },
    pipelines: [{ name: 'a-to-b', input: 'a', output: 'b' }],
  });
  expect(engine.info.workers.map((w) => [w.lcore, w.cpu, w.rxQueues])).toEqual([
    [1, cpu, ['a:0']],
    [2, cpu, ['a:1']],
  ]);
  expect(engine.info.ports.map((p) => [p.name, p.rxQueues, p.txQueues])).toEqual([
    ['a', 2, 2],
    ['b', 1, 2],
  ]);
  expect(engine.info.ealArgs.join(' ')).toContain(`--lcores 0@${cpus[0]},1@${cpu},2@${cpu}`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const last = await engine.stop();
  const [l1, l2] = last.lcores as [(typeof last.lcores)[0], (typeof last.lcores)[0]];
  expect(l1.rxPackets).toBeGreaterThan(0);
  expect(l2.rxPackets).toBeGreaterThan(0);
  expect(l1.rxPackets! + l2.rxPackets!).toBe(last.ports[0]!.rxPackets);
  expect(l1.txPackets! + l2.txPackets!).toBe(last.ports[1]!.txPackets);
  expect(last.ports[0]!.rxPackets).toBe(last.ports[1]!.txPackets + last.ports[1]!.txDropped);
});
