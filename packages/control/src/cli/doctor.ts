/**
 * `fastpath doctor [CONFIG] [--pci ADDR]...`: what this machine offers DPDK (IOMMU, VFIO/UIO,
 * hugepages, NICs) and what EAL will do with the PCI devices a config (its ports' `pci`) or the
 * flags name: each device's vote, the IOVA mode, whether EAL starts. The prediction is the
 * probe's (Rust); this only gathers the devices and prints.
 */
import type { EngineConfig } from '@fastpath/types';

import { wire } from '../engine.js';
import { loadConfig } from '../load-config.js';
import { doctor, type DoctorOptions } from '../platform.js';
import { CONFIG_NOTE, defineCommand, reportConfigProblems, UsageError } from './command.js';

/** `0000:03:00.0`, or `03:00.0` (domain 0000), as sysfs spells it. */
const PCI_ADDRESS = /^([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'fastpath doctor [CONFIG] [--pci ADDR]... [--json] [--root DIR] [--no-huge]',
  summary: 'Say what this machine offers DPDK (IOMMU, VFIO/UIO, hugepages, NICs) and what EAL will do with the PCI devices named',
  options: {
    pci: { type: 'string', multiple: true, value: 'ADDR', help: 'predict for PCI device ADDR (0000:03:00.0) as EAL -a gets it; repeatable, added to CONFIG\'s' },
    json: { type: 'boolean', default: false, help: 'print the report as JSON' },
    root: { type: 'string', value: 'DIR', help: 'read /sys, /proc and /dev under DIR (a fixture tree) instead of /' },
    'no-huge': { type: 'boolean', default: false, help: 'predict for an engine started without hugepages (--no-huge)' },
  },
  positionals: { min: 0, max: 1 },
  notes: [
    CONFIG_NOTE,
    "With CONFIG: its ports' pci addresses are the devices, eal.iovaMode forces the mode, memory.hugepages false means --no-huge (absent: --no-huge when no hugepage is free).",
    'With neither CONFIG nor --pci: an engine of vdevs only (--no-pci).',
    'Exit code: 1 when EAL would refuse to start, or would not initialise a device named (no port would open on it); else 0.',
  ],
  async run(flags, [file]) {
    for (const address of flags.pci ?? []) {
      if (!PCI_ADDRESS.test(address)) throw new UsageError(`--pci must be a PCI address like 0000:03:00.0 (lowercase hex), got ${JSON.stringify(address)}`);
    }
    const options: DoctorOptions = { root: flags.root, noHuge: flags['no-huge'], devices: [...(flags.pci ?? [])] };
    if (file !== undefined) Object.assign(options, await fromConfig(file, options.devices!));
    const report = doctor(options);
    if (flags.json) {
      const { text: _text, ...json } = report;
      console.log(JSON.stringify(json, null, 2));
    } else {
      process.stdout.write(report.text.endsWith('\n') ? report.text : `${report.text}\n`);
    }
    // Exit 1 when EAL would fail, or leave a named device out, so scripts can gate on it.
    return report.iova.ealFails || report.iova.votes.some((v) => !v.usable) ? 1 : 0;
  },
});

/** What a config says of the devices EAL gets: its ports' pci addresses (after `devices`), its IOVA mode, its hugepages. */
async function fromConfig(file: string, devices: string[]): Promise<Partial<DoctorOptions>> {
  const config = await reportConfigProblems(file, async () => {
    const config = (await loadConfig(file)) as EngineConfig;
    wire(config); // the config's own rules, every problem listed; nothing of this machine
    return config;
  });
  const ports = Object.values(config.ports).flatMap((port) => (port.pci === undefined ? [] : [port.pci]));
  const hugepages = config.memory?.hugepages;
  return {
    devices: [...new Set([...ports, ...devices])],
    ...(config.eal?.iovaMode === undefined ? {} : { iovaMode: config.eal.iovaMode === 'PA' ? 'pa' : 'va' }),
    ...(hugepages === false ? { noHuge: true } : {}),
    hugeFallback: hugepages === undefined,
  };
}
