/** `fastpath devbind`: show, bind and unbind PCI devices through driver_override (a dry run without --yes). */
import { ErrorCode, FastpathError } from '@fastpath/types';

import { devbind, devbindStatus, devunbind } from '../platform.js';
import { defineCommand, UsageError } from './command.js';

export const devbindCommand = defineCommand({
  name: 'devbind',
  usage: 'fastpath devbind --status | --bind DRIVER PCI... | --unbind PCI...  [--yes] [--root DIR] [--json]',
  summary: 'Show PCI devices and their drivers; bind or unbind them through driver_override',
  options: {
    status: { type: 'boolean', default: false, help: 'list the network devices, their drivers and interfaces' },
    bind: { type: 'string', value: 'DRIVER', help: 'bind the PCI devices given (like 0000:01:00.0) to DRIVER (vfio-pci, uio_pci_generic)' },
    unbind: { type: 'boolean', default: false, help: 'unbind the PCI devices given from their driver' },
    yes: { type: 'boolean', default: false, help: 'write to /sys (as root); without it, print what would be written' },
    root: { type: 'string', value: 'DIR', help: 'work on a fixture tree under DIR instead of /' },
    json: { type: 'boolean', default: false, help: 'print the result as one line of JSON' },
  },
  positionals: { min: 0, max: Infinity },
  async run(flags, devices) {
    const modes = [flags.status, flags.bind !== undefined, flags.unbind].filter(Boolean).length;
    if (modes !== 1) throw new UsageError('devbind takes exactly one of --status, --bind DRIVER PCI..., --unbind PCI...');
    if (flags.status) {
      const devices = devbindStatus({ root: flags.root });
      if (flags.json) {
        console.log(JSON.stringify(devices));
        return 0;
      }
      for (const d of devices) {
        const iface = d.interface ? ` if=${d.interface}${d.active ? ' *Active*' : ''}` : '';
        console.log(`${d.pci} '${d.ids}' drv=${d.driver ?? '(none)'}${d.dpdk ? ' [DPDK]' : ''}${iface}`);
      }
      return 0;
    }
    if (devices.length === 0) throw new UsageError(`devbind ${flags.unbind ? '--unbind' : '--bind DRIVER'} needs at least one PCI address`);
    // Writing to the real /sys needs root; a fixture tree (--root) does not.
    if (flags.yes && flags.root === undefined && process.getuid?.() !== 0) {
      throw new FastpathError(ErrorCode.Devbind, 'binding devices needs root: run it as root, or without --yes to see what it would write');
    }
    const options = { root: flags.root, apply: flags.yes };
    const writes = flags.unbind ? devunbind(devices, options) : devbind(flags.bind!, devices, options);
    if (flags.json) {
      console.log(JSON.stringify({ applied: flags.yes, writes }));
      return 0;
    }
    console.log(flags.yes ? 'wrote:' : 'dry run (add --yes to write):');
    for (const w of writes) console.log(`  ${JSON.stringify(w.value.trimEnd())} > ${w.path}`);
    return 0;
  },
});
