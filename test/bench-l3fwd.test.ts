/**
 * bench/routing.ts builds DPDK's l3fwd from dpdk-doc's sources with a list of substitutions
 * that must each apply exactly once (bench/lib/l3fwd.ts): a DPDK update that moves one of
 * those lines fails here rather than in a bench run. The build is cached under target/bench/.
 * Then l3fwd forwards the bench's 16-route traffic for a moment through the bench's own
 * start, pause, measure and stop, and leaves no EAL runtime directory behind. No timing is
 * asserted: only that packets went through.
 */
import { existsSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ealRuntimeDir } from '@fastpath/control';

import { L3fwd, l3fwdBinary } from '../bench/lib/l3fwd.js';
import { routeSet } from '../bench/lib/routing-data.js';

it('builds the bench l3fwd, which forwards the bench traffic and leaves no runtime directory behind', async () => {
  expect(existsSync(l3fwdBinary(32767))).toBe(true);
  const set = routeSet('v4-16');
  const l3fwd = await L3fwd.start({ lookup: 'lpm', rulesV4: set.l3fwdV4, rulesV6: set.l3fwdV6, pcaps: set.pcaps, mbufs: 32767, noHuge: true });
  const dir = ealRuntimeDir(l3fwd.prefix);
  try {
    l3fwd.pause();
    l3fwd.resume();
    const rates = await l3fwd.measure(0.1, 0.3);
    expect(rates.rxMpps).toBeGreaterThan(0);
    // Every frame of the traffic has a route: what comes in goes out.
    expect(rates.txMpps).toBeGreaterThan(0);
  } finally {
    await l3fwd.stop();
  }
  expect(existsSync(dir), dir).toBe(false);
}, 180_000);
