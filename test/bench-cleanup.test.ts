/**
 * The benchmarks run dpdk-testpmd beside Fastpath; EAL leaves testpmd's runtime directory
 * (/var/run/dpdk/<file-prefix> as root) behind even after `quit`. The bench's one way to
 * start testpmd removes it when testpmd exits: a short io run leaves nothing. The directory
 * is watched while testpmd runs, so that a wrong path (one EAL never made) cannot pass as clean.
 */
import { existsSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ealRuntimeDir } from '@fastpath/control';

import { testpmd } from '../bench/lib/forward.js';

it('runs testpmd for the bench and leaves no runtime directory behind', async () => {
  const dir = ealRuntimeDir(`bench-testpmd-${process.pid}`);
  expect(existsSync(dir), dir).toBe(false);
  let seen = false;
  const watch = setInterval(() => (seen ||= existsSync(dir)), 10);
  try {
    const mpps = await testpmd('io', { durationS: 0.5, noHuge: true, mbufs: 8191 });
    expect(mpps).toBeGreaterThan(0);
  } finally {
    clearInterval(watch);
  }
  expect(seen, `${dir} while testpmd ran`).toBe(true);
  expect(existsSync(dir), dir).toBe(false);
});
