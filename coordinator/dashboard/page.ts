import { createHash } from "node:crypto";

/*
 * The live dashboard: one HTML page with its script and style inline, no build step and no
 * dependency. It loads /api/state once, then applies every event from /events (Server-Sent
 * Events, fed by the coordinator's event bus) to the page as it arrives; it never polls. Charts are
 * SVG drawn by the script. The script is plain ES2020 in a string, so it avoids template literals.
 */

const STYLE = `
:root{--fg:#1d2430;--mute:#667085;--line:#d0d5dd;--bg:#f8f9fb;--ok:#12805c;--warn:#b54708;--bad:#b42318;--acc:#2e6bd6}
*{box-sizing:border-box}body{font:14px/1.4 system-ui,DejaVu Sans,Arial,sans-serif;color:var(--fg);margin:0;background:var(--bg)}
header{display:flex;gap:1em;align-items:baseline;padding:.8em 1.5em;background:#fff;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0}#conn{margin-left:auto;font-size:12px;padding:2px 8px;border-radius:10px;background:#eee}
#conn.live{background:#d1fadf;color:var(--ok)}#conn.down{background:#fee4e2;color:var(--bad)}
main{padding:1em 1.5em;max-width:1400px}section.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8em 1em;margin:0 0 1em}
h2{font-size:16px;margin:.2em 0 .6em}h3{font-size:15px;margin:.2em 0 .4em}small,.mute{color:var(--mute)}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaecf0;padding:4px 8px;text-align:left;vertical-align:middle}th{font-weight:600;color:var(--mute);font-size:12px}
td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px}
.bar{display:inline-block;width:140px;height:10px;background:#eaecf0;border-radius:5px;overflow:hidden;vertical-align:middle}
.bar>span{display:block;height:100%;background:var(--acc);transition:width .2s}.bar.wide{width:100%;height:12px}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#eaecf0}
.s-training,.s-running{background:#d1e9ff;color:#175cd3}.s-downloading,.s-uploading,.s-evaluating,.s-open{background:#fef0c7;color:var(--warn)}
.s-completed,.s-closed{background:#d1fadf;color:var(--ok)}.s-failed,.s-silent{background:#fee4e2;color:var(--bad)}
.grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em}.counters{display:flex;gap:1.5em;margin:.3em 0 .6em}
.counters b{font-size:16px}#events li{font-family:ui-monospace,DejaVu Sans Mono,monospace;font-size:12px;list-style:none;padding:1px 0;border-bottom:1px dotted #eaecf0}
#events ul{margin:0;padding:0;max-height:320px;overflow:auto}svg{max-width:100%;height:auto}
`;

