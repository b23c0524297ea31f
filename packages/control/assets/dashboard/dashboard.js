// The dashboard: reads the engine through /api/v1 (info and config once, then a tick every
// ~100 ms from /api/v1/events) and draws it. Plain ES modules, no framework, no build step;
// every number shown comes from the engine's stats segment by way of the API.
import uPlot from './uPlot.esm.js';

import { ApiError, errorOf, serverEvents } from './events.js';
import { bytes, memoryMapSvg } from './memory-map.js';

/** Seconds of history the charts keep (at 10 ticks a second). */
const HISTORY_S = 60;
const MAX_POINTS = HISTORY_S * 10;
const CHART_HEIGHT = 180;
const TOKEN_KEY = 'fastpath.token';

const $ = (id) => document.getElementById(id);
const count = new Intl.NumberFormat('en-US');
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Creates an element with attributes and children (strings become text, never markup). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** Sets `node`'s text if it differs (no layout work when nothing changed). */
function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

const mpps = (pps) => (pps / 1e6).toFixed(pps >= 1e8 ? 1 : pps >= 1e7 ? 2 : 3);

function duration(ns) {
  let s = Math.floor(ns / 1e9);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  return d > 0 ? `${d}d ${hh}h ${mm}m` : hh > 0 ? `${hh}h ${mm}m ${s}s` : mm > 0 ? `${mm}m ${s}s` : `${s}s`;
}

/** A port's drops, as `fastpath stats` counts them (live.ts portDrops). */
const portDrops = (p) => p.txDropped + (p.txLinkDown ?? 0) + p.rxMissed + p.rxNombuf + p.unrouted;

// ---------------------------------------------------------------------------------------
// The token: kept for this tab only (sessionStorage), sent as a bearer header.

let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
const auth = () => (token ? { authorization: `Bearer ${token}` } : {});

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...auth(), ...(init.headers ?? {}) }, cache: 'no-store' });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

function setStatus(text, kind) {
  const pill = $('status');
  setText(pill, text);
  pill.className = `pill pill-${kind}`;
  document.body.dataset.state = kind;
}

function tokenNote(text) {
  setText($('token-note'), text);
}

// ---------------------------------------------------------------------------------------
// Charts (uPlot): one per port (rx, tx, drops in Mpps), one for the lcores' busy %.

const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function makeChart(container, series, yLabel, yValue) {
  const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line'), width: 1 } };
  // Wall-clock seconds on the time axis (uPlot's default shows fractions for a 60 s window).
  const times = (_u, splits) => splits.map((s) => clock.format(new Date(s * 1000)));
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot(
    {
      width: Math.max(200, container.clientWidth),
      height: CHART_HEIGHT,
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max * 1.1, yLabel === '%' ? 100 : 0.001)] } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, dash: s.dash, points: { show: false }, value: (_u, v) => (v === null || v === undefined ? '–' : yValue(v)) }))],
      axes: [{ ...axis, values: times, space: 70, incrs: [1, 2, 5, 10, 15, 30, 60] }, { ...axis, label: yLabel, size: 56 }],
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    },
    data,
    container,
  );
  new ResizeObserver(() => plot.setSize({ width: Math.max(200, container.clientWidth), height: CHART_HEIGHT })).observe(container);
  return { plot, data, container };
}

/** Appends one point to `chart` (keeping HISTORY_S of them) and redraws it. */
function push(chart, x, values) {
  chart.data[0].push(x);
  values.forEach((v, i) => chart.data[i + 1].push(v));
  if (chart.data[0].length > MAX_POINTS) for (const column of chart.data) column.shift();
  chart.plot.setData(chart.data);
  chart.container.dataset.points = String(chart.data[0].length);
}

// ---------------------------------------------------------------------------------------
// Ports.

const ports = new Map();

