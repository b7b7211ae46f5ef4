/**
 * The status page: a self-contained HTML document served at `/` (inline CSS, JS
 * and SVG; nothing from elsewhere), rendered by the server with the current data
 * (status-html.ts), whose script then polls `status.json` (status-data.ts) and redraws the service state, each symbol's last candle and lag, a 24 h
 * completeness strip per symbol, recent data_quality_logs rows and a small
 * close-price chart.
 *
 * The page writes data into the DOM with textContent / setAttribute only,
 * never innerHTML, and its Content-Security-Policy (a meta tag with hashes of
 * the inline script and style) forbids any other script.
 */
import { createHash } from 'node:crypto'
import type { StatusData } from './status-data.ts'
import { chartOptions, esc, headerValues, qualityRows, symbolRows } from './status-html.ts'

const STYLE = `
:root{--bg:#0f1419;--panel:#171e26;--line:#2a3441;--fg:#d7dde4;--dim:#8793a0;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--fill:#58a6ff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;flex-wrap:wrap;gap:16px;align-items:center;padding:12px 20px;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0 8px 0 0}
h2{font-size:15px;margin:0 0 8px}
main{padding:16px 20px;display:grid;gap:16px}
section{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:12px 14px;overflow-x:auto}
.badge{padding:2px 10px;border-radius:10px;font-weight:600;text-transform:uppercase;font-size:12px;background:var(--line)}
.badge.healthy{background:var(--ok);color:#041}
.badge.degraded{background:var(--warn);color:#310}
.badge.unhealthy{background:var(--bad);color:#300}
.kv{color:var(--dim)}.kv b{color:var(--fg);font-weight:600}
.up{color:var(--ok)}.down{color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap;vertical-align:middle}
th{color:var(--dim);font-weight:500}
td.msg{white-space:normal;word-break:break-word;max-width:520px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
svg.strip{width:480px;height:14px;display:block;background:var(--bad)}
rect.st-P{fill:var(--ok)}rect.st-F{fill:var(--fill)}rect.st-M{fill:var(--bad)}rect.st-E{fill:var(--dim)}rect.st-I{fill:var(--warn)}
.legend span{display:inline-block;margin-right:12px;color:var(--dim)}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
i.st-P{background:var(--ok)}i.st-F{background:var(--fill)}i.st-M{background:var(--bad)}i.st-E{background:var(--dim)}i.st-I{background:var(--warn)}
td.counts.missing{color:var(--bad);font-weight:600}
#chart{width:100%;max-width:720px;height:200px;display:block}
#chart-line{fill:none;stroke:var(--fill);stroke-width:1.5}
#chart text{fill:var(--dim);font-size:11px}
#error{color:var(--bad)}
#reasons{color:var(--warn)}
select{background:var(--bg);color:var(--fg);border:1px solid var(--line);padding:2px 6px}
footer{padding:0 20px 16px;color:var(--dim);font-size:12px}
a{color:var(--fill)}
`

