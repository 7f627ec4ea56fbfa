// The HTML report (--html FILE of check, replay and judge): one self-contained page, no network when opened.
// A summary, then per failure (or per replayed file) the history as a table beside the scheme's picture
// of the model's state after the clicked step, with what that step changed marked; then, per scheme, a
// heat map of where connections went and the corner shares as bars. Hand-written HTML, CSS and a few
// lines of script: the page needs no library, so nothing is bundled. A concurrent history (steerspec-trace/2)
// is drawn by `lanes`: one lane per branch on an axis of the events in the order the oracle saw them.
import type { History as Concurrent } from '../core/history.ts';
import { show } from '../core/vocabulary.ts';
import { esc } from './pictures/draw.ts';
import type { History } from './history.ts';
import type { Heat } from './measure.ts';

export interface HtmlSummary {
  command: 'check' | 'replay' | 'judge';
  schemes: string[];
  status: string;
  exitCode: number;
  runs?: number;
  steps?: number;
  seed?: number;
  rerun: string;
  /** One row per property (check) or per file (replay, judge). */
  columns: string[];
  rows: { status: string; cells: string[] }[];
}

export interface HtmlMeasure {
  scheme: string;
  axes: [string, string];
  heat: Heat;
  corners: [string, number][];
  /** Where the counts come from, in one sentence. */
  source: string;
  /** The section's heading (default: "where connections went"). */
  title?: string;
}

/** A concurrent history to draw as lanes, with the operation no linearization gets past marked. */
export interface HtmlLanes {
  title: string;
  file?: string;
  history: Concurrent;
  /** The marked operation's id, and why. */
  mark?: { op?: number; message: string; allowed: unknown[] };
}

export interface HtmlReport {
  summary: HtmlSummary;
  histories: History[];
  lanes?: HtmlLanes[];
  measures: HtmlMeasure[];
}

/**
 * One lane per branch; an operation is a bar from its call to its return (to the axis's end when it never
 * returned), over columns that are the events in the order seen: a bar that ends before another begins
 * returned before that one was invoked, the only real time there is.
 */
function lanes(l: HtmlLanes): string {
  const at = new Map<number, [number, number]>();
  l.history.events.forEach((e, i) => {
    const id = 'call' in e ? e.call : e.ret;
    const span = at.get(id) ?? [i, l.history.events.length];
    if ('ret' in e) span[1] = i + 1;
    at.set(id, span);
  });
  const columns = Math.max(1, l.history.events.length);
  const prefix = l.history.prefix.map((p) => `<li><code>${esc(show(p.cmd, 160))}</code> → <code>${esc(p.outcome === undefined ? '(no reply)' : show(p.outcome, 120))}</code></li>`).join('');
  const rows = l.history.branches
    .map((ops, b) => {
      const bars = ops
        .map((op) => {
          const [from, to] = at.get(op.id) ?? [0, columns];
          const marked = l.mark?.op === op.id;
          const tip = `#${op.id} ${show(op.cmd, 200)} → ${op.outcome === undefined ? '(no reply)' : show(op.outcome, 160)}`;
          return `<div class="op${marked ? ' failing' : ''}" style="grid-row:1;grid-column:${from + 1} / ${Math.max(from + 2, to + 1)}" title="${esc(tip)}">#${op.id} ${esc((op.cmd as { op?: string }).op ?? '?')}${op.outcome === undefined ? ' …' : ''}</div>`;
        })
        .join('');
      return `<div class="lane"><span class="who">branch ${b}</span><div class="track" style="grid-template-columns:repeat(${columns},minmax(2.2em,1fr))">${bars}</div></div>`;
    })
    .join('');
  const why = l.mark ? `<p class="status-failed">${l.mark.op === undefined ? '' : `#${l.mark.op}: `}${esc(l.mark.message)}${l.mark.allowed.length ? ` — the spec allows ${esc(l.mark.allowed.map((o) => show(o, 120)).join(' or '))}` : ''}</p>` : '';
  return `<section class="lanes-history"><h2>${esc(l.title)}</h2>${l.file ? `<p><code>${esc(l.file)}</code></p>` : ''}${why}
<p>The sequential prefix:</p><ol start="0">${prefix}</ol>
<p>Then the branches at the same time; the axis is the order in which the oracle saw calls and returns (hover a bar for its command and outcome).</p>
<div class="lanes">${rows}</div></section>`;
}

