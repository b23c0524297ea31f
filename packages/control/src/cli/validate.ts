/** `fastpath validate CONFIG`: check a config without starting DPDK. */
import { Engine } from '../engine.js';
import { loadConfig } from '../load-config.js';
import { CONFIG_NOTE, defineCommand, reportConfigProblems } from './command.js';

export const validateCommand = defineCommand({
  name: 'validate',
  usage: 'fastpath validate CONFIG',
  summary: 'Check a config without starting DPDK: every problem, with its path',
  options: {},
  positionals: { min: 1, max: 1, missing: 'validate needs a CONFIG' },
  notes: [CONFIG_NOTE, 'Exit code: 0 when valid, 1 when not.'],
  async run(_flags, positionals) {
    const file = positionals[0]!;
    await reportConfigProblems(file, async () => {
      const config = Engine.validate(await loadConfig(file));
      const ports = Object.keys(config.ports).length;
      console.log(`${file}: valid (${ports} port${ports === 1 ? '' : 's'}, ${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'}, ${config.lcores.workers.length} worker lcore${config.lcores.workers.length === 1 ? '' : 's'})`);
    });
  },
});