const SCRIPT = `
'use strict';
(function () {
  var REFRESH_MS = 10000;
  var SVGNS = 'http://www.w3.org/2000/svg';
  var MARK = 4; // a missing run narrower than this many minutes gets a marker this wide, to stay visible
  var STATE_NAMES = { P: 'present', F: 'filled late', E: 'confirmed empty by Binance', M: 'missing', I: 'in progress' };
  var chosen = null;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function when(isoText) { return isoText ? String(isoText).replace('T', ' ').replace(/:\\d\\d\\.\\d+Z$/, 'Z') : '—'; }
  function duration(s) {
    if (typeof s !== 'number' || !isFinite(s)) return '—';
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + Math.floor(s % 60) + 's';
  }
  function upDown(node, ok) { node.textContent = ok ? 'up' : 'down'; node.className = ok ? 'up' : 'down'; }

  function renderHeader(d) {
    var h = d.health || {};
    var st = $('status');
    st.textContent = h.status || 'unknown';
    st.className = 'badge ' + (h.status || '');
    $('uptime').textContent = duration(h.uptime_seconds);
    upDown($('db'), h.database_connected === true && d.database && d.database.ok);
    upDown($('stream'), h.websocket_connected === true);
    $('updated').textContent = when(d.generated_at);
    var reasons = Array.isArray(h.reasons) ? h.reasons.join('; ') : '';
    if (d.database && !d.database.ok) reasons = (reasons ? reasons + '; ' : '') + 'status query: ' + d.database.error;
    $('reasons').textContent = reasons;
    $('window').textContent = when(d.window.from) + ' → ' + when(d.window.to) + ' (' + d.window.minutes + ' minutes)';
    $('shown').textContent = d.symbols.length < d.symbols_total ? 'showing ' + d.symbols.length + ' of ' + d.symbols_total + ' symbols' : '';
  }

  function strip(d, s) {
    var svg = svgEl('svg', { 'class': 'strip', viewBox: '0 0 ' + d.window.minutes + ' 1', preserveAspectRatio: 'none', role: 'img' });
    svg.setAttribute('aria-label', s.symbol + ' completeness over ' + d.window.minutes + ' minutes');
    var x = 0, start = Date.parse(d.window.from), marks = [];
    s.completeness.runs.forEach(function (run) {
      var state = run[0], n = run[1];
      var r = svgEl('rect', { x: x, y: 0, width: n, height: 1, 'class': 'st-' + state, 'data-state': state, 'data-n': n });
      var t = svgEl('title', {});
      var a = new Date(start + x * 60000).toISOString(), b = new Date(start + (x + n - 1) * 60000).toISOString();
      t.textContent = when(a) + (n > 1 ? ' – ' + when(b) : '') + ': ' + STATE_NAMES[state] + ' (' + n + ' min)';
      r.appendChild(t);
      svg.appendChild(r);
      if (state === 'M' && n < MARK) marks.push(x - (MARK - n) / 2);
      x += n;
    });
    marks.forEach(function (mx) { svg.appendChild(svgEl('rect', { x: mx, y: 0, width: MARK, height: 1, 'class': 'st-M mark' })); });
    return svg;
  }

  function renderSymbols(d) {
    var body = $('symbols');
    clear(body);
    d.symbols.forEach(function (s) {
      var tr = el('tr');
      tr.setAttribute('data-symbol', s.symbol);
      tr.appendChild(el('td', s.symbol, 'sym'));
      tr.appendChild(el('td', when(s.last_candle_time)));
      tr.appendChild(el('td', s.last_close === null ? '—' : s.last_close, 'num'));
      tr.appendChild(el('td', s.lag_seconds === null ? '—' : s.lag_seconds + ' s', 'num lag'));
      var c = s.completeness;
      var extra = [];
      if (c.confirmed_empty > 0) extra.push(c.confirmed_empty + ' empty');
      if (c.in_progress > 0) extra.push(c.in_progress + ' in progress');
      var counts = el('td', c.present + ' / ' + c.filled + ' / ' + c.missing + (extra.length ? ' (' + extra.join(', ') + ')' : ''),
        'num counts' + (c.missing > 0 ? ' missing' : ''));
      counts.setAttribute('data-present', c.present);
      counts.setAttribute('data-filled', c.filled);
      counts.setAttribute('data-missing', c.missing);
      counts.setAttribute('data-confirmed-empty', c.confirmed_empty);
      counts.setAttribute('data-in-progress', c.in_progress);
      tr.appendChild(counts);
      var cell = el('td');
      cell.appendChild(strip(d, s));
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function renderQuality(d) {
    var body = $('quality');
    clear(body);
    if (d.quality.length === 0) {
      var tr = el('tr');
      var td = el('td', 'no entries', 'kv');
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    d.quality.forEach(function (q) {
      var tr = el('tr', null, 'q');
      tr.setAttribute('data-event', q.event_type);
      tr.appendChild(el('td', when(q.created_at)));
      tr.appendChild(el('td', q.symbol || '—'));
      tr.appendChild(el('td', q.event_type + (q.resolved ? ' (resolved)' : '')));
      tr.appendChild(el('td', q.gap_start ? when(q.gap_start) + (q.gap_end && q.gap_end !== q.gap_start ? ' – ' + when(q.gap_end) : '') : ''));
      tr.appendChild(el('td', (q.candles_missing === null ? '' : q.candles_missing + ' missing') + (q.candles_recovered === null ? '' : ' ' + q.candles_recovered + ' recovered'), 'num'));
      tr.appendChild(el('td', q.error_message || '', 'msg'));
      body.appendChild(tr);
    });
  }

  function renderChart(d) {
    var select = $('chart-symbol');
    var names = d.symbols.map(function (s) { return s.symbol; });
    if (chosen === null || names.indexOf(chosen) < 0) chosen = names.length ? names[0] : null;
    if (select.options.length !== names.length || names.some(function (n, i) { return select.options[i].value !== n; })) {
      clear(select);
      names.forEach(function (n) { var o = el('option', n); o.value = n; select.appendChild(o); });
    }
    if (chosen !== null) select.value = chosen;
    var s = d.symbols.filter(function (x) { return x.symbol === chosen; })[0];
    var pts = s ? s.closes : [];
    var W = 720, H = 200, L = 70, R = 10, T = 10, B = 20;
    var ys = pts.map(function (p) { return Number(p[1]); });
    var lo = Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
    if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
    var line = pts.map(function (p, i) {
      var x = L + (pts.length > 1 ? i * (W - L - R) / (pts.length - 1) : (W - L - R) / 2);
      var y = T + (hi - ys[i]) * (H - T - B) / (hi - lo);
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' ');
    $('chart-line').setAttribute('points', line);
    $('chart-line').setAttribute('data-points', String(pts.length));
    $('chart-hi').textContent = ys.length ? String(hi) : '';
    $('chart-lo').textContent = ys.length ? String(lo) : '';
    $('chart-from').textContent = pts.length ? when(new Date(pts[0][0]).toISOString()) : 'no candles';
    $('chart-to').textContent = pts.length ? when(new Date(pts[pts.length - 1][0]).toISOString()) : '';
    $('chart-last').textContent = pts.length ? 'last close ' + pts[pts.length - 1][1] + ' (' + pts.length + ' candles)' : '';
  }

  var lastData = null;
  function render(d) {
    lastData = d;
    renderHeader(d);
    renderSymbols(d);
    renderChart(d);
    renderQuality(d);
    document.body.setAttribute('data-loaded', d.generated_at);
  }

  function load() {
    fetch('status.json', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (d) { render(d); $('error').textContent = ''; })
      .catch(function (e) { $('error').textContent = 'could not refresh: ' + (e && e.message ? e.message : e); })
      .then(function () { setTimeout(load, REFRESH_MS); });
  }

  $('chart-symbol').addEventListener('change', function (ev) {
    chosen = ev.target.value;
    if (lastData) renderChart(lastData);
  });
  load();
})();
`

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

const CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

function page(d: StatusData | null): string {
  const v = d === null ? null : headerValues(d)
  const text = (id: string, fallback: string) => esc(v?.[id]?.text ?? fallback)
  const cls = (id: string, base: string) => esc(v?.[id]?.cls ?? base)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>data-feeder status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>data-feeder</h1>
  <span id="status" class="${cls('status', 'badge')}">${text('status', 'loading')}</span>
  <span class="kv">uptime <b id="uptime">${text('uptime', '—')}</b></span>
  <span class="kv">database <b id="db" class="${cls('db', '')}">${text('db', '—')}</b></span>
  <span class="kv">stream <b id="stream" class="${cls('stream', '')}">${text('stream', '—')}</b></span>
  <span class="kv">updated <b id="updated">${text('updated', '—')}</b></span>
  <span id="reasons">${text('reasons', '')}</span>
  <span id="error"></span>
</header>
<main>
  <section>
    <h2>Symbols <span class="kv" id="shown">${text('shown', '')}</span></h2>
    <div class="legend">
      <span><i class="st-P"></i>present (stream)</span><span><i class="st-F"></i>filled late (REST / archive)</span><span><i class="st-E"></i>confirmed empty (Binance has no data)</span><span><i class="st-M"></i>missing</span><span><i class="st-I"></i>in progress</span>
      <span>window <b id="window">${text('window', '—')}</b></span>
    </div>
    <table>
      <thead><tr><th>symbol</th><th>last candle (open, UTC)</th><th>close</th><th>lag</th><th>present / filled / missing</th><th>last 24 h</th></tr></thead>
      <tbody id="symbols">${d === null ? '' : symbolRows(d)}</tbody>
    </table>
  </section>
  <section>
    <h2>Close price <select id="chart-symbol" aria-label="symbol">${d === null ? '' : chartOptions(d)}</select> <span class="kv" id="chart-last"></span></h2>
    <svg id="chart" viewBox="0 0 720 200" preserveAspectRatio="none" role="img" aria-label="close prices">
      <line x1="70" y1="190" x2="710" y2="190" stroke="#2a3441"></line>
      <line x1="70" y1="10" x2="70" y2="190" stroke="#2a3441"></line>
      <text id="chart-hi" x="4" y="16"></text>
      <text id="chart-lo" x="4" y="190"></text>
      <text id="chart-from" x="70" y="200"></text>
      <text id="chart-to" x="710" y="200" text-anchor="end"></text>
      <polyline id="chart-line" points=""></polyline>
    </svg>
  </section>
  <section>
    <h2>Recent data quality events</h2>
    <table>
      <thead><tr><th>time (UTC)</th><th>symbol</th><th>event</th><th>gap</th><th>candles</th><th>message</th></tr></thead>
      <tbody id="quality">${d === null ? '' : qualityRows(d)}</tbody>
    </table>
  </section>
</main>
<footer>Refreshes every 10 s from <a href="status.json">status.json</a> · <a href="health">health</a> · <a href="metrics">metrics</a></footer>
<script>${SCRIPT}</script>
</body>
</html>
`
}

/**
 * The page served at `/`. With data, its first paint is rendered here (status-html.ts); without,
 * it is the empty shell its script fills from status.json.
 */
export function renderStatusPage(d: StatusData | null = null): string {
  return page(d)
}