function portCard(name) {
  let card = ports.get(name);
  if (card) return card;
  const reading = (cls, label) => {
    const value = h('dd', { class: 'num', 'data-field': `${cls}-rate` }, '–');
    const total = h('dd', { class: 'total num', 'data-field': `${cls}-total` }, '–');
    return { node: h('div', { class: cls }, h('dt', {}, label), value, total), value, total };
  };
  const rx = reading('rx', 'rx Mpps');
  const tx = reading('tx', 'tx Mpps');
  const drop = reading('drop', 'drops /s');
  const link = h('span', { class: 'link-up' }, '');
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': `Port ${name}: rx, tx and drops in Mpps over the last ${HISTORY_S} seconds` });
  const node = h('article', { class: 'port', 'data-port': name, 'aria-label': `Port ${name}` }, h('div', { class: 'port-head' }, h('h3', {}, name), link), h('dl', { class: 'readings' }, rx.node, tx.node, drop.node), chartBox);
  $('ports').append(node);
  const chart = makeChart(
    chartBox,
    [
      { label: 'rx', color: css('--rx') },
      // Dashed: on a forwarding port tx runs on top of rx, which would hide it.
      { label: 'tx', color: css('--tx'), dash: [7, 4] },
      { label: 'drops', color: css('--drop') },
    ],
    'Mpps',
    (v) => `${v.toFixed(3)} Mpps`,
  );
  card = { rx, tx, drop, link, chart };
  ports.set(name, card);
  return card;
}

function updatePorts(tick) {
  const x = tick.timeMs / 1000;
  for (const port of tick.stats.ports) {
    const card = portCard(port.name);
    const rate = tick.rates.find((r) => r.name === port.name) ?? { rxPps: 0, txPps: 0, dropPps: 0 };
    setText(card.rx.value, mpps(rate.rxPps));
    setText(card.tx.value, mpps(rate.txPps));
    setText(card.drop.value, count.format(Math.round(rate.dropPps)));
    setText(card.rx.total, `${count.format(port.rxPackets)} packets`);
    setText(card.tx.total, `${count.format(port.txPackets)} packets`);
    setText(card.drop.total, `${count.format(portDrops(port))} dropped`);
    const up = port.linkUp !== 0;
    setText(card.link, port.linkUp === null ? 'link unknown' : up ? 'link up' : 'link down');
    card.link.className = up ? 'link-up' : 'link-down';
    push(card.chart, x, [rate.rxPps / 1e6, rate.txPps / 1e6, rate.dropPps / 1e6]);
  }
}

// ---------------------------------------------------------------------------------------
// Worker lcores.

let busyChart;
const lcoreRows = new Map();

function updateLcores(tick) {
  if (!busyChart || busyChart.data.length !== tick.busy.length + 1) {
    $('busy-chart').replaceChildren();
    const palette = [css('--rx'), css('--tx'), css('--drop'), css('--warn'), css('--muted')];
    busyChart = makeChart($('busy-chart'), tick.busy.map((l, i) => ({ label: `lcore ${l.name}`, color: palette[i % palette.length] })), '%', (v) => `${v.toFixed(1)} %`);
  }
  for (const lcore of tick.busy) {
    let row = lcoreRows.get(lcore.name);
    if (!row) {
      const id = `lcore-${lcore.name}-label`;
      const meter = h('meter', { min: 0, max: 100, value: 0, 'aria-labelledby': id });
      const pct = h('span', { class: 'pct', 'data-field': 'busy' }, '–');
      const node = h('div', { class: 'lcore', 'data-lcore': lcore.name }, h('span', { id }, `lcore ${lcore.name} (CPU ${lcore.cpu})`), meter, pct);
      $('lcores').append(node);
      row = { meter, pct };
      lcoreRows.set(lcore.name, row);
    }
    row.meter.value = lcore.busyPercent;
    setText(row.pct, `${lcore.busyPercent.toFixed(1)} %`);
  }
  push(busyChart, tick.timeMs / 1000, tick.busy.map((l) => l.busyPercent));
}

// ---------------------------------------------------------------------------------------
// Pipelines: stages from the running config, counters from the ticks.

let config;
let pipelineShape = '';