const SCRIPT = `
'use strict';
var S = { sites: {}, runs: {}, order: [], events: [], lastSeq: 0, version: '' };
var $ = function (id) { return document.getElementById(id); };
function esc(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
function short(v, n) { return v ? String(v).slice(0, n || 12) : '\\u2013'; }
function num(v, d) { return v == null || !isFinite(v) ? '\\u2013' : Number(v).toFixed(d); }
function ago(iso) { if (!iso) return '\\u2013'; var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 60 ? s + ' s ago' : Math.floor(s / 60) + ' min ago'; }
function badge(s) { return '<span class="badge s-' + esc(s) + '">' + esc(s) + '</span>'; }
function bar(f, wide) { var p = f == null ? 0 : Math.max(0, Math.min(1, f)) * 100; return '<span class="bar' + (wide ? ' wide' : '') + '" data-progress="' + p.toFixed(1) + '"><span style="width:' + p.toFixed(1) + '%"></span></span>'; }
var VIR = [[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[109,205,89],[180,222,44],[253,231,37]];
function viridis(t) { var x = Math.max(0, Math.min(1, t)) * 9, i = Math.min(8, Math.floor(x)), f = x - i, a = VIR[i], b = VIR[i + 1]; return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); }); }
var PALETTE = ['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];

function siteDomain(id) { var s = S.sites[id]; return s ? s.domain : id; }
function runOf(id) { return S.runs[id]; }
function stepOf(run, index) {
  for (var i = 0; i < run.steps.length; i++) if (run.steps[i].index === index) return run.steps[i];
  var st = { index: index, domain: '', state: 'open', sites: [], version: null, dropouts: [], roundsDone: 0 };
  run.steps.push(st); run.steps.sort(function (a, b) { return a.index - b.index; });
  return st;
}
function addRun(r) { if (!S.runs[r.runId]) S.order.unshift(r.runId); S.runs[r.runId] = r; }

function load(snap) {
  // A re-sync may come after events newer than the snapshot's seq were applied; never go back.
  S.version = snap.version; S.lastSeq = Math.max(S.lastSeq, snap.lastSeq); S.sites = {}; S.runs = {}; S.order = [];
  snap.sites.forEach(function (s) { S.sites[s.siteId] = s; });
  snap.runs.slice().reverse().forEach(addRun);
  S.events = snap.events.map(function (e) { return e.event; }).reverse();
  // A full state dir is shown where the version is: uploads and new runs wait until there is room.
  $('version').textContent = 'coordinator ' + snap.version + (snap.storage && snap.storage.state !== 'ok' ? ' | ' + snap.storage.state + ': ' + snap.storage.reason : '');
  renderAll();
}

function apply(e) {
  var run = e.runId ? runOf(e.runId) : null, site, st;
  switch (e.type) {
    case 'site.registered':
      site = S.sites[e.siteId];
      if (!site) { refresh(); return; }
      site.state = 'idle'; site.backend = e.backend || site.backend; site.lastSeenAt = e.at; site.alive = true; renderSite(e.siteId); break;
    case 'site.heartbeat':
      site = S.sites[e.siteId]; if (!site) return;
      if ((e.taskId || null) !== site.taskId) { site.progress = null; site.loss = null; }
      site.state = e.state; site.taskId = e.taskId || null; site.lastHeartbeatAt = e.at; site.lastSeenAt = e.at; site.alive = true;
      renderSite(e.siteId); break;
    case 'site.progress':
      site = S.sites[e.siteId]; if (!site) return;
      site.taskId = e.taskId; site.runId = e.runId || site.runId; site.progress = e.progress; if (e.loss != null) site.loss = e.loss;
      renderSite(e.siteId); if (run) renderRunProgress(run); break;
    case 'run.created':
      // The event carries no name or eval domains: fetch the run's view once (not a poll).
      refresh(); return;
    case 'task.assigned':
      site = S.sites[e.siteId]; if (site) { site.runId = e.runId; site.taskId = e.taskId; site.progress = 0; renderSite(e.siteId); }
      if (run) { st = stepOf(run, e.step); if (st.state === 'open') st.state = 'training'; renderRun(run); } break;
    case 'step.opened':
      if (!run) return;
      st = stepOf(run, e.step); st.state = 'training'; st.sites = e.sites;
      if (!st.domain) st.domain = e.sites.map(siteDomain).join('+');
      run.state = 'running'; renderRun(run); break;
    case 'update.received': if (run) { run.updates.received++; renderRun(run); } break;
    case 'update.rejected': if (run) { run.updates.rejected.push({ siteId: e.siteId, taskId: e.taskId, reason: e.reason }); renderRun(run); } break;
    case 'site.dropout': if (run) { st = stepOf(run, e.step); if (st.dropouts.indexOf(e.siteId) < 0) st.dropouts.push(e.siteId); renderRun(run); } break;
    case 'evaluated':
      if (!run) return;
      run.evals[String(e.step)] = e.ap;
      Object.keys(e.ap).forEach(function (d) { if (run.domains.indexOf(d) < 0) run.domains.push(d); });
      st = stepOf(run, e.step); st.state = 'evaluating'; renderRun(run); break;
    case 'step.closed':
      if (!run) return;
      st = stepOf(run, e.step); st.state = 'closed';
      if (e.version) {
        st.version = e.version;
        if (!run.lineage.some(function (v) { return v.version === e.version; })) run.lineage.push({ version: e.version, parent: run.currentVersion || run.baseVersion, step: e.step, strategy: run.strategy, sites: st.sites });
        run.currentVersion = e.version;
      }
      renderRun(run);
      // Rounds and the base model's AP have no event of their own: re-read the state once per step.
      refresh(); return;
    case 'run.completed': if (run) { run.state = 'completed'; renderRun(run); } break;
    case 'run.failed': if (run) { run.state = 'failed'; run.error = e.reason; renderRun(run); } break;
    case 'run.paused': if (run) { run.error = 'paused while ' + e.phase + ': ' + e.reason; renderRun(run); } refresh(); return;
    case 'run.resumed': if (run) { run.error = null; renderRun(run); } refresh(); return;
  }
  if (e.type !== 'site.heartbeat' && e.type !== 'site.progress') { S.events.unshift(e); S.events.length = Math.min(S.events.length, 200); renderEvents(); }
}

function siteRow(s) {
  var state = s.alive === false ? 'silent' : s.state;
  return '<td>' + esc(s.siteId) + '</td><td>' + esc(s.domain) + '</td><td>' + badge(state) + '</td><td><code>' + esc(short(s.taskId, 8)) + '</code></td>' +
    '<td>' + bar(s.progress) + ' <span class="mute">' + (s.progress == null ? '' : Math.round(s.progress * 100) + '%') + '</span></td>' +
    '<td class="num">' + num(s.loss, 4) + '</td><td class="ago" data-at="' + esc(s.lastHeartbeatAt || s.lastSeenAt) + '">' + ago(s.lastHeartbeatAt || s.lastSeenAt) + '</td><td>' + esc(s.backend) + '</td>';
}
function renderSite(id) {
  var tr = document.querySelector('tr[data-site="' + CSS.escape(id) + '"]');
  if (!tr) { renderSites(); return; }
  tr.innerHTML = siteRow(S.sites[id]);
}
function renderSites() {
  var ids = Object.keys(S.sites).sort();
  $('sites').innerHTML = ids.length ? ids.map(function (id) { return '<tr data-site="' + esc(id) + '">' + siteRow(S.sites[id]) + '</tr>'; }).join('') : '<tr><td colspan="8" class="mute">no site has registered yet</td></tr>';
}

function runFraction(run) {
  var closed = run.steps.filter(function (s) { return s.state === 'closed'; }).length;
  if (run.state === 'completed') return 1;
  var open = run.steps.filter(function (s) { return s.state !== 'closed'; })[0], partial = 0;
  if (open) {
    var ps = open.sites.map(function (id) { var s = S.sites[id]; return s && s.runId === run.runId && s.progress != null ? s.progress : 0; });
    partial = ps.length ? ps.reduce(function (a, b) { return a + b; }, 0) / ps.length : 0;
  }
  return Math.min(1, (closed + partial) / Math.max(1, run.plannedSteps));
}
function renderRunProgress(run) {
  var el = document.querySelector('[data-run="' + CSS.escape(run.runId) + '"] .runbar');
  if (el) el.innerHTML = bar(runFraction(run), true);
}

function heatmap(run) {
  var rows = run.steps.filter(function (s) { return run.evals[String(s.index)]; });
  var doms = run.domains, cw = 64, ch = 26, left = 130, top = 70;
  if (!rows.length || !doms.length) return '<p class="mute">R fills in as each step is evaluated.</p>';
  var w = left + doms.length * cw + 10, h = top + rows.length * ch + 10, out = [];
  out.push('<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" font-size="11">');
  doms.forEach(function (d, j) { out.push('<text transform="translate(' + (left + j * cw + cw / 2) + ',' + (top - 6) + ') rotate(-35)">' + esc(d) + '</text>'); });
  rows.forEach(function (s, i) {
    var y = top + i * ch;
    out.push('<text x="' + (left - 6) + '" y="' + (y + ch / 2 + 4) + '" text-anchor="end">' + esc(s.index + ' ' + s.domain) + '</text>');
    doms.forEach(function (d, j) {
      var v = run.evals[String(s.index)][d], x = left + j * cw;
      if (v == null) { out.push('<rect x="' + x + '" y="' + y + '" width="' + (cw - 1) + '" height="' + (ch - 1) + '" fill="#eee"/>'); return; }
      var c = viridis(v / 100), light = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 140;
      out.push('<g class="cell" data-step="' + s.index + '" data-domain="' + esc(d) + '" data-value="' + v + '"><rect x="' + x + '" y="' + y + '" width="' + (cw - 1) + '" height="' + (ch - 1) + '" fill="rgb(' + c.join(',') + ')"/>' +
        '<text x="' + (x + cw / 2) + '" y="' + (y + ch / 2 + 4) + '" text-anchor="middle" fill="' + (light ? '#000' : '#fff') + '">' + v.toFixed(1) + '</text></g>');
    });
  });
  out.push('</svg>');
  return out.join('');
}

function curves(run) {
  var steps = run.steps.filter(function (s) { return run.evals[String(s.index)]; });
  if (!steps.length) return '';
  var base = run.evals['-1'], xs = (base ? [{ label: 'base', ev: base }] : []).concat(steps.map(function (s) { return { label: String(s.index), ev: run.evals[String(s.index)] }; }));
  var max = 10; xs.forEach(function (x) { Object.keys(x.ev).forEach(function (d) { max = Math.max(max, x.ev[d]); }); });
  max = Math.ceil(max / 10) * 10;
  var w = 520, h = 240, l = 40, r = 130, t = 14, b = 30, pw = w - l - r, ph = h - t - b, out = [];
  var X = function (i) { return l + (xs.length === 1 ? pw / 2 : i * pw / (xs.length - 1)); }, Y = function (v) { return t + ph - v / max * ph; };
  out.push('<svg class="curves" xmlns="http://www.w3.org/2000/svg" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" font-size="11">');
  for (var g = 0; g <= 4; g++) { var v = max * g / 4; out.push('<line x1="' + l + '" x2="' + (l + pw) + '" y1="' + Y(v) + '" y2="' + Y(v) + '" stroke="#eee"/><text x="' + (l - 4) + '" y="' + (Y(v) + 4) + '" text-anchor="end">' + v + '</text>'); }
  xs.forEach(function (x, i) { out.push('<text x="' + X(i) + '" y="' + (h - 10) + '" text-anchor="middle">' + esc(x.label) + '</text>'); });
  run.domains.forEach(function (d, k) {
    var pts = []; xs.forEach(function (x, i) { if (x.ev[d] != null) pts.push(X(i).toFixed(1) + ',' + Y(x.ev[d]).toFixed(1)); });
    var col = PALETTE[k % PALETTE.length];
    out.push('<polyline class="curve" data-domain="' + esc(d) + '" fill="none" stroke="' + col + '" stroke-width="2" points="' + pts.join(' ') + '"/>');
    pts.forEach(function (p) { var xy = p.split(','); out.push('<circle cx="' + xy[0] + '" cy="' + xy[1] + '" r="3" fill="' + col + '"/>'); });
    out.push('<text x="' + (l + pw + 10) + '" y="' + (t + 12 + k * 14) + '" fill="' + col + '">' + esc(d) + '</text>');
  });
  out.push('</svg>');
  return out.join('');
}

function renderRun(run) {
  var el = document.querySelector('section[data-run="' + CSS.escape(run.runId) + '"]');
  if (!el) { renderRuns(); return; }
  var closed = run.steps.filter(function (s) { return s.state === 'closed'; }).length;
  var dropouts = run.steps.reduce(function (n, s) { return n + s.dropouts.length; }, 0);
  var h = [];
  h.push('<h3>' + esc(run.name) + ' <small>' + esc(run.strategy) + '</small> ' + badge(run.state) + '</h3>');
  if (run.error) h.push('<p style="color:var(--bad)">' + esc(run.error) + '</p>');
  h.push('<div class="runbar">' + bar(runFraction(run), true) + '</div>');
  h.push('<div class="counters"><span><b class="steps-closed">' + closed + '</b> / ' + run.plannedSteps + ' steps closed</span><span><b class="updates">' + run.updates.received + '</b> updates</span>' +
    '<span><b class="rejected">' + run.updates.rejected.length + '</b> rejected</span><span><b class="dropouts">' + dropouts + '</b> dropouts</span></div>');
  h.push('<table><tr><th>step</th><th>domain</th><th>state</th><th>sites</th><th>rounds</th><th>dropouts</th><th>version</th></tr>' + run.steps.map(function (s) {
    return '<tr data-step="' + s.index + '"><td>' + s.index + '</td><td>' + esc(s.domain) + '</td><td>' + badge(s.state) + '</td><td>' + esc(s.sites.join(', ')) + '</td><td class="num">' + (s.roundsDone || 0) + '</td><td>' + esc(s.dropouts.join(', ') || '\\u2013') + '</td><td><code title="' + esc(s.version) + '">' + esc(short(s.version)) + '</code></td></tr>';
  }).join('') + '</table>');
  if (run.updates.rejected.length) h.push('<p><b>Rejected updates</b></p><ul>' + run.updates.rejected.map(function (u) { return '<li>' + esc(u.siteId) + ' <code>' + esc(short(u.taskId, 8)) + '</code>: ' + esc(u.reason) + '</li>'; }).join('') + '</ul>');
  h.push('<div class="grid"><div><h3>R (AP %)</h3>' + heatmap(run) + '</div><div><h3>AP per domain over steps</h3>' + curves(run) + '</div></div>');
  h.push('<h3>Model lineage</h3><table class="lineage"><tr><th>version</th><th>parent</th><th>step</th><th>strategy</th><th>trained at</th></tr>' + run.lineage.map(function (v) {
    return '<tr><td><code title="' + esc(v.version) + '">' + esc(short(v.version)) + '</code></td><td><code>' + esc(short(v.parent)) + '</code></td><td>' + (v.step < 0 ? 'base' : v.step) + '</td><td>' + esc(v.strategy) + '</td><td>' + esc((v.sites || []).join(', ') || '\\u2013') + '</td></tr>';
  }).join('') + '</table>');
  el.innerHTML = h.join('');
}
function renderRuns() {
  var box = $('runs');
  box.innerHTML = S.order.length ? S.order.map(function (id) { return '<section class="card run" data-run="' + esc(id) + '"></section>'; }).join('') : '<section class="card mute">no run yet</section>';
  S.order.forEach(function (id) { renderRun(S.runs[id]); });
}

function describe(e) {
  var parts = [];
  ['runId', 'step', 'siteId', 'version', 'finalVersion', 'reason', 'strategy'].forEach(function (k) {
    if (e[k] == null) return;
    var v = k === 'runId' ? (S.runs[e.runId] ? S.runs[e.runId].name : short(e.runId, 8)) : /ersion$/.test(k) ? short(e[k]) : e[k];
    parts.push(k + '=' + v);
  });
  if (e.ap) parts.push('ap={' + Object.keys(e.ap).map(function (d) { return d + ':' + e.ap[d].toFixed(1); }).join(', ') + '}');
  return parts.join(' ');
}
function renderEvents() {
  $('events').innerHTML = '<ul>' + S.events.slice(0, 50).map(function (e) { return '<li data-type="' + esc(e.type) + '">' + esc(e.at.slice(11, 23)) + ' <b>' + esc(e.type) + '</b> ' + esc(describe(e)) + '</li>'; }).join('') + '</ul>';
}
function renderAll() { renderSites(); renderRuns(); renderEvents(); }

function refresh() {
  return fetch('/api/state', { credentials: 'same-origin' }).then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); }).then(load);
}
var es = null, wasDown = false, seenIds = {}, seenOrder = [];
// Delivery is at least once: a restarted coordinator may publish a transition again, with its id.
function repeated(e) {
  if (!e.id) return false;
  if (seenIds[e.id]) return true;
  seenIds[e.id] = 1; seenOrder.push(e.id);
  if (seenOrder.length > 5000) delete seenIds[seenOrder.shift()];
  return false;
}
function connect() {
  es = new EventSource('/events?after=' + S.lastSeq);
  // After a drop (a coordinator restart) the state is read again: events of the gap are not replayed.
  es.onopen = function () { $('conn').textContent = 'live'; $('conn').className = 'live'; if (wasDown) { wasDown = false; refresh(); } };
  es.onerror = function () { $('conn').textContent = 'reconnecting'; $('conn').className = 'down'; wasDown = true; };
  es.addEventListener('medfcl', function (m) {
    var seq = Number(m.lastEventId);
    if (seq && seq <= S.lastSeq) return;
    S.lastSeq = seq || S.lastSeq;
    var e = JSON.parse(m.data);
    if (!repeated(e)) apply(e);
  });
}
// Only the relative times tick; nothing is fetched.
setInterval(function () { document.querySelectorAll('td.ago').forEach(function (td) { td.textContent = ago(td.getAttribute('data-at')); }); }, 1000);
refresh().then(connect, function (err) { $('conn').textContent = String(err.message || err); $('conn').className = 'down'; });
`;

const BODY = `<header><h1>medfcl coordinator</h1><span id="version" class="mute"></span><span id="conn">connecting</span></header>
<main>
<section class="card"><h2>Sites</h2><table><thead><tr><th>site</th><th>domain</th><th>state</th><th>task</th><th>progress</th><th>loss</th><th>last heartbeat</th><th>backend</th></tr></thead><tbody id="sites"></tbody></table></section>
<div id="runs"></div>
<section class="card"><h2>Events</h2><div id="events"></div></section>
</main>`;

const sha = (s: string): string => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;

/**
 * Only this page's own script runs (by hash); it talks to its own origin only. Styles stay
 * 'unsafe-inline' because the script sets progress widths as style attributes.
 */
export const DASHBOARD_CSP = `default-src 'none'; script-src ${sha(SCRIPT)}; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

export function dashboardPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>medfcl coordinator</title><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>`;
}
