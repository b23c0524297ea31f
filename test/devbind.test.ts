/**
 * `fastpath devbind` on copies of fixture trees, never on this machine's own NIC: the
 * writes a bind would make (dry run), the writes it makes with --yes, and its refusals.
 */
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { repoRoot, runCli, scratchDir } from './helpers.js';

const dir = scratchDir('devbind');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A private copy of fixture `env` (symlinks kept) that a test may write into. */
function tree(env: string): string {
  const root = join(dir, `${env}-${Math.random().toString(36).slice(2)}`);
  cpSync(join(repoRoot, 'test/fixtures/sysfs', env), root, { recursive: true, verbatimSymlinks: true });
  return root;
}

const dev = (root: string, pci: string, file: string) => join(root, 'sys/bus/pci/devices', pci, file);

it('lists the network devices, their drivers and the active interface', () => {
  const r = runCli(['devbind', '--status', '--root', tree('iommu-vfio')]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^0000:3b:00\.0 '8086:\w+' drv=vfio-pci \[DPDK\]$/m);
  expect(r.stdout).toMatch(/^0000:3b:00\.1 '8086:\w+' drv=ixgbe if=\w+$/m);
  expect(r.stdout).toMatch(/^0000:00:1f\.6 .* if=eno1 \*Active\*$/m);
  const json = runCli(['devbind', '--status', '--json', '--root', tree('iommu-vfio')]);
  const devices = JSON.parse(json.stdout) as { pci: string; driver: string | null; active: boolean }[];
  expect(devices.find((d) => d.pci === '0000:3b:00.0')?.driver).toBe('vfio-pci');
  expect(devices.find((d) => d.pci === '0000:00:1f.6')?.active).toBe(true);
});

it('plans a bind through driver_override without writing, then writes it with --yes', () => {
  const root = tree('iommu-vfio');
  const override = dev(root, '0000:3b:00.1', 'driver_override');
  const before = readFileSync(override, 'utf8');
  const dry = runCli(['devbind', '--bind', 'vfio-pci', '0000:3b:00.1', '--root', root, '--json']);
  expect(dry.status, dry.stderr).toBe(0);
  const plan = JSON.parse(dry.stdout) as { applied: boolean; writes: { path: string; value: string }[] };
  expect(plan.applied).toBe(false);
  // Override, unbind from ixgbe, ask the kernel to probe: dpdk-devbind.py's order.
  expect(plan.writes.map((w) => [w.path.slice(root.length), w.value.trim()])).toEqual([
    ['/sys/bus/pci/devices/0000:3b:00.1/driver_override', 'vfio-pci'],
    ['/sys/bus/pci/devices/0000:3b:00.1/driver/unbind', '0000:3b:00.1'],
    ['/sys/bus/pci/drivers_probe', '0000:3b:00.1'],
  ]);
  expect(readFileSync(override, 'utf8')).toBe(before);

  const wet = runCli(['devbind', '--bind', 'vfio-pci', '3b:00.1', '--root', root, '--yes']);
  expect(wet.status, wet.stderr).toBe(0);
  expect(wet.stdout).toMatch(/^wrote:/);
  expect(readFileSync(override, 'utf8').trim()).toBe('vfio-pci');
  expect(readFileSync(join(root, 'sys/bus/pci/drivers_probe'), 'utf8').trim()).toBe('0000:3b:00.1');
});

it.each([
  ['the active interface', 'iommu-vfio', ['--bind', 'vfio-pci', '0000:00:1f.6'], /is the active interface eno1.*bring it down first/],
  ['a group that would not be viable', 'iommu-group-not-viable', ['--bind', 'vfio-pci', '0000:02:00.0'], /group 2.*0000:02:00\.1/],
  ['a malformed address', 'iommu-vfio', ['--bind', 'vfio-pci', '3b:00.9'], /not a PCI address/i],
  ['a missing device', 'iommu-vfio', ['--bind', 'vfio-pci', '0000:99:00.0'], /no PCI device 0000:99:00\.0/i],
  ['a driver that is not loaded', 'iommu-vfio', ['--bind', 'igb_uio', '0000:3b:00.1'], /modprobe/],
])('refuses %s with ERR_DEVBIND and writes nothing', (_what, env, args, why) => {
  const root = tree(env);
  const r = runCli(['devbind', ...args, '--root', root, '--yes']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/\[ERR_DEVBIND\]/);
  expect(r.stderr).toMatch(why);
  expect(readFileSync(join(root, 'sys/bus/pci/drivers_probe'), 'utf8')).toBe(readFileSync(join(repoRoot, 'test/fixtures/sysfs', env, 'sys/bus/pci/drivers_probe'), 'utf8'));
});

it('needs exactly one of --status, --bind, --unbind', () => {
  const r = runCli(['devbind', '--status', '--unbind', '0000:3b:00.1']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/exactly one of --status, --bind DRIVER PCI\.\.\., --unbind PCI\.\.\./);
});
