"""The training report page: everything one run recorded, as one self-contained HTML document.

build_run_html(collect_run(client, run_id))        # pure: RunData in, HTML out (see `publish.run_report`)
"""

from __future__ import annotations

import json
from typing import Any, Optional

from tradexp.metric_direction import lower_is_better
from tradexp.reporting.read_runs import RunData
from tradexp.reporting.charts import curve_chart, drawdown_chart, lines_chart, pr_chart, roc_chart
from tradexp.reporting.markup import (
    Html,
    chart,
    chart_grid,
    duration_text,
    figure_grid,
    fmt_value,
    heading,
    image,
    json_view,
    kv_table,
    missing,
    note,
    page,
    pre,
    section,
    status_badge,
    sub_section,
    table,
    tabs,
    verdict_card,
    when,
)
from tradexp.evaluation.headline import Headline
from tradexp.reporting.universe_info import universe_info
from tradexp.reporting.run_info import equity_curves_info, learning_curve_info, metric_groups, prediction_curves, run_headline_info

__all__ = ["build_run_html"]

_DATA_PLOTS = ("plots/feature_histograms.png", "plots/correlation.png", "plots/drift.png", "plots/label_balance.png")
# Drawn in their own sections (the learning curves from the metric histories, not the callback PNG).
_OWN_PLOTS = ("plots/learning_curves.png", *_DATA_PLOTS)
_DISTRIBUTION_MAIN = ("summary", "labels", "n_samples")


def _summary(run: RunData) -> list[Html]:
    tags = run.tags
    splits = run.json("data/splits.json") or {}
    git = run.json("environment/git.json") or {}
    dataset = run.datasets[0] if run.datasets else {}
    items: dict[str, Any] = {
        "run name": run.name,
        "run id": run.run_id,
        "experiment": run.experiment_name,
        "status": status_badge(run.status),
        "type": tags.get("tradexp.type", ""),
        "model": tags.get("tradexp.model", ""),
        "stage": tags.get("tradexp.stage", ""),
        "purpose": tags.get("tradexp.purpose", ""),
        "started": when(run.start_time),
        "ended": when(run.end_time) if run.status != "RUNNING" else "(still running when this report was written)",
        "duration": duration_text(run.duration_s),
        "git commit": git.get("commit") or tags.get("tradexp.git.commit") or tags.get("mlflow.source.git.commit", ""),
        "git branch": git.get("branch") or tags.get("mlflow.source.git.branch", ""),
        "git dirty": git.get("dirty", tags.get("tradexp.git.dirty", "")),
        "dataset": splits.get("dataset") or tags.get("tradexp.dataset") or dataset.get("name", ""),
        "data digest": splits.get("digest") or tags.get("tradexp.dataset.digest") or dataset.get("digest", ""),
        "data source": splits.get("source") or dataset.get("source", ""),
    }
    if splits:
        items.update({"bars": splits.get("n_bars"), "first bar": splits.get("first_bar"), "last bar": splits.get("last_bar"), "embargo (bars)": splits.get("embargo_bars")})
    for key in ("tradexp.error", "tradexp.callback_errors"):
        if key in tags:
            items[key] = tags[key]
    out: list[Html] = [kv_table({k: v for k, v in items.items() if v not in (None, "")})]
    bounds = splits.get("boundaries") or {k.removeprefix("tradexp.split."): v for k, v in tags.items() if k.startswith("tradexp.split.")}
    samples = splits.get("samples", {})
    names = [n for n in ("train", "val", "test") if f"{n}_start" in bounds or n in samples]
    if names:
        rows = [[n, bounds.get(f"{n}_start", ""), bounds.get(f"{n}_end", ""), samples.get(n)] for n in names]
        out += [heading("Splits"), table(["split", "first window end", "last window end", "samples"], rows, sortable=False)]
    else:
        out.append(missing("split dates"))
    out.append(sub_section(f"All tags ({len(tags)})", table(["tag", "value"], sorted(tags.items()), filterable=True)))
    return out


