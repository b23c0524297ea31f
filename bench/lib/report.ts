/**
 * What `npm run bench` writes: the results as JSON, a bar chart as SVG, and the results
 * section of bench/README.md (between its `results:start` and `results:end` markers).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

import type { ModeResult } from './forward.js';
import type { RoutingResults } from './routing.js';

export interface BenchResults {
  date: string;
  quick: boolean;
  machine: { cpu: string; cpus: number; kernel: string; dpdk: string; node: string };
  method: { rounds: number; durationS: number; mbufs: number; burst: number; descriptors: number; lcores: string };
  forward: ModeResult[];
  stats?: { snapshotMedianUs: number; readers: number; missedTotal: number };
  control?: { nativeCall: { medianUs: number; p99Us: number }; statsCall: { medianUs: number; p99Us: number }; swap: { medianUs: number; p99Us: number }; swaps: number };
  memory?: { testpmd: { pages: number; mbufs: number }; fastpath: { pages: number; mbufs: number; planned: number }; ratio: number };
  /** bench/routing.ts: the route and acl stages against DPDK's l3fwd. */
  routing?: RoutingResults;
  instructions?: { mode: string; testpmd: { instructionsPerPacket: number }; fastpath: { instructionsPerPacket: number }; fastpathCountersOff: { instructionsPerPacket: number }; ratio: number }[];
}