const CSS = `
.lanes{border:1px solid #ccc;padding:.4em}.lane{display:flex;align-items:center;margin:.2em 0}
.lane .who{width:6em;flex:none;font-weight:600}.track{display:grid;flex:1;gap:2px}
.op{background:#dde6ff;border:1px solid #7a8cc8;border-radius:3px;font-size:12px;padding:1px 4px;white-space:nowrap;overflow:hidden}
.op.failing{background:#ffe3e6;border:2px solid #b00020}
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
code{word-break:break-all}
code,pre,.mono{font-family:ui-monospace,monospace;font-size:12px}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.status-passed,.status-conforms,.v-allowed{color:#176b2c}.status-failed,.status-fault,.status-error,.status-malformed,.v-not-allowed,.v-violated,.v-fault{color:#b00020;font-weight:bold}
.status-skipped,.v-not-followed{color:#8a6d00}
.history{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.steps tr.step{cursor:pointer}.steps tr.step:hover{background:#f3f3ff}
.steps tr.failing{background:#ffe3e6;outline:2px solid #b00020}.steps tr.selected{background:#dde6ff}
.steps tr.failing.selected{background:#ffc9d0}
.state{min-width:22em;border:1px solid #aaa;padding:.5em;background:#fafafa}
table.pic caption{text-align:left;font-weight:bold}table.pic td.empty{color:#aaa}
td.cursor{box-shadow:inset 0 0 0 2px #2a5bd7}td.changed,span.changed{background:#fff1a8}
.facts span{margin-right:.3em}.gone{color:#b00020}
.heat td{min-width:2.5em;text-align:right}.bar{background:#2a5bd7;height:.9em;display:inline-block}
.note{color:#555;font-style:italic}`;

// Clicking a step shows the state after it; cells whose text differs from the step before are marked.
const SCRIPT = `
function show(h, s) {
  var view = document.getElementById('view-' + h);
  var now = document.getElementById('st-' + h + '-' + s);
  var before = document.getElementById('st-' + h + '-' + (s - 1));
  view.innerHTML = now ? now.innerHTML : '<p class="note">the model could not follow the history to this step</p>';
  document.getElementById('label-' + h).textContent = s < 0 ? 'initial state' : now && now.hasAttribute('data-before') ? 'state before step ' + s + ' (no state of the model gives its outcome)' : 'state after step ' + s;
  var old = {};
  if (before) before.content.querySelectorAll('[data-k]').forEach(function (e) { old[e.getAttribute('data-k')] = e.textContent; });
  var seen = {};
  view.querySelectorAll('[data-k]').forEach(function (e) {
    var k = e.getAttribute('data-k'); seen[k] = true;
    if (before && old[k] !== e.textContent) e.classList.add('changed');
  });
  var gone = Object.keys(old).filter(function (k) { return !seen[k] && old[k] !== ''; }).map(function (k) { return old[k]; });
  if (gone.length) { var p = document.createElement('p'); p.className = 'gone'; p.textContent = 'gone: ' + gone.join(', '); view.appendChild(p); }
  document.querySelectorAll('#steps-' + h + ' tr.step').forEach(function (r) { r.classList.toggle('selected', Number(r.getAttribute('data-s')) === s); });
}
document.querySelectorAll('tr.step').forEach(function (r) {
  r.addEventListener('click', function () { show(Number(r.getAttribute('data-h')), Number(r.getAttribute('data-s'))); });
});
document.querySelectorAll('.history').forEach(function (d) { show(Number(d.getAttribute('data-h')), Number(d.getAttribute('data-start'))); });`;

const cls = (prefix: string, word: string) => `${prefix}-${word.toLowerCase().replace(/[^a-z]+/g, '-')}`;