def _configuration(run: RunData) -> list[Html]:
    panels = []
    text = run.text("config/config.yaml")
    if text is not None:
        panels.append(("config/config.yaml", pre(text)))
    if run.params:
        panels.append((f"params ({len(run.params)})", table(["param", "value"], sorted(run.params.items()), filterable=True, scroll=True)))
    return [tabs(panels)] if panels else [missing("configuration")]


def _architecture(run: RunData) -> list[Html]:
    out: list[Html] = []
    png = run.files.get("model/architecture.png")
    if png:
        out.append(image(png, "architecture diagram", "model/architecture.png"))
    summary = run.text("model/summary.txt")
    if summary:
        out.append(pre(summary))
    arch = run.json("model/architecture.json")
    if arch is not None:
        out.append(sub_section("model/architecture.json", json_view(arch)))
    if not out:
        out.append(note(f"net: {run.params.get('model.net.class_path', 'unknown')}"))
        out.append(missing("architecture summary and diagram"))
    return out


def _data(run: RunData) -> list[Html]:
    out: list[Html] = []
    dist = run.json("data/distribution.json")
    drift = run.csv("data/drift.csv")
    if isinstance(dist, dict):
        shown = {k: v for k, v in dist.items() if k in _DISTRIBUTION_MAIN or len(json.dumps(v, default=str)) < 600}
        more = {k: v for k, v in dist.items() if k not in shown and not (k == "drift" and drift is not None)}
        out.append(json_view(shown))
        if more:
            out.append(sub_section(f"More from data/distribution.json: {', '.join(map(str, more))}", json_view(more)))
    elif dist is not None:
        out.append(json_view(dist))
    else:
        out.append(missing("data distributions (data/distribution.json)"))
    if drift is not None:
        out += [heading("Drift (data/drift.csv)"), table(list(drift.columns), drift.itertuples(index=False), filterable=True, scroll=True)]
    plots = {p: run.files[p] for p in _DATA_PLOTS if p in run.files}
    if plots:
        out.append(figure_grid(plots))
    scaler = run.json("data/scaler.json")
    if scaler is not None:
        out.append(sub_section("Scaler fitted on the training rows (data/scaler.json)", json_view(scaler)))
    return out


def _final_values(run: RunData, keys: list[str]) -> Html:
    epochs = {p.step: p.value for p in run.histories.get("epoch", [])}
    rows = []
    for key in keys:
        points = run.histories[key]
        values = [p.value for p in points]
        best = min(range(len(values)), key=values.__getitem__) if lower_is_better(key) else max(range(len(values)), key=values.__getitem__)
        at = int(epochs[points[best].step]) if points[best].step in epochs else f"step {points[best].step}"
        rows.append([key, values[-1], values[best], at, len(values)])
    return table(["metric", "last", "best", "best at epoch", "points"], rows, table_id="final-values")


def _learning_curves(run: RunData) -> list[Html]:
    panels = learning_curve_info(run.histories)
    if not panels:
        return [missing("metric histories")]
    grid = chart_grid([chart(curve_chart(p), f"learning curves: {p.title}") for p in panels])
    return [grid, _final_values(run, sorted(s.label for p in panels for s in p.series))]


def _equity(run: RunData) -> list[Html]:
    info = equity_curves_info(run.csv("evaluation/equity.csv"))
    if info is None:
        return [missing("equity curves (evaluation/equity.csv)")]
    out: list[Html] = [chart(lines_chart(info.curves, "Equity after costs on the test split", "equity"), "equity curves")]
    if info.drawdown is not None:
        out.append(chart(drawdown_chart(info.drawdown, info.max_drawdown), "drawdown"))
    return out


def _roc_pr(run: RunData) -> list[Html]:
    roc, pr = prediction_curves(run.csv("predictions/test_predictions.csv"))
    if roc is None and pr is None:
        return [missing("ROC and precision-recall (predictions/test_predictions.csv of a classifier)")]
    charts = ([chart(roc_chart({"model": roc}), "ROC curve")] if roc else []) + ([chart(pr_chart({"model": pr}), "precision-recall curve")] if pr else [])
    return [chart_grid(charts)]