export function machine(): BenchResults['machine'] {
  const dpdk = (() => {
    try {
      return execFileSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { cpu: model, cpus: cpus().length, kernel: release(), dpdk, node: process.version };
}

const label = (r: ModeResult) => `${r.mode}${r.memory === 'no-huge' ? ' (no-huge)' : ''}`;

/** A spread (max − min over the median) past which a ratio's median is a coin toss. */
const WIDE = 0.2;
/** Whether `r`'s rounds spread too widely, across 1.00, for its median to mean much. */
const wide = (r: ModeResult) => (r.ratio.max - r.ratio.min) / r.ratio.median > WIDE && r.ratio.min < 1 && r.ratio.max > 1;

/** Grouped bars, testpmd and Fastpath per mode (medians, with min–max whiskers). */
export function chartSvg(results: BenchResults): string {
  const rows = results.forward;
  const width = 760;
  const left = 120;
  const barH = 12;
  const groupH = 2 * barH + 18;
  const top = 40;
  const height = top + rows.length * groupH + 40;
  const max = Math.max(...rows.flatMap((r) => [r.testpmdMpps.max, r.fastpathMpps.max]), 1);
  const scale = (v: number) => ((width - left - 90) * v) / max;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">Mpps per port, median of ${results.method.rounds} alternated rounds (whiskers: min–max) — ${esc(results.date)}</text>`,
    `<rect x="${left}" y="26" width="10" height="10" fill="#9aa5b1"/><text x="${left + 14}" y="35">dpdk-testpmd</text>`,
    `<rect x="${left + 110}" y="26" width="10" height="10" fill="#1f6feb"/><text x="${left + 124}" y="35">Fastpath</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * groupH;
    parts.push(`<text x="${left - 8}" y="${y + barH + 4}" text-anchor="end">${esc(label(r))}</text>`);
    const bar = (yy: number, s: { min: number; median: number; max: number }, fill: string) => {
      parts.push(`<rect x="${left}" y="${yy}" width="${scale(s.median).toFixed(1)}" height="${barH}" fill="${fill}"/>`);
      parts.push(`<line x1="${(left + scale(s.min)).toFixed(1)}" x2="${(left + scale(s.max)).toFixed(1)}" y1="${yy + barH / 2}" y2="${yy + barH / 2}" stroke="black"/>`);
      parts.push(`<text x="${(left + scale(s.max) + 4).toFixed(1)}" y="${yy + barH - 2}">${s.median.toFixed(1)}</text>`);
    };
    bar(y, r.testpmdMpps, '#9aa5b1');
    bar(y + barH + 2, r.fastpathMpps, '#1f6feb');
    parts.push(`<text x="${width - 8}" y="${y + barH + 4}" text-anchor="end">×${r.ratio.median.toFixed(3)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The README's results section. */
export function resultsMarkdown(results: BenchResults, svgPath: string, jsonPath: string): string {
  const m = results.machine;
  const lines = [
    `Latest full run: ${results.date} on ${m.cpu} (${m.cpus} vCPUs), Linux ${m.kernel}, DPDK ${m.dpdk}, Node ${m.node}.`,
    `${results.method.rounds} alternated rounds of ${results.method.durationS} s per mode; ${results.method.mbufs} mbufs, bursts of ${results.method.burst}, ` +
      `${results.method.descriptors} descriptors, lcores ${results.method.lcores}. Raw numbers: [${jsonPath}](${jsonPath}).`,
    '',
    `![Mpps per port, testpmd and Fastpath](${svgPath})`,
    '',
    '| mode | testpmd Mpps/port | Fastpath Mpps/port | ratio min | ratio median | ratio max | stats on/off |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.forward.map(
      (r) =>
        `| ${label(r)}${wide(r) ? ' †' : ''} | ${r.testpmdMpps.median.toFixed(2)} | ${r.fastpathMpps.median.toFixed(2)} | ${r.ratio.min.toFixed(3)} | **${r.ratio.median.toFixed(3)}** | ${r.ratio.max.toFixed(3)} | ${r.statsOnOff ? r.statsOnOff.median.toFixed(3) : '–'} |`,
    ),
    '',
  ];
  if (results.forward.some(wide)) {
    lines.push(`† the ratio's rounds spread over more than ${WIDE * 100}% of its median, on both sides of 1.00: that median says little, read the instruction counts below.`, '');
  }
  const rows: string[] = [];
  if (results.instructions) {
    for (const i of results.instructions) {
      rows.push(`| instructions per packet, ${i.mode} (callgrind, no-huge, the forwarding lcore) | testpmd ${i.testpmd.instructionsPerPacket} | Fastpath ${i.fastpath.instructionsPerPacket} (×${i.ratio.toFixed(3)}); counters off ${i.fastpathCountersOff.instructionsPerPacket} |`);
    }
  }
  if (results.memory) {
    const mem = results.memory;
    rows.push(`| hugepages (2 MiB) taken for io on 2 ports | testpmd ${mem.testpmd.pages} (its default pool, ${mem.testpmd.mbufs} mbufs) | Fastpath ${mem.fastpath.pages} (${mem.fastpath.mbufs} mbufs; planned ${mem.fastpath.planned}) |`);
  }
  if (results.stats) {
    rows.push(`| JS snapshot of every counter (StatsReader) | median ${results.stats.snapshotMedianUs} µs | ${results.stats.readers} reader processes: ${results.stats.missedTotal} samples missed |`);
  }
  if (results.control) {
    const c = results.control;
    rows.push(`| bare napi call / engine.stats() (a segment read, no native call) | median ${c.nativeCall.medianUs} µs / ${c.statsCall.medianUs} µs | p99 ${c.nativeCall.p99Us} µs / ${c.statsCall.p99Us} µs |`);
    rows.push(`| pipeline swap under full load (engine.apply(), ${c.swaps} swaps) | median ${(c.swap.medianUs / 1000).toFixed(2)} ms | p99 ${(c.swap.p99Us / 1000).toFixed(2)} ms |`);
  }
  if (rows.length > 0) lines.push('| measure | result | |', '|---|---|---|', ...rows, '');
  return lines.join('\n');
}

/** Replaces the text between the README's markers. */
export function updateReadme(readme: string, section: string): string {
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${start} ... ${end} section`);
  return `${readme.slice(0, a + start.length)}\n${section}\n${readme.slice(b)}`;
}
