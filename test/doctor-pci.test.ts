/**
 * `fastpath doctor [CONFIG] [--pci ADDR]...` on fixture trees, one test per branch of DPDK
 * 22.11's PCI vote (`pci_device_iova_mode()`, `rte_pci_get_iommu_class()`) and of
 * `rte_eal_init()`'s choice: the real CLI, its predicted mode, its reasons and its exit code.
 * Nothing here binds, unbinds or probes a device of this machine: every run reads a fixture.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { DoctorReport } from '@fastpath/control';
import { describe, expect, it } from 'vitest';

import { repoRoot, runCli, scratchDir } from './helpers.js';

const fixture = (env: string) => join(repoRoot, 'test/fixtures/sysfs', env);

/** Runs `fastpath doctor --json --root <env> args...`: its exit code and report. */
function doctorJson(env: string, args: string[]) {
  const r = runCli(['doctor', '--json', '--root', fixture(env), ...args]);
  expect(r.stderr).toBe('');
  return { status: r.status, report: JSON.parse(r.stdout) as Omit<DoctorReport, 'text'> };
}

const pci = (...addresses: string[]) => addresses.flatMap((a) => ['--pci', a]);
const voteOf = (report: Omit<DoctorReport, 'text'>, address: string) => report.iova.votes.find((v) => v.pci === address)!;

describe('reliability: doctor: the PCI vote of each kernel driver', () => {
  it('vfio-pci with an IOMMU has no preference, and EAL picks VA (exit 0)', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:3b:00.0'));
    expect(status).toBe(0);
    expect(voteOf(report, '0000:3b:00.0')).toMatchObject({ vote: 'dc', usable: true, driver: 'vfio-pci', iommuGroup: 30 });
    expect(voteOf(report, '0000:3b:00.0').reason).toMatch(/bound to vfio-pci with an IOMMU: pci_device_iova_mode\(\) has no preference/);
    expect(report.iova).toMatchObject({ bus: 'dc', predicted: 'va', ealFails: false, dmaMaskBits: 48 });
    expect(report.iova.reasons.join('\n')).toMatch(/An IOMMU is enabled .* selects IOVA as VA/);
  });

  it('a PMD flagged RTE_PCI_DRV_NEED_IOVA_AS_VA (cnxk) asks for VA', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:af:00.0'));
    expect(status).toBe(0);
    expect(report.dpdk.netCnxk).toBe(true);
    expect(voteOf(report, '0000:af:00.0')).toMatchObject({ vote: 'va', usable: true });
    expect(report.iova).toMatchObject({ bus: 'va', predicted: 'va' });
  });

  it('vfio-pci in no-IOMMU mode asks for PA, which root gets (exit 0)', () => {
    const { status, report } = doctorJson('noiommu-vfio', pci('0000:00:04.0'));
    expect(status).toBe(0);
    expect(voteOf(report, '0000:00:04.0')).toMatchObject({ vote: 'pa', usable: true });
    expect(voteOf(report, '0000:00:04.0').reason).toMatch(/no-IOMMU mode is on/);
    expect(report.iova).toMatchObject({ bus: 'pa', predicted: 'pa', ealFails: false });
  });

  it.each([
    ['igb-uio-vfs', '0000:81:00.1', 'igb_uio'],
    ['noiommu-uio-generic', '0000:00:04.0', 'uio_pci_generic'],
  ])('%s: %s on %s asks for PA (exit 0)', (env, address, driver) => {
    const { status, report } = doctorJson(env, pci(address));
    expect(status).toBe(0);
    expect(voteOf(report, address)).toMatchObject({ vote: 'pa', usable: true, driver });
    expect(voteOf(report, address).reason).toContain(`bound to ${driver}, which cannot use an IOMMU`);
    expect(report.iova).toMatchObject({ bus: 'pa', predicted: 'pa', ealFails: false });
  });

  it('a device on a kernel driver is skipped and opens no port (exit 1, with the bind command)', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:3b:00.1'));
    expect(status).toBe(1);
    const v = voteOf(report, '0000:3b:00.1');
    expect(v).toMatchObject({ vote: 'skipped', usable: false, driver: 'ixgbe' });
    expect(v.reason).toMatch(/rte_pci_get_iommu_class\(\) skips it/);
    expect(v.problem).toContain('dpdk-devbind.py -b vfio-pci 0000:3b:00.1');
    expect(report.iova).toMatchObject({ bus: 'dc', predicted: 'va', ealFails: false });
  });

  it('a ConnectX on mlx5_core has no vote but is driven by the bifurcated mlx5 PMD when the build has it', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:5e:00.0'));
    const v = voteOf(report, '0000:5e:00.0');
    expect(v.vote).toBe('skipped');
    expect(v.usable).toBe(report.dpdk.netMlx5);
    expect(status).toBe(report.dpdk.netMlx5 ? 0 : 1);
  });

  it('a device on no driver, one that does not exist, a group that is not viable: no port opens (exit 1)', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:5e:00.1', '0000:99:00.0', '0000:86:00.0'));
    expect(status).toBe(1);
    expect(voteOf(report, '0000:5e:00.1').reason).toMatch(/bound to no driver: pci_scan_one\(\) leaves it off the bus/);
    expect(voteOf(report, '0000:99:00.0').reason).toMatch(/no PCI device 0000:99:00.0/);
    expect(voteOf(report, '0000:86:00.0').problem).toMatch(/IOMMU group 70 is not viable: 0000:86:00.1 \(i40e\)/);
    expect(report.iova.votes.every((v) => !v.usable)).toBe(true);
    expect(report.iova.ealFails).toBe(false);
  });
});

