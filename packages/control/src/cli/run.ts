/**
 * `fastpath run CONFIG`: start the engine, show the live table, end with the summary. Stopped
 * by --duration (exit 0) or a signal (exit 128 + its number, after the same clean stop).
 */
import type { EngineConfig } from '@fastpath/types';

import { describeEngine, runLive, summaryJson, summaryLines } from '../live.js';
import { loadConfig } from '../load-config.js';
import { startUnlessStopped, watchSignals } from '../signals.js';
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
    // Before anything starts, and until the process exits: a signal at any moment, any
    // number of them, only sets the flag this run stops by (see signals.ts).
    const signals = watchSignals();
    const file = positionals[0]!;
    const durationS = Number(flags.duration);
    if (!(durationS > 0)) fail([`--duration must be a positive number of seconds, got ${JSON.stringify(flags.duration)}`], 2);
    await reportConfigProblems(file, async () => {
      // Engine.start validates before EAL starts: a bad config is refused with every path.
      const engine = await startUnlessStopped((await loadConfig(file)) as EngineConfig, signals);
      // A signal during the start: the engine is already stopped again, nothing ran.
      if (engine === undefined) return;
      for (const line of describeEngine(engine.info)) console.log(line);
      const { last, seconds } = await runLive(engine, { durationS, signals });
      console.log('');
      for (const line of summaryLines(last, seconds)) console.log(line);
      if (flags.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
    });
    // 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP) after a stop by signal; 0 after --duration.
    return signals.exitCode;
  },
});