def _metrics(run: RunData) -> list[Html]:
    groups = metric_groups(run.metrics)
    out: list[Html] = [heading("Classification / regression (test split)")]
    out.append(table(["metric", "value"], groups.test.items()) if groups.test else missing("test metrics"))
    out.append(heading("Trading (test split)"))
    if groups.trading or groups.baselines:
        names = list(dict.fromkeys([*groups.trading, *(k for b in groups.baselines.values() for k in b)]))
        baselines = list(groups.baselines)
        rows = [[n, groups.trading.get(n), *(groups.baselines[b].get(n) for b in baselines)] for n in names]
        out.append(table(["metric", "model", *(f"baseline: {b}" for b in baselines)], rows))
    else:
        out.append(missing("trading metrics"))
    trading_csv = run.csv("evaluation/trading.csv")
    if trading_csv is not None:
        out.append(sub_section("evaluation/trading.csv", table(list(trading_csv.columns), trading_csv.itertuples(index=False))))
    out.append(heading("Significance"))
    sig = run.json("evaluation/significance.json")
    if groups.significance:
        out.append(table(["test", "value"], groups.significance.items()))
    if sig is not None:
        out.append(sub_section("evaluation/significance.json", json_view(sig)))
    if not groups.significance and sig is None:
        out.append(missing("significance tests"))
    if groups.validation:
        out.append(sub_section(f"Final validation metrics ({len(groups.validation)})", table(["metric", "value"], groups.validation.items())))
    if groups.other:
        out.append(sub_section(f"Other metrics ({len(groups.other)})", table(["metric", "value"], groups.other.items())))
    return out


def _universe(run: RunData) -> list[Html]:
    info = universe_info(run.csv("evaluation/by_symbol.csv"), run.csv("evaluation/xs_by_date.csv"), run.metrics)
    if info is None:
        return [missing("per-symbol results (evaluation/by_symbol.csv: the run is one series, not a universe)")]
    out: list[Html] = [heading("Ranking across symbols (test split, dates as the unit)")]
    out.append(table(["metric", "value"], [[f"test/xs/{k}", v] for k, v in info.headline.items()]))
    if info.ic:
        out.append(chart(lines_chart(info.ic, "Rank IC per date (Spearman of pred vs forward return)", "rank IC"), "rank IC over time"))
    if info.quantile_returns:
        out.append(sub_section("Mean return per prediction quantile (1 = lowest)", table(["quantile", "mean return per step"], info.quantile_returns), open=True))
    out.append(heading(f"Per symbol ({len(info.by_symbol)}; click a column to sort)"))
    out.append(table(list(info.by_symbol.columns), info.by_symbol.itertuples(index=False), filterable=True, table_id="by-symbol"))
    return out


def _plots(run: RunData) -> list[Html]:
    drawn_here = set(_OWN_PLOTS)
    if equity_curves_info(run.csv("evaluation/equity.csv")) is not None:
        drawn_here |= {"plots/equity.png", "plots/drawdown.png"}  # TradingEvaluation's, drawn above interactively
    if any(prediction_curves(run.csv("predictions/test_predictions.csv"))):
        drawn_here |= {"plots/roc.png", "plots/pr.png"}  # EvaluationPlots', drawn above interactively
    plots = {p: png for p, png in run.pngs("plots/").items() if p not in drawn_here}
    return [figure_grid(plots)] if plots else [missing("evaluation plots (plots/*.png)")]