function stageText(stage) {
  if (typeof stage === 'string') return stage;
  const named = stage.name ? ` ${stage.name}` : '';
  switch (stage.kind) {
    case 'macRewrite':
      return `macRewrite dst ${stage.dst}`;
    case 'match':
      return `match${named} → ${typeof stage.action === 'string' ? stage.action : Object.entries(stage.action).map(([k, v]) => `${k} ${v}`).join('')}`;
    case 'route':
      return `route${named} (${stage.routesFile ? `${stage.routesFile}, ` : ''}${plural((stage.routes ?? []).length, 'route')}, ${plural(Object.keys(stage.nextHops ?? {}).length, 'next hop')})`;
    case 'acl':
      return `acl${named} (${stage.rulesFile ?? plural((stage.rules ?? []).length, 'rule')}, default ${stage.default ?? 'pass'})`;
    default:
      return `${stage.kind}${named}`;
  }
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

const portsOf = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The running config's pipelines by the name the stats give them (`pipeline<i>` by default). */
function configured() {
  const byName = new Map();
  (config?.pipelines ?? []).forEach((p, i) => byName.set(p.name ?? `pipeline${i}`, p));
  return byName;
}

function counterCell(key, value) {
  return h('td', { class: 'n', 'data-counter': key }, count.format(value));
}

function buildPipelines(stats) {
  const running = configured();
  const nodes = stats.pipelines.map((p) => {
    const conf = running.get(p.name);
    const chain = [];
    if (conf) {
      for (const port of portsOf(conf.input)) chain.push(h('li', { class: 'port-end' }, `in ${port}`));
      if (conf.generator) chain.push(h('li', {}, 'generator'));
      for (const stage of conf.stages ?? []) chain.push(h('li', { class: 'arrow', 'aria-hidden': 'true' }, '→'), h('li', { 'data-stage': typeof stage === 'string' ? stage : stage.kind }, stageText(stage)));
      for (const port of portsOf(conf.output)) chain.push(h('li', { class: 'arrow', 'aria-hidden': 'true' }, '→'), h('li', { class: 'port-end' }, `out ${port}`));
    }
    const head = h(
      'div',
      { class: 'pipeline-head' },
      h('h3', {}, p.name),
      conf ? h('ul', { class: 'stages', 'aria-label': `Stages of ${p.name}` }, chain) : h('span', { class: 'retired' }, 'not in the running config (counters kept from before)'),
    );
    const totals = h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ['in', 'out', 'dropped', 'generated'].map((t) => h('th', { scope: 'col', class: 'n' }, t)))),
      h('tbody', {}, h('tr', {}, counterCell('inPackets', p.inPackets), counterCell('outPackets', p.outPackets), counterCell('dropped', p.dropped), counterCell('generated', p.generated))),
    );
    const parts = [head, totals];
    if (p.rules.length > 0) {
      parts.push(
        h(
          'table',
          { 'aria-label': `Match stages of ${p.name}` },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'match stage'), h('th', { scope: 'col', class: 'n' }, 'matched'))),
          h('tbody', {}, p.rules.map((r, i) => h('tr', {}, h('th', { scope: 'row' }, r.name), counterCell(`rules.${i}.matched`, r.matched)))),
        ),
      );
    }
    for (const [i, route] of p.routes.entries()) {
      parts.push(
        h(
          'table',
          { 'aria-label': `Route stage ${route.name} of ${p.name}`, 'data-route': route.name },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, `route ${route.name}`), ...['no route', 'TTL expired', 'bad header', 'not IP'].map((t) => h('th', { scope: 'col', class: 'n' }, t)))),
          h(
            'tbody',
            {},
            h('tr', {}, h('th', { scope: 'row' }, 'dropped'), counterCell(`routes.${i}.noRoute`, route.noRoute), counterCell(`routes.${i}.ttlExpired`, route.ttlExpired), counterCell(`routes.${i}.badHeader`, route.badHeader), counterCell(`routes.${i}.notIp`, route.notIp)),
          ),
        ),
        h(
          'table',
          { 'aria-label': `Next hops of route stage ${route.name} of ${p.name}`, 'data-next-hops': route.name },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, `next hop (${route.name})`), h('th', { scope: 'col', class: 'n' }, 'forwarded'))),
          h('tbody', {}, route.nextHops.map((hop, j) => h('tr', {}, h('th', { scope: 'row' }, hop.name), counterCell(`routes.${i}.nextHops.${j}.forwarded`, hop.forwarded)))),
        ),
      );
    }
    for (const [i, acl] of (p.acls ?? []).entries()) {
      parts.push(
        h(
          'table',
          { 'aria-label': `ACL stage ${acl.name} of ${p.name}`, 'data-acl': acl.name },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, `acl ${acl.name}`), h('th', { scope: 'col', class: 'n' }, 'hits'))),
          h(
            'tbody',
            {},
            acl.aclRules.map((rule, j) => h('tr', {}, h('th', { scope: 'row' }, rule.name), counterCell(`acls.${i}.aclRules.${j}.hits`, rule.hits))),
            h('tr', {}, h('th', { scope: 'row' }, 'no rule matched (default)'), counterCell(`acls.${i}.unmatched`, acl.unmatched)),
          ),
        ),
      );
    }
    return h('article', { class: 'pipeline', 'data-pipeline': p.name, 'aria-label': `Pipeline ${p.name}` }, parts);
  });
  $('pipelines').replaceChildren(...nodes);
}

