/**
 * The report page: one self-contained HTML file (styles, script and the SVG inline, no fonts or
 * anything else fetched) with the topology, a results table whose rows draw their probe's path
 * on the topology, the why, fixes and steps of the selected probe, and the invariants.
 * Light and dark follow the reader's system; everything works from the keyboard.
 */
import { formatOrigin } from '../model/origin.js';
import type { World } from '../world/types.js';
import { displayNs } from '../world/build.js';
import { esc } from './svg.js';
import type { ProbePath, StepRow } from './path.js';

export interface ReportProbe {
  readonly key: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly proto: string;
  readonly expect?: string;
  readonly result: string;
  readonly ok: boolean;
  readonly why?: string;
  readonly fixes?: readonly string[];
  /** -m statistic: every branch's result with its probability; the drawn one is the first failing, else the likeliest */
  readonly outcomes?: readonly { readonly probability: number; readonly result: string }[];
  readonly path: ProbePath;
}

export interface ReportInvariant {
  readonly name: string;
  readonly form: string;
  readonly runs: number;
  readonly holds: boolean;
  readonly origin: string;
  readonly counterexample?: string;
  readonly violation?: string;
}

export interface ReportData {
  readonly title: string;
  readonly file: string;
  readonly probes: readonly ReportProbe[];
  readonly invariants: readonly ReportInvariant[];
  readonly seed?: number;
  readonly svg: string;
}

const PAGE_CSS = `
:root { color-scheme: light dark; --bg:#ffffff; --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --panel:#f6f8fa;
  --ok:#1a7f37; --bad:#cf222e; --sel:#ddf4ff; --sel-b:#0969da; --focus:#0969da; --req:#0550ae; --rep:#bc4c00; --code:#eff2f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0d1117; --fg:#e6edf3; --muted:#9198a1; --line:#3d444d; --panel:#151b23; --ok:#3fb950; --bad:#ff7b72;
    --sel:#0c2d6b; --sel-b:#4493f8; --focus:#4493f8; --req:#58a6ff; --rep:#ffa657; --code:#1f2428; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; }
code, .mono, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; font-size: 12.5px; }
header { padding: 12px 20px; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 4px 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header .summary { color: var(--muted); }
main { padding: 12px 20px 32px; display: grid; gap: 16px; grid-template-columns: minmax(0, 1fr); }
section { min-width: 0; }
h2 { font-size: 15px; margin: 4px 0 8px; }
.panel { border: 1px solid var(--line); border-radius: 8px; background: var(--panel); padding: 10px 12px; }
.diagram { position: sticky; top: 0; z-index: 1; background: var(--bg); padding-bottom: 6px; border-bottom: 1px solid var(--line); }
@media (max-height: 640px) { .diagram { position: static; } }
.diagram .scroll { overflow: auto; max-height: 56vh; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
.diagram svg { display: block; margin: 0 auto; max-width: none; height: auto; }
.legend #selected { color: var(--fg); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 0; padding: 0; list-style: none; color: var(--muted); font-size: 13px; }
.legend .sw { display: inline-block; width: 26px; height: 0; vertical-align: middle; margin-right: 6px; border-top: 3px solid; }
.sw.req { border-color: var(--req); } .sw.rep { border-color: var(--rep); border-top-style: dashed; }
.sw.drop { width: 12px; height: 12px; border: 0; border-radius: 50%; background: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; }
#probes tbody tr { cursor: pointer; }
#probes tbody tr:hover { background: var(--code); }
#probes tbody tr[aria-selected="true"] { background: var(--sel); box-shadow: inset 3px 0 0 var(--sel-b); }
#probes { font-size: 13px; } #probes td, #probes th { padding: 5px 6px; } #probes td:first-child { min-width: 15ch; }
#probes button { all: unset; cursor: pointer; font-weight: 600; overflow-wrap: anywhere; }
#probes button:focus-visible, a:focus-visible, summary:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; border-radius: 2px; }
.ok { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
.detail h3 { margin: 0 0 6px; font-size: 15px; }
.detail .why { margin: 6px 0; }
.detail ul.fixes { margin: 4px 0 8px; padding-left: 20px; }
.detail ul.fixes code { background: var(--code); padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
.steps { width: 100%; table-layout: fixed; }
.steps td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; font-size: 12px; overflow-wrap: anywhere; }
.steps col.t { width: 64px; } .steps col.where { width: 150px; } .steps col.kind { width: 104px; } .steps td.kind { white-space: nowrap; } .steps col.src { width: 34%; }
.steps tr.reply td.kind { color: var(--rep); } .steps tr.request td.kind { color: var(--req); }
.steps tr.drop td { color: var(--bad); font-weight: 600; }
.steps .line { color: var(--muted); }
.full { grid-column: 1 / -1; }
.detail details > div { max-height: 70vh; overflow: auto; }
.empty { color: var(--muted); }
`;

