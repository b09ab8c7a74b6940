"""The inline stylesheet and script every report carries (no fonts, no CDN, no request anywhere).

The script is referenced by its SHA-256 in the page's Content-Security-Policy, so nothing else can
run in a report: an injected `<script>` or `onerror=` attribute is blocked by the browser even if it
ever slipped past escaping.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

__all__ = ["REPORT_CSS", "REPORT_JS", "content_security_policy", "script_hash", "plotly_js"]

REPORT_CSS = """
:root { --fg:#1d2330; --muted:#5b6473; --line:#d9dee7; --bg:#ffffff; --panel:#f5f7fa; --accent:#1f5fbf;
  --ok:#1b7f3b; --bad:#b42318; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--fg); background:var(--bg); }
header.report { padding:18px 28px 10px; border-bottom:1px solid var(--line); background:var(--panel); }
header.report h1 { margin:0 0 4px; font-size:22px; word-break:break-word; }
header.report .subtitle { color:var(--muted); }
nav.toc { padding:8px 28px; border-bottom:1px solid var(--line); display:flex; flex-wrap:wrap; gap:4px 14px;
  position:sticky; top:0; background:var(--bg); z-index:2; }
nav.toc a { color:var(--accent); text-decoration:none; font-size:13px; }
nav.toc .toc-tools { margin-left:auto; display:flex; gap:4px; }
nav.toc button { font-size:12px; }
main { padding:6px 28px 40px; max-width:1500px; }
details.section { border:1px solid var(--line); border-radius:6px; margin:14px 0; background:var(--bg); }
details.section > summary { cursor:pointer; padding:9px 14px; font-weight:600; font-size:16px; background:var(--panel);
  border-radius:6px; }
details.section[open] > summary { border-bottom:1px solid var(--line); border-radius:6px 6px 0 0; }
details.section > .body { padding:10px 14px; overflow-x:auto; }
details.sub { margin:8px 0; }
details.sub > summary { cursor:pointer; color:var(--accent); }
.jv { display:flex; flex-wrap:wrap; gap:0 28px; align-items:flex-start; }
.jv-block { max-width:100%; overflow-x:auto; }
h3 { font-size:14px; margin:14px 0 6px; }
p.missing { color:var(--muted); font-style:italic; margin:6px 0; }
p.note { color:var(--muted); margin:6px 0; font-size:13px; }
table { border-collapse:collapse; margin:6px 0 10px; font-size:13px; }
th, td { border:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
th { background:var(--panel); position:sticky; top:0; }
table.sortable th { cursor:pointer; user-select:none; white-space:nowrap; }
table.sortable th::after { content:" \\2195"; color:#a0a8b5; font-size:11px; }
table.sortable th[aria-sort=ascending]::after { content:" \\2191"; color:var(--accent); }
table.sortable th[aria-sort=descending]::after { content:" \\2193"; color:var(--accent); }
table.kv th { white-space:nowrap; position:static; }
table.kv td.num { text-align:left; }
tr.best td { background:#eaf3ea; }
.table-tools { display:flex; gap:8px; align-items:center; margin:6px 0; flex-wrap:wrap; }
.table-tools input, .table-tools select { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; }
.row-count { color:var(--muted); font-size:12px; }
.scroll { max-height:520px; overflow:auto; border:1px solid var(--line); border-radius:4px; }
.scroll table { margin:0; }
pre { background:var(--panel); border:1px solid var(--line); border-radius:4px; padding:8px; overflow:auto;
  max-height:480px; font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space:pre; }
figure { margin:8px 0; display:inline-block; vertical-align:top; max-width:100%; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:12px; word-break:break-all; }
.grid figure { max-width:48%; margin-right:1%; }
.status-FINISHED { color:var(--ok); font-weight:600; }
.status-FAILED, .status-FAIL { color:var(--bad); font-weight:600; }
.status-KILLED, .status-PRUNED, .status-RUNNING { color:var(--warn); font-weight:600; }
.tabs .tab-buttons { display:flex; gap:2px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
.tabs .tab-buttons button { font:inherit; border:1px solid var(--line); border-bottom:none; background:var(--panel);
  padding:4px 12px; cursor:pointer; border-radius:4px 4px 0 0; }
.tabs .tab-buttons button[aria-selected=true] { background:var(--bg); font-weight:600; color:var(--accent); }
.tabs .tab-panel { padding:8px 0; }
.tabs .tab-panel[hidden] { display:none; }
.badges span { display:inline-block; background:var(--panel); border:1px solid var(--line); border-radius:10px;
  padding:1px 8px; margin:2px 4px 2px 0; font-size:12px; }
.verdict { border:1px solid var(--line); border-left:6px solid var(--muted); border-radius:6px; padding:8px 14px; margin:6px 0; }
.verdict-good { border-left-color:var(--ok); } .verdict-bad { border-left-color:var(--bad); } .verdict-neutral { border-left-color:var(--warn); }
.verdict-line { font-size:16px; font-weight:600; margin:4px 0 8px; }
ul.warnings { margin:6px 0; padding-left:20px; color:var(--warn); }
.chart { width:100%; min-height:280px; }
.chart-grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(460px, 1fr)); gap:8px 16px; }
.chart-cell { min-width:0; }
@media (max-width: 900px) { .grid figure { max-width:100%; } main, header.report, nav.toc { padding-left:12px; padding-right:12px; } }
@media print {
  nav.toc, .table-tools, .tabs .tab-buttons { display:none !important; }
  body { font-size:11px; }
  main { max-width:none; padding:0; }
  details.section { border:none; page-break-inside:auto; }
  details.section > summary { background:none; font-size:14px; border-bottom:1px solid #999; }
  .tabs .tab-panel, .tabs .tab-panel[hidden] { display:block !important; }
  .scroll { max-height:none; overflow:visible; border:none; }
  pre { max-height:none; white-space:pre-wrap; word-break:break-all; }
  figure, .chart { page-break-inside:avoid; break-inside:avoid; }
  .chart-grid { display:block; }
  .modebar-container { display:none !important; }
  th { position:static; }
  tr { page-break-inside:avoid; }
}
"""

REPORT_JS = """
(function () {
  "use strict";
  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim() : v;
  }
  function asNumber(text) {
    if (text === "" || text === null) { return NaN; }
    var n = Number(text);
    return isFinite(n) ? n : NaN;
  }
  function sortBy(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var body = table.tBodies[0];
    var direction = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", direction);
    var sign = direction === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index), y = cellKey(b, index);
      if (x === "" && y !== "") { return 1; }
      if (y === "" && x !== "") { return -1; }
      var nx = asNumber(x), ny = asNumber(y);
      if (!isNaN(nx) && !isNaN(ny)) { return sign * (nx - ny); }
      if (!isNaN(nx)) { return -1; }
      if (!isNaN(ny)) { return 1; }
      return sign * x.localeCompare(y);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function applyFilters(tableId) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var text = document.querySelector('input.table-filter[data-table="' + tableId + '"]');
    var query = text ? text.value.trim().toLowerCase() : "";
    var selects = document.querySelectorAll('select.table-select[data-table="' + tableId + '"]');
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], visible = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
      for (var s = 0; s < selects.length && visible; s++) {
        var want = selects[s].value, col = Number(selects[s].getAttribute("data-col"));
        if (want && cellKey(row, col) !== want) { visible = false; }
      }
      row.hidden = !visible;
      if (visible) { shown++; }
    }
    var counter = document.querySelector('.row-count[data-table="' + tableId + '"]');
    if (counter) { counter.textContent = shown + " of " + rows.length + " rows"; }
  }
  function selectTab(button) {
    var tabs = button.closest(".tabs");
    Array.prototype.forEach.call(tabs.querySelectorAll(":scope > .tab-buttons > button"), function (b) {
      var on = b === button;
      b.setAttribute("aria-selected", on ? "true" : "false");
      var panel = document.getElementById(b.getAttribute("data-tab"));
      if (panel) { panel.hidden = !on; }
    });
  }
  function setAllDetails(open) {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = open; });
  }
  function drawCharts() {
    var drawn = [];
    if (!window.Plotly) { return drawn; }
    Array.prototype.forEach.call(document.querySelectorAll("script[data-chart]"), function (data) {
      var div = document.getElementById(data.getAttribute("data-chart"));
      var spec = JSON.parse(data.textContent);
      drawn.push(window.Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false}));
    });
    return drawn;
  }
  function resizeCharts(root) {
    if (!window.Plotly) { return; }
    Array.prototype.forEach.call(root.querySelectorAll(".chart.js-plotly-plot"), function (div) {
      window.Plotly.Plots.resize(div);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th"), function (th) {
      th.addEventListener("click", function () { sortBy(th); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input.table-filter, select.table-select"), function (el) {
      el.addEventListener("input", function () { applyFilters(el.getAttribute("data-table")); });
      el.addEventListener("change", function () { applyFilters(el.getAttribute("data-table")); });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".tabs > .tab-buttons > button"), function (b) {
      b.addEventListener("click", function () { selectTab(b); });
    });
    var expand = document.getElementById("expand-all"), collapse = document.getElementById("collapse-all");
    if (expand) { expand.addEventListener("click", function () { setAllDetails(true); }); }
    if (collapse) { collapse.addEventListener("click", function () { setAllDetails(false); }); }
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) {
      d.addEventListener("toggle", function () { if (d.open) { resizeCharts(d); } });
    });
    Promise.all(drawCharts()).then(function () { document.body.setAttribute("data-ready", "true"); });
  });
  window.addEventListener("beforeprint", function () { setAllDetails(true); resizeCharts(document); });
})();
"""


@functools.cache
def plotly_js() -> str:
    """plotly.js as the `plotly` package ships it (`plotly/package_data/plotly.min.js`, ~4.8 MB):
    inlined in a page that has charts, never fetched."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js").read_text(encoding="utf-8")


@functools.cache
def script_hash(script: str) -> str:
    """The CSP source that lets exactly this inline script run: `'sha256-<base64 digest>'`."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def content_security_policy(*scripts: str) -> str:
    """CSP for a report: nothing may be fetched; only the report's own scripts (by hash) may run."""
    allowed = " ".join(script_hash(s) for s in (scripts or (REPORT_JS,)))
    return f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {allowed}; base-uri 'none'; form-action 'none'"
