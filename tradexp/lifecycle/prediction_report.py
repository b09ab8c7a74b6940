"""A short self-contained HTML page of one prediction run (Jinja2, every value escaped)."""

from __future__ import annotations

from typing import Any, Mapping

import jinja2

from tradexp.lifecycle.decay import DecayInfo

__all__ = ["render_prediction_report", "PREDICTION_REPORT_FILE"]

PREDICTION_REPORT_FILE = "report/prediction_report.html"

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prediction {{ lineage.get("model_uri", "") }}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.verdict{font-size:1.2em;padding:.4em .8em;display:inline-block;border-radius:4px}
.ok{background:#e3f4e3}.bad{background:#fbe3e3}.na{background:#eee}.warn{color:#a35a00}
</style></head><body>
<h1>Prediction run</h1>
<p class="verdict {{ css }}">{{ decay.verdict }}</p>
<p><small>Test: {{ decay.test }} (alpha = {{ decay.alpha }}).</small></p>
{% for w in warnings %}<p class="warn">{{ w }}</p>{% endfor %}
<h2>Lineage</h2>
<table>{% for k, v in lineage.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>New bars beside the backtest</h2>
<table><tr><th></th><th>new bars</th><th>backtest (test split)</th><th>p (new worse)</th></tr>
<tr><td>hit rate</td><td>{{ fmt(decay.hit_rate) }}</td><td>{{ fmt(decay.backtest_hit_rate) }}</td><td>{{ fmt(decay.hit_rate_pvalue) }}</td></tr>
<tr><td>Sharpe after costs (annualised)</td><td>{{ fmt(decay.sharpe) }}</td><td>{{ fmt(decay.backtest_sharpe) }}</td><td>{{ fmt(decay.return_pvalue) }}</td></tr>
<tr><td>realised steps</td><td>{{ decay.n_steps }}</td><td>{{ decay.backtest_steps }}</td><td></td></tr></table>
<h2>Feature drift against the training distribution</h2>
{% if decay.drift %}<table><tr><th>feature</th><th>PSI</th><th>KS</th><th>KS p</th><th>mean train</th><th>mean new</th></tr>
{% for r in decay.drift %}<tr><td>{{ r.feature }}</td><td>{{ fmt(r.psi) }}</td><td>{{ fmt(r.ks_stat) }}</td><td>{{ fmt(r.ks_pvalue) }}</td><td>{{ fmt(r.mean_train) }}</td><td>{{ fmt(r.mean_split) }}</td></tr>{% endfor %}
</table><p><small>PSI: &lt; 0.1 stable, 0.1-0.25 moderate shift, &gt; 0.25 large shift.</small></p>
{% else %}<p>No drift computed (no training reference in the model).</p>{% endif %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_prediction_report(decay: DecayInfo, lineage: Mapping[str, Any], warnings: list[str]) -> str:
    """The page: verdict and its test, lineage, new-vs-backtest table, drift table."""
    css = {"consistent with backtest": "ok", "degraded": "bad"}.get(decay.verdict, "na")
    return _ENV.from_string(_TEMPLATE).render(decay=decay, lineage=dict(lineage), warnings=warnings, css=css, fmt=_fmt)