/** Selecting a row shows its path group in the SVG and its detail; arrow keys move between rows. */
const PAGE_JS = `
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#probes tbody tr'));
  var paths = document.querySelectorAll('.probe-path');
  var details = document.querySelectorAll('.detail[data-probe]');
  function select(key, focus) {
    rows.forEach(function (r) { r.setAttribute('aria-selected', String(r.dataset.probe === key)); });
    Array.prototype.forEach.call(paths, function (g) { g.setAttribute('visibility', g.dataset.probe === key ? 'visible' : 'hidden'); });
    Array.prototype.forEach.call(details, function (d) { d.hidden = d.dataset.probe !== key; });
    var live = document.getElementById('selected');
    var row = rows.filter(function (r) { return r.dataset.probe === key; })[0];
    if (live && row) live.textContent = 'Showing ' + row.dataset.name;
    if (focus && row) row.querySelector('button').focus();
    if (history.replaceState) history.replaceState(null, '', '#probe-' + key);
  }
  rows.forEach(function (r, i) {
    r.addEventListener('click', function () { select(r.dataset.probe, false); });
    r.addEventListener('keydown', function (e) {
      var next = e.key === 'ArrowDown' ? rows[i + 1] : e.key === 'ArrowUp' ? rows[i - 1] : e.key === 'Home' ? rows[0] : e.key === 'End' ? rows[rows.length - 1] : null;
      if (next) { e.preventDefault(); select(next.dataset.probe, true); }
    });
  });
  var m = /^#probe-(.+)$/.exec(location.hash);
  var first = rows.filter(function (r) { return r.dataset.failing === 'true'; })[0] || rows[0];
  var start = m && rows.some(function (r) { return r.dataset.probe === m[1]; }) ? m[1] : first && first.dataset.probe;
  if (start !== undefined) select(start, false);
})();
`;