describe('reliability: doctor: what EAL then does', () => {
  it('PA and VA votes conflict into DC: root with an IOMMU gets VA and the PA device is left out (exit 1)', () => {
    const { status, report } = doctorJson('pci-iommu-mixed', pci('0000:af:00.0', '0000:d8:00.0'));
    expect(status).toBe(1);
    expect(report.iova).toMatchObject({ bus: 'dc', predicted: 'va', ealFails: false });
    expect(report.iova.warnings.join('\n')).toContain("forcing 'DC' because other devices want 'PA'");
    expect(voteOf(report, '0000:af:00.0').usable).toBe(true);
    expect(voteOf(report, '0000:d8:00.0')).toMatchObject({ vote: 'pa', usable: false });
    expect(voteOf(report, '0000:d8:00.0').problem).toContain("Expecting 'PA' IOVA mode but current mode is 'VA', not initializing");
  });

  it('a PA vote without physical addresses (not root) makes EAL refuse to start (exit 1)', () => {
    const { status, report } = doctorJson('pci-noiommu-unprivileged', pci('0000:00:04.0'));
    expect(status).toBe(1);
    expect(report.privileges.physAddrs).toBe(false);
    expect(report.iova).toMatchObject({ bus: 'pa', predicted: 'pa', ealFails: true });
    expect(report.iova.warnings[0]).toContain("Cannot use IOVA as 'PA' since physical addresses are not available");
    const text = runCli(['doctor', '--root', fixture('pci-noiommu-unprivileged'), ...pci('0000:00:04.0')]);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('IOVA mode: PA (EAL will fail)');
  });

  it('--no-huge hides physical addresses from root too: the same PA vote fails (exit 1)', () => {
    const { status, report } = doctorJson('noiommu-vfio', [...pci('0000:00:04.0'), '--no-huge']);
    expect(status).toBe(1);
    expect(report.iova).toMatchObject({ predicted: 'pa', ealFails: true });
  });

  it('a 39-bit IOMMU still allows VA but sets a 39-bit DMA mask, with a warning (exit 0)', () => {
    const { status, report } = doctorJson('narrow-iommu', pci('0000:00:03.0'));
    expect(status).toBe(0);
    expect(report.iova).toMatchObject({ bus: 'dc', predicted: 'va', ealFails: false, dmaMaskBits: 39 });
    expect(report.iova.warnings.join('\n')).toMatch(/address width is 39 bits.*512 GiB/);
  });

  it('no device named is vdevs only (--no-pci), as before', () => {
    const { status, report } = doctorJson('this-vm', []);
    expect(status).toBe(0);
    expect(report.iova).toMatchObject({ bus: 'dc', votes: [], predicted: 'pa', ealFails: false, dmaMaskBits: null });
    expect(report.iova.reasons.join('\n')).toContain('--no-pci, vdevs only');
  });

  it('prints each named device with its vote and the bus vote in the text report', () => {
    const r = runCli(['doctor', '--root', fixture('pci-iommu-mixed'), ...pci('0000:af:00.0', '0000:d8:00.0')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ {2}DPDK {8}22\.11\.\d+ as linked \(/m);
    expect(r.stdout).toContain('PCI devices named to EAL (-a)');
    expect(r.stdout).toContain('0000:af:00.0 177d:a063, driver vfio-pci, IOMMU group 50 → votes VA, initialised');
    expect(r.stdout).toContain('0000:d8:00.0 8086:1521, driver igb_uio, IOMMU group 60 → votes PA, not initialised');
    expect(r.stdout).toContain('PCI bus votes DC, DMA mask 48 bits');
    expect(r.stdout).toContain('✗ 0000:d8:00.0 (igb_uio) will not be initialised by EAL');
  });
});

describe('reliability: doctor CONFIG', () => {
  const dir = scratchDir('doctor-pci');
  const config = (name: string, extra: Record<string, unknown>) => {
    const file = join(dir, `${name}.json`);
    const base = {
      ports: { wire: { pci: '0000:00:04.0' }, sink: { null: {} } },
      lcores: { workers: [1] },
      pipelines: [{ input: 'wire', output: 'sink' }],
    };
    writeFileSync(file, JSON.stringify({ ...base, ...extra }));
    return file;
  };

  it("takes the devices from the config's PCI ports", () => {
    const r = runCli(['doctor', config('plain', {}), '--json', '--root', fixture('noiommu-vfio')]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.options).toMatchObject({ devices: ['0000:00:04.0'], hugeFallback: true, iovaModeForced: null });
    expect(report.iova).toMatchObject({ bus: 'pa', predicted: 'pa', ealFails: false });
  });

  it('adds --pci devices to the config ones', () => {
    const r = runCli(['doctor', config('plain', {}), '--json', '--root', fixture('noiommu-vfio'), '--pci', '0000:00:03.0']);
    expect(r.status).toBe(1); // 0000:00:03.0 is the VM's own NIC, on virtio-pci
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.options.devices).toEqual(['0000:00:04.0', '0000:00:03.0']);
    expect(voteOf(report, '0000:00:03.0')).toMatchObject({ vote: 'skipped', usable: false });
  });

  it("follows the config's eal.iovaMode: VA leaves the PA device out (exit 1)", () => {
    const r = runCli(['doctor', config('va', { eal: { iovaMode: 'VA' } }), '--json', '--root', fixture('noiommu-vfio')]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.iova).toMatchObject({ predicted: 'va', ealFails: false });
    expect(report.iova.reasons.join('\n')).toContain('--iova-mode=va forces the mode');
    expect(voteOf(report, '0000:00:04.0').problem).toContain("Expecting 'PA' IOVA mode but current mode is 'VA'");
  });

  it('follows memory.hugepages false: --no-huge, no physical addresses, EAL refuses PA (exit 1)', () => {
    const r = runCli(['doctor', config('nohuge', { memory: { hugepages: false } }), '--json', '--root', fixture('noiommu-vfio')]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.options.noHuge).toBe(true);
    expect(report.iova).toMatchObject({ predicted: 'pa', ealFails: true });
  });

  it('refuses a --pci that is not a PCI address, before probing (exit 2)', () => {
    const r = runCli(['doctor', '--pci', 'eth0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--pci must be a PCI address like 0000:03:00.0');
  });

  it('refuses an invalid config with its problem (exit 1)', () => {
    const r = runCli(['doctor', config('bad', { lcores: { workers: [] } }), '--root', fixture('noiommu-vfio')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/lcores\.workers: .*\[ERR_CONFIG\]/);
  });
});
