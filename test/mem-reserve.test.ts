/**
 * `fastpath mem plan CONFIG --reserve` makes free the hugepages the config needs on
 * hugepages, however few are free now: a config whose plan needs more pages than are free
 * (with the engine's choice left open, and with `hugepages: true`) is planned on hugepages
 * once it has run. The pool is put back as it was after each test.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, expect, it } from 'vitest';

import type { HugepageReservation, MemoryPlan } from '@fastpath/control';

import { repoRoot, runCli, scratchDir } from './helpers.js';

const POOL = '/sys/kernel/mm/hugepages/hugepages-2048kB';
const read = (file: string) => Number(readFileSync(`${POOL}/${file}`, 'utf8'));
/** Bytes an mbuf of the default data room takes in the pool, at most (the plan says exactly). */
const MBUF_BYTES = 2560;

let total: number;
beforeEach((ctx) => {
  if (process.getuid?.() !== 0) {
    console.warn('skipped: reserving hugepages needs root (npm test runs as root in CI)');
    ctx.skip();
  }
  total = read('nr_hugepages');
});
afterEach(() => {
  // Back to what it was: the kernel frees only free pages, so nothing another test holds.
  if (total !== undefined) writeFileSync(`${POOL}/nr_hugepages`, String(total));
});

/**
 * A config on two null ports whose packet pool alone needs `pages` pages of 2 MiB, at most:
 * MBUF_BYTES is an upper bound, so a pool sized by it needs a few percent fewer.
 */
function configNeeding(pages: number, hugepages?: boolean): string {
  const file = join(scratchDir('reserve'), 'big.config.json');
  const mbufs = Math.ceil((pages * (2 << 20)) / MBUF_BYTES);
  const memory = hugepages === undefined ? { mbufs } : { mbufs, hugepages };
  writeFileSync(file, JSON.stringify({ ports: { a: { null: {} }, b: { null: {} } }, lcores: { workers: [1] }, memory, pipelines: [{ name: 'fwd', input: 'a', output: 'b' }] }));
  return file;
}

/** Pages surely more than are free: MBUF_BYTES overestimates an mbuf by a few percent, which a large pool of free pages (another program's reservation) would absorb. */
const moreThanFree = () => Math.ceil(read('free_hugepages') * 1.15) + 40;

const planOf = (run: ReturnType<typeof runCli>) => {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as MemoryPlan & { reservation?: HugepageReservation };
};

it('reserves what a plan left to the engine needs, and the plan then uses hugepages', () => {
  const file = configNeeding(moreThanFree());
  const before = planOf(runCli(['mem', 'plan', file, '--json']));
  expect(before.hugepages).toBe(false);
  expect(before.hugepagesNote).toMatch(/MiB of hugepages are free but \d+ MiB are needed/);
  // The plan on hugepages and its shortfall are shown, not only the plan without them.
  const short = before.onHugepages!;
  expect(short.pageSize).toBe(2 << 20);
  expect(short.freePages).toBe(read('free_hugepages'));
  expect(short.pages).toBeGreaterThan(short.freePages);
  const text = runCli(['mem', 'plan', file]);
  expect(text.stdout).toContain(`on hugepages it needs ${short.pages} page(s) of 2.0 MiB; ${short.freePages} free, ${short.pages - short.freePages} short`);

  const after = planOf(runCli(['mem', 'plan', file, '--json', '--reserve']));
  const r = after.reservation!;
  expect(r.wanted).toBeGreaterThan(r.freeBefore);
  expect(r.totalAfter - r.totalBefore).toBe(r.wanted - r.freeBefore);
  expect(r.freeAfter).toBeGreaterThanOrEqual(r.wanted);
  expect(after).toMatchObject({ hugepages: true, pageSize: 2 << 20, pages: r.wanted });
  expect(after.onHugepages).toBeUndefined();
  expect(r.wanted).toBe(short.pages);
  expect(read('nr_hugepages')).toBe(r.totalAfter);

  // Enough free now: a second --reserve changes nothing and says so.
  const again = runCli(['mem', 'plan', file, '--reserve']);
  expect(again.status, again.stderr).toBe(0);
  expect(again.stdout).toContain(`already free, this config needs ${r.wanted}: nothing to reserve`);
  expect(read('nr_hugepages')).toBe(r.totalAfter);
});

it('reserves for a config that requires hugepages, which is refused until then', () => {
  const file = configNeeding(moreThanFree(), true);
  const refused = runCli(['mem', 'plan', file]);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/hugepages were required .* are needed .*\[ERR_NO_HUGEPAGES\]/);

  const reserved = runCli(['mem', 'plan', file, '--reserve']);
  expect(reserved.status, reserved.stderr).toBe(0);
  expect(reserved.stdout).toContain(`${file}: memory plan (hugepages)`);
  expect(reserved.stdout).toMatch(/^reserved \d+ more page\(s\) of 2 MiB: nr_hugepages \d+ -> \d+, free \d+ -> \d+ \(this config needs \d+\)$/m);
});

it('refuses to reserve for a config that runs without hugepages, saying why', () => {
  const file = configNeeding(8, false);
  const run = runCli(['mem', 'plan', file, '--reserve']);
  expect(run.status).toBe(1);
  expect(run.stderr).toBe('fastpath: memory.hugepages: is false: this config runs without hugepages, so there is nothing to reserve (remove the field to let the engine choose, or set it to true) [ERR_CONFIG]\n');
  expect(read('nr_hugepages')).toBe(total);
});

it('mounts hugetlbfs where none is mounted (in a mount namespace of its own)', () => {
  const file = configNeeding(8);
  // Every hugetlbfs mount unmounted in a private mount namespace, then --reserve, then the
  // namespace's mounts: the machine's own mounts are never touched.
  const script = `grep hugetlbfs /proc/mounts | cut -d' ' -f2 | xargs -r -n1 umount && "$0" packages/control/bin/fastpath.js mem plan "$1" --reserve && grep hugetlbfs /proc/mounts`;
  const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath, file], { cwd: repoRoot, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('mounted hugetlbfs on /dev/hugepages');
  expect(run.stdout).toContain(`${file}: memory plan (hugepages)`);
  expect(run.stdout).toMatch(/^nodev \/dev\/hugepages hugetlbfs rw,relatime,pagesize=2M/m);
});
