/** `fastpath validate CONFIG`: check a config without starting DPDK. */
import { Engine } from '../engine.js';
import { loadConfig } from '../load-config.js';
import { defineCommand, reportConfigProblems } from './command.js';

export const validateCommand = defineCommand({
  name: 'validate',
  usage: 'fastpath validate CONFIG',
  options: {},
  positionals: { min: 1, max: 1 },
  async run(_flags, positionals) {
    const file = positionals[0]!;
    await reportConfigProblems(file, async () => {
      const config = Engine.validate(await loadConfig(file));
      const ports = Object.keys(config.ports).length;
      console.log(`${file}: valid (${ports} port${ports === 1 ? '' : 's'}, ${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'}, ${config.lcores.workers.length} worker lcore${config.lcores.workers.length === 1 ? '' : 's'})`);
    });
  },
});
