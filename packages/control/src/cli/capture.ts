/**
 * `fastpath capture [NAME] ... -w FILE`: a running engine's packets, live, to a pcapng file or
 * (`-w -`) to stdout for `tshark -r -` or `wireshark -k -i -`. The engine copies what the
 * filter matches into a shared-memory ring this process reads (capture.ts); on exit it prints
 * `captured N, dropped M` (copies the workers dropped because this reader fell behind) on
 * stderr. Ctrl-C, SIGTERM, --count and --duration end it; killed, it leaves nothing behind:
 * the engine stops the capture when this process's control connection closes.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import type { CapturePoint } from '../capture.js';
import { ControlClient } from '../control-client.js';
import { watchSignals } from '../signals.js';
import { defineCommand, NAME_NOTE, positiveInteger, positiveNumber, UsageError } from './command.js';

const POINTS: readonly CapturePoint[] = ['input', 'output', 'drops'];

export const captureCommand = defineCommand({
  name: 'capture',
  usage: 'fastpath capture [NAME] [--pipeline P] [--at input|output|drops] [--filter EXPR] [--snaplen N] [--count N] [--duration S] [--buffer MIB] -w|--write FILE.pcapng',
  summary: "Capture a running engine's packets to pcapng, live (-w - writes to stdout: fastpath capture -w - | tshark -r -)",
  options: {
    write: { type: 'string', short: 'w', value: 'FILE', help: 'the pcapng file to write; - for stdout' },
    pipeline: { type: 'string', value: 'P', help: 'the pipeline to capture (default: every pipeline)' },
    at: { type: 'string', value: 'POINT', help: 'input (as received, before any stage; default), output (as sent, copies included) or drops (what the stages drop)' },
    filter: { type: 'string', value: 'EXPR', help: "a tcpdump filter expression ('udp and dst port 53'), run by the workers before they copy" },
    snaplen: { type: 'string', value: 'N', help: 'bytes kept of each packet, 1 to 65535 (default 65535); the original length is kept too' },
    count: { type: 'string', value: 'N', help: 'stop after N packets' },
    duration: { type: 'string', value: 'S', help: 'stop after S seconds' },
    buffer: { type: 'string', value: 'MIB', help: 'ring MiB per worker (default 4): room for bursts while this process catches up' },
  },
  positionals: { min: 0, max: 1 },
  notes: [
    NAME_NOTE,
    'No packet is held for this reader: when the ring is full, copies are dropped and counted, and the engine forwards on. The summary line goes to stderr.',
    'Exit code: 0 when it ran its course (--count, --duration, the engine stopped); 128 + the signal after Ctrl-C, SIGTERM or SIGHUP (the file is complete either way); 1 on an error.',
  ],
  async run(flags, positionals) {
    if (flags.write === undefined) throw new UsageError('say where to write: -w FILE.pcapng, or -w - for stdout');
    if (flags.at !== undefined && !POINTS.includes(flags.at as CapturePoint)) throw new UsageError(`--at is input, output or drops, not ${JSON.stringify(flags.at)}`);
    const options = {
      pipeline: flags.pipeline,
      at: flags.at as CapturePoint | undefined,
      filter: flags.filter,
      snaplen: flags.snaplen === undefined ? undefined : positiveInteger('--snaplen', flags.snaplen, 65535),
      count: flags.count === undefined ? undefined : positiveInteger('--count', flags.count),
      durationS: flags.duration === undefined ? undefined : positiveNumber('--duration', flags.duration, 'seconds'),
      bufferMiB: flags.buffer === undefined ? undefined : positiveInteger('--buffer', flags.buffer, 256),
    };
    using signals = watchSignals();
    await using client = await ControlClient.connect(positionals[0]);
    const capture = await client.capture(options);
    void signals.stopped.then(() => capture.stop());
    const out = flags.write === '-' ? process.stdout : createWriteStream(flags.write);
    try {
      await pipeline(capture, out);
    } catch (error) {
      // A reader that went away (`tshark -c 10` exits): the capture ends; what it took is what it got.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      await capture.stop();
      capture.destroy();
    }
    const { captured, dropped } = await capture.done;
    process.stderr.write(`captured ${captured}, dropped ${dropped}\n`);
    return signals.exitCode;
  },
});
