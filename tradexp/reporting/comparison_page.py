"""The comparison report page: several runs side by side.

build_comparison_html(collect_runs(client, ids), metric="test/acc")   # pure (see `publish.compare_report`)
"""

from __future__ import annotations

from typing import Optional, Sequence

from tradexp.metric_direction import lower_is_better
from tradexp.reporting.comparison_info import HEADLINE_METRICS, Winner, winner_info
from tradexp.reporting.read_runs import RunData
from tradexp.reporting.charts import curve_chart, lines_chart, pr_chart, roc_chart
from tradexp.reporting.markup import Html, chart, chart_grid, fmt_value, heading, join, missing, note, page, section, table, tabs, verdict_card
from tradexp.reporting.run_info import differing_params, equity_series, is_seed_key, overlay_curve_info, prediction_curves, seed_groups

__all__ = ["build_comparison_html", "comparison_metrics"]

_MAX_METRIC_COLUMNS = 40


def comparison_metrics(runs: Sequence[RunData], metric: Optional[str] = None) -> dict[str, list[str]]:
    """Metric columns by group: headline (the chosen metric, then `test/<name>`), trading
    (`test/trading/...`), cross-sectional (a universe's `test/xs/...`), validation (`val/...`) and
    other (baselines, significance, per-symbol, data, ...)."""
    names = sorted({k for r in runs for k in r.metrics if k != "epoch"})
    groups: dict[str, list[str]] = {"headline": [], "trading": [], "cross-sectional": [], "validation": [], "other": []}
    if metric in names:
        groups["headline"].append(metric)
    for key in names:
        if key == metric:
            continue
        if key.startswith("test/trading/"):
            groups["trading"].append(key)
        elif key.startswith("test/xs/"):
            groups["cross-sectional"].append(key)
        elif key.startswith("test/") and key.count("/") == 1:
            groups["headline"].append(key)
        elif key.startswith("val/"):
            groups["validation"].append(key)
        else:
            groups["other"].append(key)
    return {name: keys for name, keys in groups.items() if keys}