function updatePipelines(stats) {
  const shape = JSON.stringify([stats.pipelines.map((p) => [p.name, p.rules.map((r) => r.name), p.routes.map((r) => [r.name, r.nextHops.map((n) => n.name)]), (p.acls ?? []).map((a) => [a.name, a.aclRules.map((r) => r.name)])]), config?.pipelines ?? null]);
  if (shape !== pipelineShape) {
    pipelineShape = shape;
    buildPipelines(stats);
    return;
  }
  for (const p of stats.pipelines) {
    const node = document.querySelector(`.pipeline[data-pipeline="${CSS.escape(p.name)}"]`);
    if (!node) continue;
    for (const cell of node.querySelectorAll('[data-counter]')) {
      const value = cell.dataset.counter.split('.').reduce((at, key) => at?.[key], p);
      if (typeof value === 'number') setText(cell, count.format(value));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Engine facts and memory, from /api/v1/info.

function fact(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function showInfo(info) {
  setText($('engine-name'), info.name);
  document.title = `${info.name} · Fastpath`;
  const facts = [h('span', { class: 'badge', id: 'iova-mode', 'data-iova': info.iovaMode ?? 'unknown' }, `IOVA as ${info.iovaMode ?? '?'}`)];
  const parts = [`pid ${info.pid}`];
  if (info.engine) parts.push(info.engine.dpdkVersion, info.engine.hugepages ? 'hugepages' : 'no hugepages', `main lcore ${info.engine.mainLcore}`, `${count.format(info.engine.mempool?.capacity ?? 0)} mbufs`);
  if (info.attached) parts.push('attached, read-only');
  facts.push(parts.join(' · '));
  $('facts').replaceChildren(...facts);

  const m = info.memory;
  $('memory-facts').replaceChildren(
    fact('IOVA mode', info.iovaMode ?? 'unknown'),
    fact('Mapped', bytes(m.bytes)),
    fact('Pages', `${count.format(m.segments)} × ${bytes(m.pageSize)}`),
    fact('Contiguous runs', count.format(m.runsTotal ?? m.runs.length)),
    fact('Largest run', bytes(m.largestRun ?? 0)),
    fact('Heap allocated', `${bytes(m.heapAllocated)} of ${bytes(m.heapTotal)}`),
  );
  const table = h(
    'table',
    { class: 'runs', 'aria-label': 'IOVA-contiguous runs' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'VA'), h('th', { scope: 'col' }, 'IOVA'), h('th', { scope: 'col', class: 'n' }, 'size'), h('th', { scope: 'col', class: 'n' }, 'pages'), h('th', { scope: 'col', class: 'n' }, 'socket'))),
    h('tbody', {}, m.runs.slice(0, 16).map((r) => h('tr', {}, h('td', {}, r.va), h('td', {}, r.iova), h('td', { class: 'n' }, bytes(r.bytes)), h('td', { class: 'n' }, count.format(r.segments)), h('td', { class: 'n' }, String(r.socket))))),
  );
  const rest = m.runs.length > 16 ? h('p', { class: 'note' }, `and ${m.runs.length - 16} more runs (GET /api/v1/info lists them)`) : null;
  $('memory-map').replaceChildren(memoryMapSvg(m), table, ...(rest ? [rest] : []));
}

// ---------------------------------------------------------------------------------------
// The config editor.

let configDirty = false;
let readOnly = false;

function showResult(kind, ...children) {
  const box = $('config-result');
  box.className = `result ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.replaceChildren(...children);
}

function showError(error) {
  const problems = error.problems ?? [];
  showResult(
    'error',
    h('div', {}, h('span', { class: 'code', 'data-code': error.code }, error.code), ` ${problems.length > 0 ? `${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing changed` : error.message}`),
    problems.length > 0
      ? h(
          'ul',
          { class: 'problems' },
          problems.map((p) => {
            const at = p.indexOf(': ');
            return at > 0 ? h('li', {}, h('span', { class: 'path' }, p.slice(0, at)), p.slice(at)) : h('li', {}, p);
          }),
        )
      : null,
  );
}

function showReadOnly(message) {
  readOnly = true;
  config = undefined;
  $('config-text').value = '';
  $('config-text').disabled = true;
  $('config-apply').disabled = true;
  $('config-reload').disabled = true;
  showResult('', message);
}

async function loadConfig({ force = false } = {}) {
  try {
    config = await api('/api/v1/config');
    readOnly = false;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'ERR_READ_ONLY') return showReadOnly(error.message);
    throw error;
  }
  if (force || !configDirty) {
    $('config-text').value = JSON.stringify(config, null, 2);
    configDirty = false;
  }
  pipelineShape = '';
}

async function applyConfig(event) {
  event.preventDefault();
  if (readOnly) return;
  let body;
  try {
    body = JSON.parse($('config-text').value);
  } catch (error) {
    showError({ code: 'not JSON', message: `the text is not JSON: ${error.message}` });
    return;
  }
  $('config-apply').disabled = true;
  showResult('', 'Checking…');
  try {
    const { generation } = await api('/api/v1/config', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    configDirty = false;
    showResult('ok', `Applied: the engine runs generation ${generation}.`);
    await loadConfig({ force: true });
  } catch (error) {
    if (error instanceof ApiError) showError(error);
    else showError({ code: 'ERR_REQUEST', message: `the server did not answer: ${error.message}` });
  } finally {
    $('config-apply').disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// The event stream, and starting (again, after a new token).

let streamControl;
let lastGeneration;
let lastPid;
let ticks = 0;

function onTick(tick) {
  ticks += 1;
  document.body.dataset.ticks = String(ticks);
  const { stats } = tick;
  setStatus(stats.alive ? (stats.failed ? 'worker failed' : 'running') : 'not running', stats.alive && !stats.failed ? 'ok' : 'bad');
  setText($('generation'), String(stats.generation));
  setText($('uptime'), duration(stats.uptimeNs));
  updatePorts(tick);
  updateLcores(tick);
  updatePipelines(stats);
  // Another client applied a config: show the stages it set.
  if (lastGeneration !== undefined && stats.generation !== lastGeneration && !readOnly) loadConfig().catch(() => {});
  lastGeneration = stats.generation;
  // Attached, and the engine restarted under its name: a new process, new memory.
  if (lastPid !== undefined && stats.pid !== lastPid) api('/api/v1/info').then(showInfo, () => {});
  lastPid = stats.pid;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function stream(control) {
  while (!control.signal.aborted) {
    try {
      for await (const { event, data } of serverEvents('/api/v1/events', auth(), control.signal)) {
        if (event === 'tick') onTick(data);
        else if (event === 'stopped') {
          setStatus('stopped', 'bad');
          return;
        }
      }
    } catch (error) {
      if (control.signal.aborted) return;
      if (error instanceof ApiError && error.status === 401) return needToken(error);
      if (error instanceof ApiError && error.code === 'ERR_STOPPED') return setStatus('stopped', 'bad');
    }
    if (control.signal.aborted) return;
    setStatus('reconnecting', 'wait');
    await sleep(1000);
  }
}

function needToken(error) {
  setStatus('token needed', 'wait');
  tokenNote(error.message);
  $('token').focus();
}

async function start() {
  streamControl?.abort();
  streamControl = new AbortController();
  setStatus('connecting', 'wait');
  try {
    const info = await api('/api/v1/info');
    showInfo(info);
    // Attached to another process's engine: its config is not here to edit.
    if (info.attached) showReadOnly(`This server reads ${info.name}'s stats segment from another process: it can show the engine, not change it. Change the config through the process that started it.`);
    else await loadConfig({ force: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return needToken(error);
    setStatus(error instanceof ApiError && error.code === 'ERR_STOPPED' ? 'stopped' : 'unreachable', 'bad');
    tokenNote(error.message);
    return;
  }
  void stream(streamControl);
}

$('token').value = token;
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  tokenNote(token ? 'Token in use (kept for this tab only).' : 'No token: reads only, if the server allows them.');
  void start();
});
$('config-text').addEventListener('input', () => (configDirty = true));
$('config-form').addEventListener('submit', applyConfig);
$('config-reload').addEventListener('click', () => {
  loadConfig({ force: true }).then(
    () => showResult('', 'Reloaded the config the engine runs.'),
    (error) => showError(error),
  );
});
void start();
