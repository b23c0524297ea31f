// EAL's memory drawn as SVG: the IOVA-contiguous runs in address order, each as wide as its
// bytes, cut into its pages where they are wide enough to see; below, the malloc heap against
// the memory plan. Built with DOM calls (no markup strings), so no text from the server is
// ever parsed as markup.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
/** Pages are drawn one by one only when each gets at least this many pixels. */
const MIN_PAGE_PX = 3;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function bytes(n) {
  if (!(n > 0)) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log2(n) / 10));
  const v = n / 2 ** (10 * i);
  return `${v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** The SVG picture of `memory` (GET /api/v1/info's `memory`). */
export function memoryMapSvg(memory) {
  const runs = memory.runs ?? [];
  const total = runs.reduce((sum, r) => sum + r.bytes, 0) || 1;
  const height = 150;
  const svg = el('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-labelledby': 'memory-map-title memory-map-desc' });
  const shown = runs.length;
  const more = (memory.runsTotal ?? shown) - shown;
  svg.append(
    el('title', { id: 'memory-map-title' }, 'Memory map'),
    el('desc', { id: 'memory-map-desc' }, `${memory.runsTotal ?? shown} IOVA-contiguous run${(memory.runsTotal ?? shown) === 1 ? '' : 's'} over ${bytes(memory.bytes)} in ${memory.segments} pages of ${bytes(memory.pageSize)}; heap ${bytes(memory.heapAllocated)} allocated of ${bytes(memory.heapTotal)}, ${bytes(memory.planned)} planned.`),
  );

  svg.append(el('text', { x: 0, y: 14, class: 'label' }, `IOVA-contiguous runs (${memory.runsTotal ?? shown}${more > 0 ? `, first ${shown} drawn` : ''})`));
  const gap = runs.length > 1 ? Math.min(4, 120 / runs.length) : 0;
  const usable = WIDTH - gap * Math.max(0, runs.length - 1);
  let x = 0;
  runs.forEach((run, i) => {
    const w = Math.max(1, (run.bytes / total) * usable);
    const g = el('g', { class: 'run-group', 'data-run': i });
    const cls = `run${run.iova === 'unknown' ? ' unknown' : i % 2 ? ' alt' : ''}`;
    const rect = el('rect', { x: x.toFixed(2), y: 22, width: w.toFixed(2), height: 44, rx: 3, class: cls });
    rect.append(el('title', {}, `run ${i + 1}: VA ${run.va}, IOVA ${run.iova}, ${bytes(run.bytes)} in ${run.segments} page${run.segments === 1 ? '' : 's'}, socket ${run.socket}`));
    g.append(rect);
    // Page boundaries inside the run, when each page is wide enough to see.
    if (run.segments > 1 && w / run.segments >= MIN_PAGE_PX) {
      for (let p = 1; p < run.segments; p++) {
        const px = x + (p * w) / run.segments;
        g.append(el('line', { x1: px.toFixed(2), x2: px.toFixed(2), y1: 22, y2: 66, class: 'page' }));
      }
    }
    svg.append(g);
    x += w + gap;
  });
  const pagesNote = memory.segments > 0 ? `${memory.segments} pages of ${bytes(memory.pageSize)}` : 'no pages';
  svg.append(el('text', { x: 0, y: 82 }, `${bytes(memory.bytes)} mapped: ${pagesNote}${runs.length > 0 && runs.every((r) => WIDTH * (r.bytes / total) / Math.max(1, r.segments) < MIN_PAGE_PX) ? ' (too small to draw one by one)' : ''}`));

  // The heap: allocated of total, and the plan's mark.
  const scale = Math.max(memory.heapTotal, memory.planned, 1);
  svg.append(el('text', { x: 0, y: 108, class: 'label' }, 'malloc heap'));
  svg.append(el('rect', { x: 0, y: 114, width: WIDTH, height: 14, rx: 3, class: 'heap-total' }));
  const used = el('rect', { x: 0, y: 114, width: ((memory.heapAllocated / scale) * WIDTH).toFixed(2), height: 14, rx: 3, class: 'heap-used' });
  used.append(el('title', {}, `${bytes(memory.heapAllocated)} allocated of ${bytes(memory.heapTotal)}`));
  svg.append(used);
  if (memory.planned > 0) {
    const px = Math.min(WIDTH - 1, (memory.planned / scale) * WIDTH);
    svg.append(el('line', { x1: px, x2: px, y1: 110, y2: 132, class: 'heap-plan' }));
  }
  svg.append(el('text', { x: 0, y: 146 }, `${bytes(memory.heapAllocated)} allocated of ${bytes(memory.heapTotal)} held; the plan asked for ${bytes(memory.planned)} (dashed mark)`));
  return svg;
}
