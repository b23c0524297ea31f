/** `fastpath doctor`: what this machine offers DPDK (IOMMU, VFIO/UIO, hugepages, NICs) and what EAL will do. */
import { doctor } from '../platform.js';
import { defineCommand } from './command.js';

export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'fastpath doctor [--json] [--root DIR] [--no-huge]',
  options: {
    json: { type: 'boolean', default: false },
    root: { type: 'string' },
    'no-huge': { type: 'boolean', default: false },
  },
  positionals: { min: 0, max: 0, problem: () => 'doctor takes no positional arguments' },
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
