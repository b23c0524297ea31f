/** `fastpath top [NAME]`: a live view of an engine, redrawn every half second until a signal (or --frames N). */
import { latencyLines, otherCounters, paceWarnings } from '../counters.js';
import { type SignalWatch, watchSignals } from '../signals.js';
import { StatsReader } from '../stats-reader.js';
import { defineCommand, NAME_NOTE, positiveInteger } from './command.js';

const SPARKS = '▁▂▃▄▅▆▇█';

function sparkline(values: number[]): string {
  const max = Math.max(...values, 1);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]).join('');
}

/** A live view: rates, totals, drops and a sparkline of each port's recent rx rate. */
async function top(name: string | undefined, frames: number, signals: SignalWatch): Promise<void> {
  const reader = StatsReader.attach(name);
  const tty = process.stdout.isTTY;
  let previous = reader.snapshot();
  await signals.sleep(200);
  for (let frame = 0; !signals.requested && reader.alive && frame < frames; frame++) {
    const snap = reader.snapshot();
    const rates = reader.rates(1000);
    // Rx rate per 200 ms over the last 8 s, from the sample ring.
    const history = reader.recent(800).filter((_, i) => i % 20 === 0);
    const lines = [`fastpath top: ${snap.name} (pid ${snap.pid})  ${new Date().toISOString()}`, ''];
    lines.push('port          rx Mpps   tx Mpps   drops/s        rx total        tx total  rx, last 8 s');
    snap.ports.forEach((p, i) => {
      const series = history.slice(1).map((s, k) => Math.max(0, s.ports[i]!.rxPackets - history[k]!.ports[i]!.rxPackets));
      lines.push(
        `${`${p.name}${p.linkUp === 0 ? ' (down)' : ''}`.padEnd(12)}${(rates[i]!.rxPps / 1e6).toFixed(2).padStart(9)} ${(rates[i]!.txPps / 1e6).toFixed(2).padStart(9)}` +
          `${rates[i]!.dropPps.toFixed(0).padStart(10)}${String(p.rxPackets).padStart(16)}${String(p.txPackets).padStart(16)}  ${sparkline(series)}`,
      );
    });
    lines.push('', 'lcore  cpu   busy  cycles/pkt        rx total        tx total');
    snap.lcores.forEach((l, i) => {
      const before = previous.lcores[i]!;
      // Busy share of the lcore's TSC cycles since the last frame; cycles per received packet.
      const busyCycles = l.busyCycles - before.busyCycles;
      const cycles = busyCycles + l.idleCycles - before.idleCycles;
      const busy = cycles > 0 ? (100 * busyCycles) / cycles : 0;
      const packets = (l.rxPackets ?? 0) - (before.rxPackets ?? 0);
      const perPacket = packets > 0 ? (busyCycles / packets).toFixed(1) : '-';
      lines.push(
        `${l.name.padStart(5)}${String(l.cpu).padStart(5)}${`${busy.toFixed(0)}%`.padStart(7)}${perPacket.padStart(12)}` +
          `${String(l.rxPackets ?? '-').padStart(16)}${String(l.txPackets ?? '-').padStart(16)}`,
      );
    });
    const latency = latencyLines(snap);
    if (latency.length > 0) lines.push('', ...latency);
    // Everything else the segment counts, by name (non-zero only).
    const others = otherCounters(snap, { ports: ['rxPackets', 'txPackets', 'linkUp'], pipelines: ['paceMissed'], lcores: ['cpu', 'loops', 'idleLoops', 'busyCycles', 'idleCycles', 'tscHz', 'rxPackets', 'txPackets'] });
    if (others.length > 0) lines.push('', 'counters', ...others);
    const warnings = paceWarnings(snap);
    if (warnings.length > 0) lines.push('', ...warnings);
    previous = snap;
    process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${lines.join('\n')}\n`);
    await signals.sleep(500);
  }
  if (!reader.alive) console.log(`${reader.name} stopped`);
}

export const topCommand = defineCommand({
  name: 'top',
  usage: 'fastpath top [NAME] [--frames N]',
  summary: 'Show an engine live: rates, totals, drops, lcore load, redrawn every half second',
  options: {
    frames: { type: 'string', value: 'N', help: 'draw N frames, then exit (default: until Ctrl-C, or the engine stops)' },
  },
  positionals: { min: 0, max: 1 },
  notes: [NAME_NOTE],
  async run(flags, [name]) {
    const frames = flags.frames === undefined ? Infinity : positiveInteger('--frames', flags.frames);
    // Until the process exits: SIGINT/SIGTERM/SIGHUP end the view (exit 128 + the signal's
    // number), as does the end of the npm, npx or script that launched it (129).
    const signals = watchSignals({ launcher: true });
    await top(name, frames, signals);
    if (signals.launcher) console.error(`fastpath top: stopped because its launcher ended: ${signals.launcher.command} (pid ${signals.launcher.pid})`);
    return signals.exitCode;
  },
});
