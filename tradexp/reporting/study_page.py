"""The HPO study report page: settings, search space, history, importances, trials, pruning, time.

build_study_html(collect_study(client, "lstm-study"))   # pure: StudyData in, HTML out (see `publish.study_report`)
"""

from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from callbacks.redaction import strip_credentials
from tradexp.reporting.charts import history_chart
from tradexp.reporting.figures import draw_importances, draw_intermediate, draw_parallel
from tradexp.reporting.markup import (
    Html,
    chart,
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
    section,
    status_badge,
    table,
    verdict_card,
    when,
)
from tradexp.reporting.read_study import StudyData
from tradexp.reporting.study_info import (
    history_info,
    importance_info,
    intermediate_info,
    log_scaled_params,
    parallel_info,
    pruning_info,
    study_headline_info,
    time_info,
    trials_frame,
)

__all__ = ["build_study_html"]


# Optuna's figures on the parent run that this report draws itself from the same numbers: shown once.
_DRAWN_HERE = ("plots/optimization_history.png", "plots/param_importances.png", "plots/parallel_coordinate.png", "plots/intermediate_values.png")


def _redacted(value: Any) -> Any:
    """Settings with `user:password@` removed from every URL (storage URLs may carry them)."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return strip_credentials(value) if isinstance(value, str) and "://" in value else value


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if hasattr(value, "item"):  # numpy scalar -> Python
        return value.item()
    return value


def _trials_table(frame: pd.DataFrame, params: list[str], best: Optional[int]) -> Html:
    columns = ["number", "state", "value", "epochs", "duration_s", *params, "run_name", "run_id"]
    rows = [[_cell(rec.get(c)) for c in columns] for rec in frame.to_dict("records")]
    classes = ["best" if best is not None and rec["number"] == best else "" for rec in frame.to_dict("records")]
    headers = ["trial", "state", "value", "epochs", "duration (s)", *params, "run", "run id"]
    return table(headers, rows, filterable=True, select_columns=[1], row_classes=classes, scroll=len(rows) > 25, table_id="trial-table")


def _best(study: StudyData, frame: pd.DataFrame, params: list[str], best: Optional[int]) -> list[Html]:
    if best is None:
        return [missing("a completed trial")]
    row = frame[frame["number"] == best].iloc[0]
    items: dict[str, Any] = {"trial": best, f"value ({study.metric})": _cell(row["value"]), "state": row["state"], "run id": _cell(row["run_id"])}
    items.update({f"param {p}": _cell(row[p]) for p in params})
    out: list[Html] = [kv_table(items)]
    trial_run = next((t for t in study.trials if t.run_id == row["run_id"]), None)
    test = {k: v for k, v in (trial_run.metrics if trial_run else {}).items() if k.startswith("test/")}
    if test:
        out += [heading("Test score of the best trial (not used for selection)"), table(["metric", "value"], sorted(test.items()))]
    for run in study.related:
        scores = {k: v for k, v in run.metrics.items() if k.startswith("test/")}
        out.append(heading(f"Related run {run.name} ({run.type or 'run'})"))
        out.append(table(["metric", "value"], sorted(scores.items())) if scores else missing("test metrics"))
    if not test and not study.related:
        out.append(missing("a test score of the best configuration"))
    if study.parent.metrics:
        out.append(heading("Metrics on the study run"))
        out.append(table(["metric", "value"], sorted(study.parent.metrics.items())))
    return out


def _pruning(study: StudyData, frame: pd.DataFrame) -> list[Html]:
    info = pruning_info(frame)
    items = {
        "trials": info.n_trials,
        **{f"trials {state}": n for state, n in sorted(info.counts.items())},
        "pruned share": info.pruned_fraction,
        "mean epochs (complete)": info.mean_epochs_complete,
        "mean epochs (pruned)": info.mean_epochs_pruned,
        "longest trial (epochs)": info.max_epochs,
        "epochs saved by pruning (share)": info.epochs_saved_fraction,
    }
    out: list[Html] = [kv_table({k: v for k, v in items.items() if v is not None})]
    if info.pruned_at:
        out.append(table(["pruned after epoch", "trials"], info.pruned_at.items()))
    png = draw_intermediate(intermediate_info(study, frame), study.metric or "objective")
    out.append(image(png, "intermediate values") if png else missing("per-epoch values of the trials"))
    return out


def _time(study: StudyData, frame: pd.DataFrame) -> list[Html]:
    info = time_info(study, frame)
    out: list[Html] = [kv_table({"wall time": duration_text(info.wall_s), "sum of trial durations": duration_text(info.trials_total_s)})]
    if info.by_state:
        rows = [[state, n, total, mean, median] for state, (n, total, mean, median) in sorted(info.by_state.items())]
        out.append(table(["state", "trials", "total (s)", "mean (s)", "median (s)"], rows))
    return out


def _verdict(study: StudyData, frame: pd.DataFrame) -> Html:
    info = study_headline_info(study, frame)
    metric = study.metric or "objective"
    if info.best_number is None:
        return verdict_card("No completed trial yet: no best configuration to judge.", kv_table({"trials": len(frame)}), info.warnings)
    line = f"Best trial {info.best_number}: {metric} {fmt_value(info.best_value)}"
    if info.median_value is not None:
        line += f", median trial {fmt_value(info.median_value)} (difference {fmt_value(info.gap)}"
        line += f", {info.gap_iqr:.1f} interquartile ranges)" if info.gap_iqr is not None else ")"
    if info.deflated_sharpe is not None:
        line += f"; deflated Sharpe {info.deflated_sharpe:.2f} over {info.deflated_n_trials} trials"
    facts = {
        "best trial": info.best_number,
        f"best {metric}": info.best_value,
        f"median {metric} (completed trials)": info.median_value,
        "best - median": info.gap,
        "|best - median| / interquartile range": info.gap_iqr,
        "share of other completed trials it beats": info.better_than,
        "completed trials": info.n_complete,
        "deflated Sharpe (P[Sharpe > 0] after the search)": info.deflated_sharpe,
        "trials the deflation counts": info.deflated_n_trials,
        "validation Sharpe of the best trial (per period)": info.best_val_sharpe,
        "median validation Sharpe (completed trials)": info.median_val_sharpe,
    }
    tone = "good" if info.deflated_sharpe is not None and info.deflated_sharpe >= 0.95 else "bad" if info.deflated_sharpe is not None else "neutral"
    return verdict_card(line + ".", kv_table({k: v for k, v in facts.items() if v is not None}), info.warnings, tone=tone)


def build_study_html(study: StudyData) -> Html:
    """The study report of a collected study (pure: no I/O apart from opening the Optuna storage)."""
    frame, params = trials_frame(study)
    metric = study.metric or "objective"
    hist = history_info(frame, study.direction)
    counts = frame["state"].value_counts().to_dict()
    parent = study.parent
    overview = {
        "study": study.name,
        "parent run": parent.name,
        "parent run id": parent.run_id,
        "experiment": parent.experiment_name,
        "status": status_badge(parent.status),
        "objective": f"{metric} ({study.direction})",
        "trials": len(frame),
        **{f"trials {k}": v for k, v in sorted(counts.items())},
        "best trial": hist.best_number,
        "best value": hist.best_value,
        "started": when(parent.start_time),
        "ended": when(parent.end_time) if parent.status != "RUNNING" else "(running)",
    }
    shown = _redacted(study.settings)
    if study.search_space and isinstance(shown.get("settings"), dict):  # the space has its own table below
        shown["settings"] = {k: v for k, v in shown["settings"].items() if k != "search_space"}
    settings = [heading("Settings (hpo/study.json)"), json_view(shown) if shown else missing("study settings")]
    settings += [heading("Search space (hpo/search_space.json)"), json_view(study.search_space) if study.search_space else missing("search space")]
    if not study.search_space and params:
        settings.append(note("searched params inferred from the trials: " + ", ".join(params)))
    imp = importance_info(study, frame, params)
    imp_png = draw_importances(imp)
    importances = [note(f"method: {imp.method}")]
    importances += (
        [image(imp_png, "parameter importances"), table(["param", "importance"], imp.importances.items())] if imp_png else [missing("importances (needs completed trials)")]
    )
    par_png = draw_parallel(parallel_info(frame, params, metric, sorted(log_scaled_params(study.search_space))))
    plots = {p: png for p, png in parent.pngs("plots/").items() if p not in _DRAWN_HERE}
    sections = [
        section("Verdict", _verdict(study, frame)),
        section("Study", kv_table({k: v for k, v in overview.items() if v is not None})),
        section("Settings and search space", settings),
        section("Optimisation history", chart(history_chart(hist, metric, study.direction), "optimisation history") if hist.numbers else missing("completed trials")),
        section("Importances", importances),
        section("Parallel coordinates", image(par_png, "parallel coordinates") if par_png else missing("two or more searched params with completed trials")),
        section("Trials", _trials_table(frame, params, hist.best_number)),
        section("Best trial", _best(study, frame, params, hist.best_number)),
        section("Pruning", _pruning(study, frame)),
        section("Time spent", _time(study, frame)),
        section("Other study plots", figure_grid(plots) if plots else missing("other study plots (plots/*.png on the study run)"), open=False),
    ]
    subtitle = f"HPO study report · {parent.experiment_name} · {len(frame)} trials · best {metric} {fmt_value(hist.best_value)}"
    return page(f"Study {study.name}", subtitle, sections, kind="study")