def _environment(run: RunData) -> list[Html]:
    out: list[Html] = []
    env = run.json("environment/environment.json")
    if isinstance(env, dict):
        packages = env.get("packages") if isinstance(env.get("packages"), dict) else None
        rest = {k: v for k, v in env.items() if k != "packages" and not (k == "git" and "environment/git.json" in run.files)}
        out.append(json_view(rest))
        if packages:
            out.append(sub_section(f"Packages ({len(packages)})", table(["package", "version"], sorted(packages.items()), filterable=True, scroll=True)))
    elif run.text("environment/packages.txt"):
        out.append(sub_section("environment/packages.txt", pre(run.text("environment/packages.txt") or "")))
    else:
        out.append(missing("environment (environment/environment.json)"))
    git = run.json("environment/git.json")
    if isinstance(git, dict):
        out += [heading("Git"), json_view({k: v for k, v in git.items() if k != "diff"})]
    diff = run.text("environment/git_diff.patch")
    if diff:
        out.append(sub_section("Uncommitted changes (environment/git_diff.patch)", pre(diff)))
    if run.artifacts:
        rows = [[p, size] for p, size in sorted(run.artifacts.items()) if size is not None]
        out.append(sub_section(f"Artifacts of the run ({len(rows)} files)", table(["path", "bytes"], rows, filterable=True, scroll=True)))
    return out


def _number(value: Optional[float], digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def verdict_line(info: Headline) -> str:
    """The run's answer in one sentence: Sharpe after costs vs buy-and-hold, drawdown, verdict."""
    if info.sharpe is None:
        return "No trading evaluation on the test split (test/trading/*): nothing to weigh against buy-and-hold."
    versus = "beats" if info.beats_buy_and_hold else "does not beat" if info.beats_buy_and_hold is not None else "vs"
    line = f"Sharpe after costs {_number(info.sharpe)} {versus} buy-and-hold ({_number(info.buy_hold_sharpe)})"
    if info.max_drawdown is not None:
        line += f"; max drawdown {info.max_drawdown:.1%}"
    if info.verdict is not None:
        line += f"; {info.verdict} (p = {info.sharpe_pvalue:.3f})"
    if info.n_samples is not None:
        line += f"; {info.n_samples} test samples"
    return line + "."


def _verdict(run: RunData) -> Html:
    info = run_headline_info(run)
    facts = {
        "Sharpe after costs (annualised)": info.sharpe,
        "buy-and-hold Sharpe": info.buy_hold_sharpe,
        "max drawdown": info.max_drawdown,
        "Sharpe interval (bootstrap)": None if info.sharpe_ci_low is None else f"{info.sharpe_ci_low:.2f} to {info.sharpe_ci_high:.2f}",
        "p-value (Sharpe > 0, 1 - PSR)": info.sharpe_pvalue,
        "verdict": info.verdict,
        "direction accuracy": info.accuracy,
        "accuracy p-value (binomial)": info.accuracy_pvalue,
        "test samples (non-overlapping)": info.n_samples,
        "test period (years of bars)": info.years,
    }
    good = info.verdict == "significant" and bool(info.beats_buy_and_hold)
    tone = "good" if good and not info.warnings else "bad" if info.verdict == "not significant" else "neutral"
    return verdict_card(verdict_line(info), kv_table({k: v for k, v in facts.items() if v is not None}), info.warnings, tone=tone)


def build_run_html(run: RunData) -> Html:
    """The training report of a collected run (pure: no I/O)."""
    sections = [
        section("Verdict", _verdict(run)),
        section("Summary", _summary(run)),
        section("Configuration", _configuration(run)),
        section("Architecture", _architecture(run)),
        section("Data", _data(run)),
        section("Learning curves", _learning_curves(run)),
        section("Test metrics", _metrics(run)),
        section("Equity and drawdown", _equity(run)),
        section("ROC and precision-recall", _roc_pr(run)),
        *([section("Universe", _universe(run))] if run.csv("evaluation/by_symbol.csv") is not None else []),
        section("Evaluation plots", _plots(run)),
        section("Environment", _environment(run), open=False),
    ]
    test_acc = run.metrics.get("test/acc")
    headline = f" · test/acc {fmt_value(test_acc)}" if test_acc is not None else ""
    subtitle = f"training report · {run.experiment_name} · {run.status}{headline} · run {run.run_id}"
    return page(f"Run {run.name}", subtitle, sections, kind="training")
