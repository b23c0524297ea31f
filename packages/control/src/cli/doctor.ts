/** `fastpath doctor`: what this machine offers DPDK (IOMMU, VFIO/UIO, hugepages, NICs) and what EAL will do. */
import { doctor } from '../platform.js';
import { defineCommand } from './command.js';

export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'fastpath doctor [--json] [--root DIR] [--no-huge]',
  summary: 'Say what this machine offers DPDK (IOMMU, VFIO/UIO, hugepages, NICs) and what EAL will do',
  options: {
    json: { type: 'boolean', default: false, help: 'print the report as JSON' },
    root: { type: 'string', value: 'DIR', help: 'read /sys, /proc and /dev under DIR (a fixture tree) instead of /' },
    'no-huge': { type: 'boolean', default: false, help: 'predict for an engine started without hugepages (--no-huge)' },
  },
  positionals: { min: 0, max: 0 },
  notes: ['Exit code: 1 when EAL would fail as things are, else 0.'],
  async run(flags) {
    const report = doctor({ root: flags.root, noHuge: flags['no-huge'] });
    if (flags.json) {
      const { text: _text, ...json } = report;
      console.log(JSON.stringify(json, null, 2));
    } else {
      process.stdout.write(report.text.endsWith('\n') ? report.text : `${report.text}\n`);
    }
    // Exit 1 when EAL would fail as things are, so scripts can gate on it.
    return report.iova.ealFails ? 1 : 0;
  },
});
