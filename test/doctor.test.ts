/**
 * The platform probe end to end: `fastpath doctor` on every fixture tree (each one a branch
 * of the driver/IOVA flowchart) gives its expected report, and on this machine the IOVA mode
 * it predicts is the one EAL then selects, with hugepages and without.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { doctor } from '@fastpath/control';

import { lastLine, repoRoot, runCli, runDemo } from './helpers.js';

const fixtures = join(repoRoot, 'test/fixtures/sysfs');
const environments = readdirSync(fixtures).sort();

describe('doctor on fixture trees', () => {
  it('covers at least 8 environments', () => {
    expect(environments.length).toBeGreaterThanOrEqual(8);
  });

  it.each(environments)('%s gives its expected report', (env) => {
    const expected = JSON.parse(readFileSync(join(fixtures, env, 'expected.json'), 'utf8')) as Record<string, unknown>;
    // The linked DPDK build is this machine's, not the tree's: expected.json leaves it out.
    const { text, dpdk, ...report } = doctor({ root: join(fixtures, env) });
    expect(dpdk.version).toMatch(/^22\.11\./);
    expect(report).toEqual(expected);
    // The readable report has a ✓ or ✗ line per check, and a fix for every ✗.
    for (const check of report.checks) {
      expect(text).toContain(`${check.ok ? '✓' : '✗'} ${check.what}`);
      if (!check.ok) expect(text).toContain(check.fix!);
    }
  });

  it('prints JSON from the CLI and exits 1 when EAL would fail', () => {
    const ok = runCli(['doctor', '--json', '--root', join(fixtures, 'iommu-vfio')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { iova: { predicted: string } }).iova.predicted).toBe('va');
    const failing = runCli(['doctor', '--root', join(fixtures, 'no-hugepages')]);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/✗ .*hugepages/i);
  });

  it('refuses a root that does not exist with ERR_PROBE', () => {
    const r = runCli(['doctor', '--root', '/nonexistent/fastpath-root']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_PROBE\]/);
  });
});

describe('doctor on this machine', () => {
  const hugepagesFree = Number(readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages', 'utf8'));

  it('predicts the IOVA mode the demo then reports, with hugepages', (ctx) => {
    if (hugepagesFree < 64) {
      console.warn(`skipped: needs 64 free 2 MiB hugepages (${hugepagesFree} free); run npm test as root to reserve them`);
      ctx.skip();
    }
    const report = doctor();
    const demo = runDemo(['--duration', '1', '--huge']);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`IOVA mode: ${report.iova.predicted.toUpperCase()} (hugepages)`);
  });

  it('predicts VA with --no-huge, and the demo runs as VA', () => {
    const r = runCli(['doctor', '--json', '--no-huge']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { iova: { predicted: string } }).iova.predicted).toBe('va');
    const demo = runDemo(['--duration', '1', '--no-huge', '--json']);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('IOVA mode: VA (no hugepages, --no-huge)');
    expect(JSON.parse(lastLine(demo.stdout))).toBeTruthy();
  });
});
