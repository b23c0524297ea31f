/** `fastpath run CONFIG`: start the engine, show the live table, end with the summary. */
import type { EngineConfig } from '@fastpath/types';

import { Engine } from '../engine.js';
import { describeEngine, runLive, summaryJson, summaryLines } from '../live.js';
import { loadConfig } from '../load-config.js';
import { defineCommand, fail, reportConfigProblems } from './command.js';

export const runCommand = defineCommand({
  name: 'run',
  usage: 'fastpath run CONFIG [--duration S] [--json]',
  options: {
    duration: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
  positionals: { min: 1, max: 1 },
  async run(flags, positionals) {
    const file = positionals[0]!;
    const durationS = Number(flags.duration);
    if (!(durationS > 0)) fail([`--duration must be a positive number of seconds, got ${JSON.stringify(flags.duration)}`], 2);
    await reportConfigProblems(file, async () => {
      // Engine.start validates before EAL starts: a bad config is refused with every path.
      const engine = await Engine.start((await loadConfig(file)) as EngineConfig);
      for (const line of describeEngine(engine.info)) console.log(line);
      const { last, seconds } = await runLive(engine, { durationS });
      console.log('');
      for (const line of summaryLines(last, seconds)) console.log(line);
      if (flags.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
    });
  },
});