def _seed_text(run: RunData, keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={run.params.get(k, '')}" for k in keys)


def _metrics_tables(runs: Sequence[RunData], groups: dict[str, list[str]], metric: Optional[str]) -> list[Html]:
    seed_keys = [k for k in differing_params([r.params for r in runs]) if is_seed_key(k)]
    classes = None
    if metric and runs:
        values = [r.metrics.get(metric) for r in runs]
        known = [v for v in values if v is not None]
        if known:
            best = min(known) if lower_is_better(metric) else max(known)
            classes = ["best" if v == best else "" for v in values]
    panels = []
    for name, keys in groups.items():
        shown = keys[:_MAX_METRIC_COLUMNS]
        seeds = ["seeds"] if seed_keys else []
        rows = [[r.name, r.run_id, r.tags.get("tradexp.model", ""), r.status, *([_seed_text(r, seed_keys)] if seed_keys else []), *(r.metrics.get(m) for m in shown)] for r in runs]
        body = [
            table(
                ["run", "run id", "model", "status", *seeds, *shown],
                rows,
                filterable=True,
                select_columns=[2],
                row_classes=classes,
                scroll=len(runs) > 20,
                table_id=f"metrics-{name}",
            )
        ]
        if len(keys) > len(shown):
            body.append(note(f"{len(keys) - len(shown)} more metrics not shown: {', '.join(keys[len(shown) :])}"))
        panels.append((f"{name} ({len(keys)})", join(body)))
    return [tabs(panels)] if panels else [missing("metrics")]


def _config_table(runs: Sequence[RunData]) -> list[Html]:
    keys = differing_params([r.params for r in runs])
    if not keys:
        return [note("All runs share one configuration (no param differs).")]
    rows = [[r.name, *(r.params.get(k, "(absent)") for k in keys)] for r in runs]
    return [note(f"{len(keys)} of {len({k for r in runs for k in r.params})} config keys differ."), table(["run", *keys], rows, filterable=True, scroll=len(runs) > 20)]


def _curves(runs: Sequence[RunData], keys: Sequence[str]) -> list[Html]:
    panels = overlay_curve_info(runs, keys)
    if not panels:
        return [missing("metric histories")]
    return [chart_grid([chart(curve_chart(p), f"overlaid learning curves: {p.title}") for p in panels])]


def _roc_pr(runs: Sequence[RunData]) -> list[Html]:
    rocs, prs = {}, {}
    for run in runs:
        roc, pr = prediction_curves(run.csv("predictions/test_predictions.csv"))
        if roc is not None:
            rocs[run.name] = roc
        if pr is not None:
            prs[run.name] = pr
    if not rocs and not prs:
        if any("predictions/test_predictions.csv" in r.files for r in runs):
            return [note("The test predictions are not 0/1 classification targets with scores (regression?): no ROC or PR curve.")]
        return [missing("classification predictions (predictions/test_predictions.csv)")]
    rows = [[name, rocs[name].auc, prs[name].average_precision if name in prs else None] for name in rocs]
    charts = ([chart(roc_chart(rocs), "ROC curves")] if rocs else []) + ([chart(pr_chart(prs), "precision-recall curves")] if prs else [])
    return [chart_grid(charts), table(["run", "AUC (from predictions)", "average precision"], rows, filterable=len(rows) > 20, scroll=len(rows) > 20)]


def _equity(runs: Sequence[RunData]) -> list[Html]:
    series = [s for s in (equity_series(r.csv("evaluation/equity.csv"), r.name) for r in runs) if s is not None]
    if not series:
        return [missing("equity curves (evaluation/equity.csv)")]
    rows = [[s.label, s.y[-1] if s.y else None, min(s.y) if s.y else None, max(s.y) if s.y else None, len(s.y)] for s in series]
    return [
        chart(lines_chart(series, "Equity after costs on the test split (evaluation/equity.csv)", "equity"), "equity curves"),
        table(["run", "final", "min", "max", "points"], rows, filterable=len(rows) > 20, scroll=len(rows) > 20),
    ]


def _seed_section(runs: Sequence[RunData], metrics: list[str]) -> list[Html]:
    groups = seed_groups(runs, metrics)
    if not groups:
        return [note("No runs repeat one configuration with different seeds.")]
    out: list[Html] = []
    for i, group in enumerate(groups, 1):
        out.append(heading(f"Group {i}: {group.label} ({len(group.run_ids)} runs)"))
        out.append(note("seeds: " + " | ".join(group.seeds)))
        rows = [[m, s.n, s.mean, s.std, s.min, s.max] for m, s in group.stats.items()]
        out.append(table(["metric", "runs", "mean", "std", "min", "max"], rows))
    return out


def _winner_line(w: Winner) -> str:
    if w.winner_value == w.runner_up_value:
        return f"{w.winner} and {w.runner_up} tie on {w.label} ({fmt_value(w.winner_value)})"
    line = f"{w.winner} wins {w.label} ({fmt_value(w.winner_value)} vs {fmt_value(w.runner_up_value)} for {w.runner_up})"
    if w.test is None:
        return line + f"; not tested: {w.why_untested}"
    word = "significant" if w.test.significant else "not significant"
    return line + f"; the difference is {word} (p = {w.test.pvalue:.3f}, {w.test.n_common} common test {HEADLINE_METRICS[w.metric].unit})"


def _verdict(runs: Sequence[RunData]) -> Html:
    winners = winner_info(runs)
    if not winners:
        return note(f"No headline metric ({', '.join(HEADLINE_METRICS)}) was recorded by two or more runs.")
    rows = []
    for w in winners:
        t = w.test
        rows.append(
            [
                w.label,
                w.winner,
                w.winner_value,
                w.runner_up,
                w.runner_up_value,
                "" if t is None else ("significant" if t.significant else "not significant"),
                None if t is None else t.pvalue,
                None if t is None else t.difference,
                "" if t is None else f"{t.ci_low:.4g} to {t.ci_high:.4g}",
                None if t is None else t.n_common,
                w.why_untested or HEADLINE_METRICS[w.metric].compared,
            ]
        )
    facts = table(
        [
            "metric",
            "winner",
            "value",
            "runner-up",
            "value",
            "difference",
            "p-value (paired block bootstrap)",
            "winner - runner-up (per bar or date)",
            "95% interval",
            "common bars or dates",
            "compared",
        ],
        rows,
        sortable=False,
        table_id="winners",
    )
    first = winners[0]
    tone = "good" if first.test is not None and first.test.significant else "neutral"
    return verdict_card(_winner_line(first) + ".", join([*(note(_winner_line(w) + ".") for w in winners[1:]), facts]), tone=tone)


def build_comparison_html(runs: Sequence[RunData], *, metric: Optional[str] = None, selection: str = "") -> Html:
    """The comparison report of collected runs (pure: no I/O)."""
    groups = comparison_metrics(runs, metric)
    headline = groups.get("headline", []) + groups.get("trading", [])
    curve_keys = ["val/loss", "train/loss"]
    if metric and metric.startswith("test/") and f"val/{metric.removeprefix('test/')}" not in curve_keys:
        curve_keys.append(f"val/{metric.removeprefix('test/')}")
    sections = [
        section("Verdict", _verdict(runs)),
        section("Runs and metrics", [note(selection)] + _metrics_tables(runs, groups, metric)),
        section("Configuration differences", _config_table(runs)),
        section("Learning curves", _curves(runs, curve_keys)),
        section("ROC and precision-recall", _roc_pr(runs)),
        section("Equity curves", _equity(runs)),
        section("Seeds: mean and spread", _seed_section(runs, headline or groups.get("validation", []))),
    ]
    experiments = sorted({r.experiment_name for r in runs})
    return page(f"Comparison of {len(runs)} runs", f"comparison report · {', '.join(experiments)}", sections, kind="comparison")