function summary(s: HtmlSummary): string {
  const facts: [string, unknown][] = [
    ['command', `steerspec ${s.command}`],
    ['schemes', s.schemes.join(', ') || 'none'],
    ['status', s.status],
    ['exit code', s.exitCode],
  ];
  if (s.runs !== undefined) facts.push(['runs', s.runs]);
  if (s.steps !== undefined) facts.push(['steps', s.steps]);
  if (s.seed !== undefined) facts.push(['seed', s.seed]);
  const list = facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td${k === 'status' ? ` class="${cls('status', String(s.exitCode === 0 ? 'passed' : 'failed'))}"` : ''}>${esc(v)}</td></tr>`).join('');
  const head = `<tr>${s.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const rows = s.rows.map((r) => `<tr>${r.cells.map((c, i) => `<td${s.columns[i] === 'status' ? ` class="${cls('status', r.status)}"` : ''}>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table id="summary">${list}<tr><th>rerun</th><td><code id="rerun">${esc(s.rerun)}</code></td></tr></table><table id="results">${head}${rows}</table>`;
}

function history(h: History, n: number): string {
  const failingStep = h.failing?.index;
  const start = failingStep !== undefined && failingStep >= 0 ? failingStep : h.rows.length - 1;
  const rows = h.rows
    .map((r) => {
      const classes = ['step', ...(r.step === failingStep ? ['failing'] : [])].join(' ');
      const allowed = r.allowed.length ? r.allowed.map((a) => `<div class="mono">${esc(a)}</div>`).join('') : '—';
      return `<tr class="${classes}" data-h="${n}" data-s="${r.step}"><td>${r.step}</td><td class="mono">${esc(r.command)}</td><td class="mono">${esc(r.observed)}</td><td>${allowed}</td><td class="${cls('v', r.verdict)}">${esc(r.verdict)}${r.note ? `<div class="note">${esc(r.note)}</div>` : ''}</td></tr>`;
    })
    .join('');
  const states = [`<template id="st-${n}--1">${h.initial}</template>`, ...h.rows.filter((r) => r.picture !== undefined).map((r) => `<template id="st-${n}-${r.step}"${r.verdict === 'not allowed' ? ' data-before' : ''}>${r.picture}</template>`)].join('');
  const failing = h.failing ? `<p><b class="status-failed">${esc(h.failing.property)}</b> at ${h.failing.index < 0 ? 'init' : `step ${h.failing.index}`}: ${esc(h.failing.message)}</p>` : '';
  return `<section class="failure" id="history-${n}"><h2>${esc(h.title)}</h2>${failing}
<p>scheme <b>${esc(h.scheme)}</b>, config <code>${esc(h.config)}</code>${h.file ? `, trace <code>${esc(h.file)}</code>` : ''}</p>
<div class="history" data-h="${n}" data-start="${start}"><table class="steps" id="steps-${n}"><tr><th>step</th><th>command</th><th>observed</th><th>allowed (up to 4)</th><th>verdict</th></tr>${rows}</table>
<div><p><b id="label-${n}"></b> <span class="note">(click a step; changed cells are marked)</span></p><div class="state" id="view-${n}"></div></div></div>${states}</section>`;
}

function heatMap(m: HtmlMeasure): string {
  const rows = [...m.heat.counts.keys()].sort(natural);
  const columns = [...new Set(rows.flatMap((r) => [...m.heat.counts.get(r)!.keys()]))].sort(natural);
  const max = Math.max(1, ...rows.flatMap((r) => [...m.heat.counts.get(r)!.values()]));
  const body = rows
    .map((r) => {
      const line = m.heat.counts.get(r)!;
      const total = [...line.values()].reduce((a, b) => a + b, 0);
      const cells = columns.map((c) => {
        const v = line.get(c) ?? 0;
        return `<td style="background:rgba(42,91,215,${(v / max).toFixed(2)});color:${v / max > 0.5 ? '#fff' : '#222'}" title="${esc(r)} → ${esc(c)}: ${v}">${v || ''}</td>`;
      });
      return `<tr><th>${esc(r)}</th>${cells.join('')}<td>${total}</td></tr>`;
    })
    .join('');
  const table = rows.length
    ? `<table class="heat"><tr><th>${esc(m.axes[0])} \\ ${esc(m.axes[1])}</th>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}<th>total</th></tr>${body}</table>`
    : '<p class="note">no connection was placed</p>';
  const corners = m.corners.map(([name, share]) => `<tr><td>${esc(name)}</td><td><span class="bar" style="width:${(share * 200).toFixed(0)}px"></span> ${(100 * share).toFixed(1)}%</td></tr>`).join('');
  return `<section class="measure" id="measure-${esc(m.scheme)}${m.title ? '-subject' : ''}"><h2>${esc(m.scheme)}: ${esc(m.title ?? 'where connections went')}</h2><p class="note">${esc(m.source)}</p>${table}
${m.corners.length ? `<h3>corners reached (share of runs)</h3><table class="corners">${corners}</table>` : ''}</section>`;
}

/** Sorts labels such as "cpu 10" after "cpu 2". */
const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function renderHtml(report: HtmlReport): string {
  const title = `steerspec ${report.summary.command}: ${report.summary.status}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${summary(report.summary)}
${report.histories.map(history).join('\n')}
${(report.lanes ?? []).map(lanes).join('\n')}
${report.measures.map(heatMap).join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}
