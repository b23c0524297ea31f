/**
 * The routing results as text: lines for the terminal, and bench/README.md's routing section
 * (between its `routing:start` and `routing:end` markers).
 */
import type { RoutingResults, RowResult } from './routing.js';

const ROW_NAMES: Record<RowResult['row'], string> = {
  'v4-16': 'IPv4, 16 routes',
  'v6-16': 'IPv6, 16 routes',
  'v4-1m': 'IPv4, 1M routes',
  'v6-10k': 'IPv6, 10k routes',
  'acl-10k': 'ACL, 10k rules + 16 routes',
};

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

/** One line per row and mode. */
export function routingLines(results: RoutingResults): string[] {
  const lines = ['row                          l3fwd mode   l3fwd Mpps   Fastpath Mpps   ratio min / median / max'];
  for (const r of results.rows) {
    for (const [mode, l3] of Object.entries(r.l3fwd)) {
      const ratio = r.ratio[mode as keyof RowResult['ratio']]!;
      lines.push(`${ROW_NAMES[r.row].padEnd(29)}${mode.padEnd(13)}${f2(l3.mpps.median).padStart(10)}${f2(r.fastpath.mpps.median).padStart(16)}   ${f3(ratio.min)} / ${f3(ratio.median)} / ${f3(ratio.max)}`);
    }
  }
  const load = results.load;
  if (load) {
    lines.push(`engine start: ${f2(load.startS16)} s with 16 routes, ${f2(load.startS1m)} s with the 1M-route file`);
    lines.push(`fastpath routes add --file (${load.cli.routes} routes, running engine): ${f2(load.cli.seconds)} s (engine ${f2(load.cli.engineMs / 1000)} s)`);
    lines.push(`live updates: ${Math.round(load.updates.routesPerS)} routes/s in batches of ${load.updates.batch}; forwarding ${f2(load.updates.before.rxMpps)} → ${f2(load.updates.during.rxMpps)} Mpps/port`);
    const small = load.updatesSmall;
    if (small) lines.push(`live updates: ${Math.round(small.routesPerS)} routes/s in batches of ${small.batch}; forwarding ${f2(small.before.rxMpps)} → ${f2(small.during.rxMpps)} Mpps/port`);
  }
  return lines;
}

/** The README's routing section. */
export function routingMarkdown(results: RoutingResults, date: string, jsonPath: string): string {
  const m = results.method;
  const out = [
    `Run: ${date}, ${m.rounds} alternated rounds of ${m.durationS} s after ${m.warmupS} s of warm-up per side; ${m.traffic}; ${m.mbufs} mbufs, bursts of ${m.burst}, ${m.lcores}; Fastpath ${m.fastpathBuild ?? 'build not recorded'}. Raw numbers: [${jsonPath}](${jsonPath}).`,
    '',
    '| row | l3fwd mode | l3fwd Mpps/port | Fastpath Mpps/port | ratio min | ratio median | ratio max | start: l3fwd / Fastpath | measured (UTC) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results.rows) {
    for (const [mode, l3] of Object.entries(r.l3fwd)) {
      const ratio = r.ratio[mode as keyof RowResult['ratio']]!;
      out.push(`| ${ROW_NAMES[r.row]} | ${mode} | ${f2(l3.mpps.median)} | ${f2(r.fastpath.mpps.median)} | ${f3(ratio.min)} | **${f3(ratio.median)}** | ${f3(ratio.max)} | ${l3.startS.toFixed(1)} s / ${r.fastpath.startS.median.toFixed(1)} s | ${(r.at ?? '').slice(11, 16) || '–'} |`);
    }
  }
  const load = results.load;
  if (load) {
    const progress = load.cli.progressLines;
    out.push(
      '',
      `| loading and changing routes (Fastpath${load.at ? `, measured ${load.at.slice(11, 16)} UTC` : ''}) | result | target |`,
      '|---|---|---|',
      `| engine start with the 1M-route IPv4 file (\`routesFile\`; EAL, ports, table) | ${f2(load.startS1m)} s (${f2(load.startS16)} s with 16 routes) | ≤ 5 s |`,
      `| \`fastpath routes NAME add --file\`, ${load.cli.routes.toLocaleString('en-US')} IPv4 routes into a running, forwarding engine | ${f2(load.cli.seconds)} s (the engine's part ${f2(load.cli.engineMs / 1000)} s), ${progress.length} progress lines | ≤ 5 s |`,
      `| live updates while forwarding with 1M routes: batches of ${load.updates.batch.toLocaleString('en-US')} added, then deleted, through engine.routes() | ${Math.round(load.updates.routesPerS).toLocaleString('en-US')} routes/s (batch median ${f2(load.updates.batchMs.median)} ms, max ${f2(load.updates.batchMs.max)} ms) | ≥ 100,000 routes/s |`,
      `| forwarding rate before / during those updates | ${f2(load.updates.before.rxMpps)} / ${f2(load.updates.during.rxMpps)} Mpps per port | full rate |`,
    );
    const small = load.updatesSmall;
    if (small) {
      out.push(
        `| the same in batches of ${small.batch.toLocaleString('en-US')} | ${Math.round(small.routesPerS).toLocaleString('en-US')} routes/s (batch median ${f2(small.batchMs.median)} ms, max ${f2(small.batchMs.max)} ms); forwarding ${f2(small.before.rxMpps)} / ${f2(small.during.rxMpps)} Mpps per port | |`,
      );
    }
    if (progress.length > 0) out.push('', 'The CLI\'s progress (stderr), first and last lines:', '', '```', progress[0]!, ...(progress.length > 1 ? ['…', progress.at(-1)!] : []), '```');
  }
  out.push('');
  return out.join('\n');
}

/** Replaces the text between the README's `<!-- NAME:start -->` and `<!-- NAME:end -->` markers. */
export function updateSection(readme: string, name: string, section: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${start} ... ${end} section`);
  return `${readme.slice(0, a + start.length)}\n${section}\n${readme.slice(b)}`;
}