export function reportHtml(world: World, d: ReportData): string {
  const failing = d.probes.filter((p) => !p.ok).length;
  const summary = `${d.probes.length} probe${d.probes.length === 1 ? '' : 's'}, ${failing === 0 ? 'all as expected' : `${failing} differ from their expect`}${
    d.invariants.length ? `; ${d.invariants.length} invariant${d.invariants.length === 1 ? '' : 's'}, ${d.invariants.filter((i) => !i.holds).length} failing` : ''
  }`;
  const rows = d.probes
    .map(
      (p) =>
        `<tr data-probe="${esc(p.key)}" data-name="${esc(p.name)}" data-failing="${String(p.why !== undefined || !p.ok)}" aria-selected="false">` +
        `<td><button type="button" aria-controls="detail-${esc(p.key)}">${esc(p.name)}</button></td>` +
        `<td class="mono">${esc(p.from)}</td><td class="mono">${esc(p.to)} ${esc(p.proto)}</td>` +
        `<td>${esc(p.expect ?? '-')}</td><td>${esc(p.result)}${p.outcomes ? ` <span class="empty">(${p.outcomes.map((o) => `${esc(o.result)} ${Number(o.probability.toFixed(4))}`).join(', ')})</span>` : ''}</td>` +
        `<td class="${p.ok ? 'ok' : 'fail'}">${p.ok ? 'ok' : 'FAIL'}</td></tr>`,
    )
    .join('\n');
  const details = d.probes.map((p) => probeDetail(world, p)).join('\n');
  const invariants = d.invariants.length
    ? `<section class="full panel" aria-labelledby="inv-h"><h2 id="inv-h">Invariants${d.seed !== undefined ? ` <span class="empty">(seed ${d.seed})</span>` : ''}</h2>
<table><thead><tr><th scope="col">invariant</th><th scope="col">form</th><th scope="col">runs</th><th scope="col">holds</th><th scope="col">counterexample</th></tr></thead><tbody>
${d.invariants
  .map(
    (i) =>
      `<tr><td>${esc(i.name)} <span class="empty mono">${esc(i.origin)}</span></td><td>${esc(i.form)}</td><td>${i.runs}</td><td class="${i.holds ? 'ok' : 'fail'}">${i.holds ? 'ok' : 'FAIL'}</td>` +
      `<td>${i.counterexample ? `<code>${esc(i.counterexample)}</code><br>${esc(i.violation ?? '')}` : ''}</td></tr>`,
  )
  .join('\n')}
</tbody></table></section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="netpath report">
<title>${esc(d.title)} — netpath report</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header><h1>${esc(d.title)}</h1><span class="mono">${esc(d.file)}</span><span class="summary">${esc(summary)}</span></header>
<main>
<section class="diagram" aria-labelledby="topo-h"><h2 id="topo-h">Topology</h2>
<div class="scroll">${d.svg}</div>
<ul class="legend" aria-label="legend"><li><span class="sw req"></span>request</li><li><span class="sw rep"></span>reply</li><li><span class="sw drop"></span>drop point</li><li>boxes: hosts, dashed: namespaces, blue: interfaces, yellow: bridges, green: LANs, IP: the namespace's stack</li><li id="selected" aria-live="polite"></li></ul>
</section>
<section aria-labelledby="probes-h"><h2 id="probes-h">Probes</h2>
<p class="empty">Select a probe (click, or Tab to it and use ↑ ↓) to draw its path.</p>
<table id="probes"><thead><tr><th scope="col">probe</th><th scope="col">from</th><th scope="col">to</th><th scope="col">expected</th><th scope="col">result</th><th scope="col">ok</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${d.probes.length === 0 ? '<p class="empty">This model has no probes.</p>' : ''}
</section>
<section class="full" aria-label="selected probe">
${details}
</section>
${invariants}
</main>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}

function probeDetail(world: World, p: ReportProbe): string {
  const fixes = p.fixes?.length ? `<h4>Fixes (any one)</h4><ul class="fixes">${p.fixes.map((f) => `<li><code>${esc(f)}</code></li>`).join('')}</ul>` : '';
  const why = p.why ? `<p class="why"><strong>Why:</strong> ${esc(p.why)}</p>` : `<p class="why">${p.result === 'reachable' ? 'The client got its answer.' : ''}</p>`;
  const drops = p.path.drops.map((d) => `<p class="fail">${esc(d.what)} (${esc(d.dir)}) dropped in ${esc(displayNs(world, d.at.ns))}${d.at.dev ? ` ${esc(d.at.dev)}` : ''} at ${esc(d.stage)}: ${esc(d.detail)}${d.counter ? ` (counted as ${esc(d.counter)})` : ''}</p>`).join('');
  return `<div class="detail panel" id="detail-${esc(p.key)}" data-probe="${esc(p.key)}" hidden>
<h3>${esc(p.name)}: <span class="${p.ok ? 'ok' : 'fail'}">${esc(p.result)}</span>${p.expect ? ` <span class="empty">(expected ${esc(p.expect)})</span>` : ''}</h3>
${drops}${why}${fixes}
<details open><summary>Trace steps (${p.path.steps.length})</summary>
<div><table class="steps"><colgroup><col class="t"><col class="where"><col class="kind"><col><col class="src"></colgroup>
<thead><tr><th scope="col">ms</th><th scope="col">where</th><th scope="col">step</th><th scope="col">what</th><th scope="col">runbook line</th></tr></thead><tbody>
${p.path.steps.map((s) => stepRow(world, s)).join('\n')}
</tbody></table></div></details>
</div>`;
}

function stepRow(world: World, s: StepRow): string {
  const arrow = s.dir === 'reply' ? '← ' : s.dir === 'request' ? '→ ' : '';
  const src = s.origin ? `<span class="line">${esc(formatOrigin(s.origin))}</span><br>${esc(s.origin.text)}` : '';
  return (
    `<tr class="${s.dir ?? ''}${s.kind === 'drop' ? ' drop' : ''}"><td>${(s.t / 1000).toFixed(3)}</td><td>${esc(displayNs(world, s.ns))}${s.dev ? ` ${esc(s.dev)}` : ''}</td>` +
    `<td class="kind">${arrow}${esc(s.kind)}</td><td>${esc(s.text)}</td><td>${src}</td></tr>`
  );
}
