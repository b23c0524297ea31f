/**
 * `fastpath run CONFIG`: start the engine, show the live table, end with the summary. Runs until
 * a signal (exit 128 + its number, after a clean stop), as a command that runs a service does,
 * or for --duration seconds (exit 0).
 */
import type { EngineConfig } from '@fastpath/types';

import { describeEngine, runLive, summaryJson, summaryLines } from '../live.js';
import { loadConfig } from '../load-config.js';
import { startUnlessStopped, watchSignals } from '../signals.js';
import { CONFIG_NOTE, defineCommand, positiveNumber, reportConfigProblems } from './command.js';

export const runCommand = defineCommand({
  name: 'run',
  usage: 'fastpath run CONFIG [--duration S] [--json]',
  summary: 'Start the engine on CONFIG, print its counters every second, then a summary',
  options: {
    duration: { type: 'string', value: 'S', help: 'stop after S seconds (default: run until Ctrl-C, SIGTERM or SIGHUP)' },
    json: { type: 'boolean', default: false, help: 'end with the summary as one line of JSON' },
  },
  positionals: { min: 1, max: 1, missing: 'run needs a CONFIG' },
  notes: [
    CONFIG_NOTE,
    "Exit code: 0 after --duration, 1 on an error, 128 + the signal's number after a stop by signal (130: Ctrl-C; 129 also when the npm, npx or script that launched it ended).",
  ],
  async run(flags, positionals) {
    const durationS = flags.duration === undefined ? Infinity : positiveNumber('--duration', flags.duration, 'seconds');
    // Before anything starts, and until the process exits: a signal at any moment, any
    // number of them, only sets the flag this run stops by (see signals.ts); so does the end
    // of the npm, npx or script that launched this process (a signal to it alone stops here).
    const signals = watchSignals({ launcher: true });
    const file = positionals[0]!;
    await reportConfigProblems(file, async () => {
      // Engine.start validates before EAL starts: a bad config is refused with every path.
      const engine = await startUnlessStopped((await loadConfig(file)) as EngineConfig, signals);
      // A signal during the start: the engine is already stopped again, nothing ran.
      if (engine === undefined) return;
      for (const line of describeEngine(engine.info)) console.log(line);
      const { last, seconds } = await runLive(engine, { durationS, signals });
      console.log('');
      for (const line of summaryLines(engine.info, last, seconds)) console.log(line);
      if (flags.json) console.log(JSON.stringify(summaryJson(engine.info, last, seconds)));
    });
    if (signals.launcher) console.error(`fastpath run: stopped because its launcher ended: ${signals.launcher.command} (pid ${signals.launcher.pid})`);
    // 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP or a launcher's end) after a stop by signal; 0 after --duration.
    return signals.exitCode;
  },
});
