"""The comparison report: several runs side by side, chosen by id or by a filter.

    from tradexp.reporting import compare_report
    compare_report(["<run id>", "<run id>"])
    compare_report(experiment="tradexp/development/synthetic", filter_string="tags.`tradexp.model` = 'lstm'",
                   top=5, metric="test/acc")
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path
from typing import Any, Optional, Sequence

from mlflow import MlflowClient

from tradexp import __version__
from tradexp.reporting.collect import RunData, collect_runs, lower_is_better, select_runs
from tradexp.reporting.figures import MAX_LEGEND, draw_curve_panels, draw_roc_pr, draw_series
from tradexp.reporting.publish import default_report_path, log_report, write_report
from tradexp.reporting.render import Html, esc, image, missing, note, page, section, table, tabs
from tradexp.tracking.parent_run import ParentRun
from tradexp.reporting.sections import (
    differing_params,
    equity_series,
    is_seed_key,
    overlay_curve_info,
    prediction_curves,
    seed_groups,
)
from tradexp.tracking.store import open_store

__all__ = ["build_comparison_html", "compare_report", "comparison_metrics", "COMPARISON_REPORT_FILE"]

log = logging.getLogger(__name__)

COMPARISON_REPORT_FILE = "comparison_report.html"
_MAX_METRIC_COLUMNS = 40


def comparison_metrics(runs: Sequence[RunData], metric: Optional[str] = None) -> dict[str, list[str]]:
    """Metric columns by group: headline (the chosen metric, then `test/<name>`), trading
    (`test/trading/...`), validation (`val/...`) and other (baselines, significance, data, ...)."""
    names = sorted({k for r in runs for k in r.metrics if k != "epoch"})
    groups: dict[str, list[str]] = {"headline": [], "trading": [], "validation": [], "other": []}
    if metric in names:
        groups["headline"].append(metric)
    for key in names:
        if key == metric:
            continue
        if key.startswith("test/trading/"):
            groups["trading"].append(key)
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
        body = [table(["run", "run id", "model", "status", *seeds, *shown], rows, filterable=True, select_columns=[2], row_classes=classes, scroll=len(runs) > 20, table_id=f"metrics-{name}")]
        if len(keys) > len(shown):
            body.append(note(f"{len(keys) - len(shown)} more metrics not shown: {', '.join(keys[len(shown):])}"))
        panels.append((f"{name} ({len(keys)})", Html("".join(body))))
    return [tabs(panels)] if panels else [missing("metrics")]


def _config_table(runs: Sequence[RunData]) -> list[Html]:
    keys = differing_params([r.params for r in runs])
    if not keys:
        return [note("All runs share one configuration (no param differs).")]
    rows = [[r.name, *(r.params.get(k, "(absent)") for k in keys)] for r in runs]
    return [note(f"{len(keys)} of {len({k for r in runs for k in r.params})} config keys differ."), table(["run", *keys], rows, filterable=True, scroll=len(runs) > 20)]


def _curves(runs: Sequence[RunData], keys: Sequence[str]) -> list[Html]:
    png = draw_curve_panels(overlay_curve_info(runs, keys), ncols=2)
    if png is None:
        return [missing("metric histories")]
    out = [image(png, "overlaid learning curves")]
    if len(runs) > MAX_LEGEND:
        out.append(note(f"{len(runs)} runs: no legend; the tables above name the runs."))
    return out


def _roc_pr(runs: Sequence[RunData]) -> list[Html]:
    rocs, prs = {}, {}
    for run in runs:
        roc, pr = prediction_curves(run.csv("predictions/test_predictions.csv"))
        if roc is not None:
            rocs[run.name] = roc
        if pr is not None:
            prs[run.name] = pr
    png = draw_roc_pr(rocs, prs)
    if png is None:
        if any("predictions/test_predictions.csv" in r.files for r in runs):
            return [note("The test predictions are not 0/1 classification targets with scores (regression?): no ROC or PR curve.")]
        return [missing("classification predictions (predictions/test_predictions.csv)")]
    rows = [[name, rocs[name].auc, prs[name].average_precision if name in prs else None] for name in rocs]
    return [image(png, "ROC and precision-recall curves"), table(["run", "AUC (from predictions)", "average precision"], rows, filterable=len(rows) > 20, scroll=len(rows) > 20)]


def _equity(runs: Sequence[RunData]) -> list[Html]:
    series = [s for s in (equity_series(r.csv("evaluation/equity.csv"), r.name) for r in runs) if s is not None]
    png = draw_series(series, "Equity on the test split (evaluation/equity.csv)", "equity")
    if png is None:
        return [missing("equity curves (evaluation/equity.csv)")]
    rows = [[s.label, s.y[-1] if s.y else None, min(s.y) if s.y else None, max(s.y) if s.y else None, len(s.y)] for s in series]
    return [image(png, "equity curves"), table(["run", "final", "min", "max", "points"], rows, filterable=len(rows) > 20, scroll=len(rows) > 20)]


def _seed_section(runs: Sequence[RunData], metrics: list[str]) -> list[Html]:
    groups = seed_groups(runs, metrics)
    if not groups:
        return [note("No runs repeat one configuration with different seeds.")]
    out: list[Html] = []
    for i, group in enumerate(groups, 1):
        out.append(Html(f"<h3>Group {i}: {esc(group.label)} ({len(group.run_ids)} runs)</h3>"))
        out.append(note("seeds: " + " | ".join(group.seeds)))
        rows = [[m, s.n, s.mean, s.std, s.min, s.max] for m, s in group.stats.items()]
        out.append(table(["metric", "runs", "mean", "std", "min", "max"], rows))
    return out


def build_comparison_html(runs: Sequence[RunData], *, metric: Optional[str] = None, selection: str = "") -> Html:
    """The comparison report of collected runs (pure: no I/O)."""
    groups = comparison_metrics(runs, metric)
    headline = groups.get("headline", []) + groups.get("trading", [])
    curve_keys = ["val/loss", "train/loss"]
    if metric and metric.startswith("test/") and f"val/{metric.removeprefix('test/')}" not in curve_keys:
        curve_keys.append(f"val/{metric.removeprefix('test/')}")
    sections = [
        section("Runs and metrics", [note(selection)] + _metrics_tables(runs, groups, metric)),
        section("Configuration differences", _config_table(runs)),
        section("Learning curves", _curves(runs, curve_keys)),
        section("ROC and precision-recall", _roc_pr(runs)),
        section("Equity curves", _equity(runs)),
        section("Seeds: mean and spread", _seed_section(runs, headline or groups.get("validation", []))),
    ]
    experiments = sorted({r.experiment_name for r in runs})
    return page(f"Comparison of {len(runs)} runs", f"comparison report · {', '.join(experiments)}", sections, kind="comparison")


def _selection_text(run_ids: Sequence[str], experiment: Optional[str], filter_string: str, top: Optional[int], metric: Optional[str]) -> str:
    if run_ids:
        return f"Runs chosen by id ({len(run_ids)})."
    parts = [f"experiment {experiment!r}"]
    if filter_string:
        parts.append(f"filter {filter_string!r}")
    if metric:
        parts.append(f"ordered by {metric}")
    if top:
        parts.append(f"top {top}")
    return "Runs selected by " + ", ".join(parts) + "."


def compare_report(
    run_ids: Sequence[str] = (),
    path: Optional[str | Path] = None,
    *,
    experiment: Optional[str] = None,
    filter_string: str = "",
    top: Optional[int] = None,
    metric: Optional[str] = None,
    ascending: Optional[bool] = None,
    tracking_uri: Optional[str] = None,
    log_to_mlflow: bool = True,
    client: Optional[MlflowClient] = None,
) -> Path:
    """Write a comparison report and log it into a new `comparison` run (experiment of the first run).

    Args:
        run_ids: Runs to compare; or leave empty and give `experiment` (+ `filter_string`).
        path: Where to write the HTML (default `reports/comparison_<time>.html`).
        experiment: Experiment whose runs are filtered.
        filter_string: MLflow filter, e.g. "tags.`tradexp.model` = 'lstm'".
        top: Keep the best K runs by `metric` (or the first K ids).
        metric: Order runs by this metric (best first) and highlight the best.
        ascending: Order direction; default ascending for loss-like metrics.
        tracking_uri: The store (default `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`).
        log_to_mlflow: Create the comparison run and log the report into it.
        client: An open client (overrides `tracking_uri`).

    Returns:
        The absolute path of the written file.

    Raises:
        ReportError: Unknown runs or experiment, a bad filter, or nothing selected.
    """
    client = client or open_store(tracking_uri)
    ids = select_runs(client, run_ids=run_ids, experiment=experiment, filter_string=filter_string, top=top, metric=metric, ascending=ascending)
    histories = ["train/loss", "val/loss", "epoch"] + ([f"val/{metric.removeprefix('test/')}"] if metric else [])
    runs = collect_runs(client, ids, histories=histories)
    html = build_comparison_html(runs, metric=metric, selection=_selection_text(run_ids, experiment, filter_string, top, metric))
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = write_report(html, Path(path) if path else default_report_path("comparison", stamp))
    if log_to_mlflow:
        _log_comparison_run(client, runs, html, stamp)
    log.info("comparison report of %d runs: %s", len(runs), out)
    return out


def _log_comparison_run(client: MlflowClient, runs: Sequence[RunData], html: str, stamp: str) -> str:
    ids = [r.run_id for r in runs]
    tags: dict[str, Any] = {
        "tradexp.type": "comparison",
        "tradexp.compared_count": str(len(ids)),
        "tradexp.compared_runs": ",".join(ids)[:7900],
    }
    for key in ("tradexp.stage", "tradexp.dataset"):
        values = {r.tags.get(key) for r in runs}
        if len(values) == 1 and None not in values:
            tags[key] = values.pop()
    tags["tradexp.version"] = __version__
    with ParentRun.create(client, runs[0].experiment_id, f"comparison-{len(ids)}runs-{stamp}", tags) as run:  # FINISHED/FAILED/KILLED
        client.log_text(run.run_id, json.dumps({"runs": ids}, indent=2), "report/compared_runs.json")
        log_report(client, run.run_id, html, COMPARISON_REPORT_FILE)
    return run.run_id
