"""The numbers behind the HPO study report, as pure functions over `StudyData` (no HTML, no drawing).

About 410 lines, on purpose: each section of the study page has its one NamedTuple and the function
that fills it here, so the page module only lays them out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple, Optional

import numpy as np
import pandas as pd

from tradexp.reporting.run_info import Series, differing_params, finite_float, is_seed_key
from tradexp.reporting.read_study import StudyData

__all__ = [
    "TRIAL_COLUMNS",
    "trials_frame",
    "HistoryInfo",
    "history_info",
    "ImportanceInfo",
    "importance_info",
    "simple_importances",
    "ParallelInfo",
    "parallel_info",
    "log_scaled_params",
    "intermediate_info",
    "PruningInfo",
    "pruning_info",
    "TimeInfo",
    "time_info",
    "StudyHeadline",
    "study_headline_info",
]

TRIAL_COLUMNS = ["number", "state", "value", "epochs", "duration_s", "run_id", "run_name"]
_STATE_OF_STATUS = {"FINISHED": "COMPLETE", "FAILED": "FAIL", "KILLED": "FAIL", "RUNNING": "RUNNING", "SCHEDULED": "WAITING"}


def _number(text: Any) -> Any:
    """A param string as a float when it is one, else the string."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return float(text)
    except (TypeError, ValueError):
        return str(text)


def _param_names(study: StudyData) -> list[str]:
    if study.search_space:
        return list(study.search_space)
    if study.trials_csv is not None:
        names = [_csv_param(str(c)) for c in study.trials_csv.columns if _csv_param(str(c))]
        if names:
            return names
    keys = differing_params([t.params for t in study.trials])
    return [k for k in keys if not is_seed_key(k) and not k.startswith("tracking.")]


def _csv_param(column: str) -> Optional[str]:
    """`params_model.lr` (Optuna's table) or `param.model.lr` (tradexp's) -> `model.lr`."""
    for prefix in ("params_", "param."):
        if column.startswith(prefix):
            return column[len(prefix) :]
    return None


def _child_param(params: dict[str, str], name: str) -> Optional[str]:
    name = name.replace(".init_args.", ".")  # run params are flattened without jsonargparse's init_args
    if name in params:
        return params[name]
    matches = [k for k in params if k.endswith("." + name)]
    return params[matches[0]] if len(matches) == 1 else None


def trials_frame(study: StudyData) -> tuple[pd.DataFrame, list[str]]:
    """One row per trial: number, state, value, epochs, duration, run, and the searched params.

    Trial runs in MLflow give the rows; `hpo/trials.csv` (Optuna's own table), when present,
    gives the authoritative value, state and params of each trial number and adds trials that
    have no run.

    Returns:
        The table (sorted by trial number) and the names of the param columns.
    """
    params = _param_names(study)
    rows: dict[int, dict[str, Any]] = {}
    for i, run in enumerate(study.trials):
        try:
            number = int(float(run.tags.get("tradexp.trial", "nan")))
        except ValueError:
            number = -1 - i
        history = run.histories.get(study.metric or "", [])
        row = {
            "number": number,
            "state": run.tags.get("tradexp.trial.state") or _STATE_OF_STATUS.get(run.status, run.status),
            "value": run.metrics.get(study.metric) if study.metric else None,
            "epochs": len(history) if history else None,
            "duration_s": run.duration_s,
            "run_id": run.run_id,
            "run_name": run.name,
            "start_time": run.start_time,
            "end_time": run.end_time,
        }
        row.update({p: _number(_child_param(run.params, p)) for p in params})
        rows[number] = row
    csv = study.trials_csv
    if csv is not None and "number" in csv.columns:
        for rec in csv.to_dict("records"):
            number = int(rec["number"])
            row = rows.setdefault(number, {"number": number, "run_id": None, "run_name": None, "epochs": None, "duration_s": None})
            if "state" in rec and isinstance(rec["state"], str):
                row["state"] = rec["state"].removeprefix("TrialState.")
            if "value" in rec:
                row["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
            for key in ("epochs_run", "epochs", "user_attrs_epochs_run", "user_attrs_epochs"):
                if key in rec and not pd.isna(rec[key]):
                    row["epochs"] = int(rec[key])
                    break
            if row.get("duration_s") is None:
                if "duration_s" in rec and not pd.isna(rec["duration_s"]):
                    row["duration_s"] = float(rec["duration_s"])
                elif isinstance(rec.get("duration"), str):
                    row["duration_s"] = pd.to_timedelta(rec["duration"], errors="coerce").total_seconds()
            if not row.get("run_id") and isinstance(rec.get("mlflow_run_id"), str):
                row["run_id"] = rec["mlflow_run_id"]
            for p in params:
                for column in (f"params_{p}", f"param.{p}"):
                    if column in rec:
                        row[p] = _number(rec[column])
    frame = pd.DataFrame(list(rows.values()), columns=TRIAL_COLUMNS + ["start_time", "end_time"] + params)
    frame = frame.sort_values("number", kind="stable").reset_index(drop=True)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame, params


class HistoryInfo(NamedTuple):
    """Objective value per completed trial and the best value so far."""

    numbers: list[int]
    values: list[float]
    best_so_far: list[float]
    best_number: Optional[int]
    best_value: Optional[float]


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["state"] == "COMPLETE") & frame["value"].notna()]


def history_info(frame: pd.DataFrame, direction: str) -> HistoryInfo:
    done = _complete(frame)
    values = done["value"].astype(float).to_numpy()
    if len(values) == 0:
        return HistoryInfo([], [], [], None, None)
    best = np.minimum.accumulate(values) if direction == "minimize" else np.maximum.accumulate(values)
    idx = int(np.argmin(values) if direction == "minimize" else np.argmax(values))
    numbers = [int(n) for n in done["number"]]
    return HistoryInfo(numbers, values.tolist(), best.tolist(), numbers[idx], float(values[idx]))


class ImportanceInfo(NamedTuple):
    """Importance per param (sums to 1) and how it was computed."""

    importances: dict[str, float]
    method: str


_ABSENT = "(absent)"  # a conditional param a trial did not sample


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _labels(col: pd.Series) -> list[str]:
    """Values as category labels; a missing (conditional) value is its own level."""
    return [_ABSENT if _missing(v) else str(v) for v in col]


def _numeric(col: pd.Series) -> Optional[pd.Series]:
    """The present values as floats when every present value is a number, else None."""
    present = col[[not _missing(v) for v in col]]
    values = pd.to_numeric(present, errors="coerce")
    return values.astype(float) if len(values) and values.notna().all() else None


def simple_importances(frame: pd.DataFrame, params: Sequence[str]) -> dict[str, float]:
    """Importance from the trials table: |Spearman rho| with the value for numeric params (over
    the trials that sampled them), the correlation ratio eta for categorical ones, normalised to
    sum to 1 (completed trials only)."""
    done = _complete(frame)
    raw: dict[str, float] = {}
    values = done["value"].astype(float)
    for p in params:
        if p not in done.columns or len(done) < 2:
            continue
        numeric = _numeric(done[p])
        if numeric is not None and len(numeric) >= 3:
            if numeric.nunique() < 2:
                raw[p] = 0.0
                continue
            from scipy import stats  # ~1 s to import: only the study report's fallback importances need it

            rho = stats.spearmanr(numeric.to_numpy(), values[numeric.index].to_numpy()).statistic
            raw[p] = 0.0 if not np.isfinite(rho) else abs(float(rho))
        else:
            y = values.to_numpy()
            labels = np.asarray(_labels(done[p]), dtype=object)
            groups = [y[labels == level] for level in set(labels)]
            total = ((y - y.mean()) ** 2).sum()
            between = sum(len(g) * (g.mean() - y.mean()) ** 2 for g in groups if len(g))
            raw[p] = 0.0 if total <= 0 else math.sqrt(between / total)
    norm = sum(raw.values())
    return {k: (v / norm if norm > 0 else 0.0) for k, v in sorted(raw.items(), key=lambda kv: -kv[1])}


def importance_info(study: StudyData, frame: pd.DataFrame, params: Sequence[str]) -> ImportanceInfo:
    """The importances the study stored when it ended (`hpo/importances.json`), else `simple_importances`.

    The report never opens the Optuna storage: `tradexp hpo` computes them once
    (`tradexp.hpo.importances`); a study without the file (older, or built elsewhere) gets the
    simple method over the trials table.
    """
    stored = study.importances
    if isinstance(stored, dict) and isinstance(stored.get("importances"), dict) and stored["importances"]:
        values = {str(k): float(v) for k, v in stored["importances"].items()}
        return ImportanceInfo(dict(sorted(values.items(), key=lambda kv: -kv[1])), str(stored.get("method", "stored in hpo/importances.json")))
    return ImportanceInfo(
        simple_importances(frame, params),
        "simple: |Spearman rho| (numeric) or correlation ratio eta (categorical) with the objective over completed trials, "
        "normalised to sum to 1 (hpo/importances.json absent: the study's Optuna storage was not available when it ended)",
    )


class ParallelInfo(NamedTuple):
    """Completed trials as lines across one axis per param (scaled to [0, 1]) and the objective."""

    axes: list[str]
    tick_labels: list[list[tuple[float, str]]]
    lines: np.ndarray  # (n_trials, n_axes) in [0, 1]
    values: np.ndarray  # (n_trials,)


def log_scaled_params(search_space: Optional[dict[str, Any]]) -> set[str]:
    """Params the search space samples on a log scale (`log: true` or a type naming `log`)."""
    out = set()
    for name, spec in (search_space or {}).items():
        if isinstance(spec, dict) and (spec.get("log") is True or "log" in str(spec.get("type", "")).lower()):
            out.add(name)
    return out


def parallel_info(frame: pd.DataFrame, params: Sequence[str], metric: str, log_params: Sequence[str] = ()) -> ParallelInfo:
    """Axes scaled to [0, 1] (log10 first for `log_params`); categories evenly spaced in name order."""
    done = _complete(frame)
    axes, ticks, columns = [], [], []
    for name in [*params, "value"]:
        if name not in done.columns:
            continue
        col = done[name]
        numeric = _numeric(col)
        if numeric is not None:
            lo, hi = float(numeric.min()), float(numeric.max())
            scaled = np.log10(numeric) if name in log_params and lo > 0 else numeric
            s_lo, s_hi = float(scaled.min()), float(scaled.max())
            column = np.full(len(col), -0.08)  # trials without this (conditional) param sit below the axis
            column[[col.index.get_loc(i) for i in numeric.index]] = ((scaled - s_lo) / (s_hi - s_lo or 1.0)).to_numpy(dtype=float)
            columns.append(column)
            ticks.append([(0.0, f"{lo:.3g}"), (1.0, f"{hi:.3g}")] + ([(-0.08, _ABSENT)] if len(numeric) < len(col) else []))
        else:
            labels = _labels(col)
            levels = sorted(set(labels))
            pos = {lvl: (i / (len(levels) - 1) if len(levels) > 1 else 0.5) for i, lvl in enumerate(levels)}
            columns.append(np.array([pos[lvl] for lvl in labels], dtype=float))
            ticks.append([(pos[lvl], lvl) for lvl in levels])
        axes.append(metric if name == "value" else f"{name} (log)" if name in log_params else name)
    lines = np.column_stack(columns) if columns else np.zeros((len(done), 0))
    return ParallelInfo(axes, ticks, lines, done["value"].to_numpy(dtype=float))


def intermediate_info(study: StudyData, frame: pd.DataFrame) -> list[tuple[Series, str]]:
    """Each trial's objective per epoch (from its metric history) with the trial's state."""
    state = dict(zip(frame["run_id"], frame["state"]))
    out = []
    for run in study.trials:
        points = run.histories.get(study.metric or "", [])
        if points:
            out.append((Series(run.tags.get("tradexp.trial", run.name), list(range(1, len(points) + 1)), [p.value for p in points]), str(state.get(run.run_id, ""))))
    return out


class PruningInfo(NamedTuple):
    counts: dict[str, int]
    n_trials: int
    pruned_fraction: float
    mean_epochs_complete: Optional[float]
    mean_epochs_pruned: Optional[float]
    max_epochs: Optional[int]
    epochs_saved_fraction: Optional[float]
    pruned_at: dict[int, int]


def pruning_info(frame: pd.DataFrame) -> PruningInfo:
    """Trial counts per state, when pruned trials stopped, and the share of epochs pruning saved.

    Saved share = epochs not run by pruned trials / epochs all trials would have run at the
    longest trial's length.
    """
    counts = dict(Counter(str(s) for s in frame["state"]))
    n = len(frame)
    epochs = pd.to_numeric(frame["epochs"], errors="coerce")
    pruned = frame["state"] == "PRUNED"
    complete = frame["state"] == "COMPLETE"
    max_epochs = int(epochs.max()) if epochs.notna().any() else None
    saved = None
    if max_epochs and epochs.notna().any():
        run = epochs.fillna(max_epochs)
        saved = float((max_epochs - run[pruned]).sum() / (max_epochs * n)) if n else None
    pruned_at = dict(sorted(Counter(int(e) for e in epochs[pruned].dropna()).items()))
    mean = lambda mask: float(epochs[mask].mean()) if epochs[mask].notna().any() else None  # noqa: E731
    return PruningInfo(counts, n, float(pruned.sum() / n) if n else 0.0, mean(complete), mean(pruned), max_epochs, saved, pruned_at)


class TimeInfo(NamedTuple):
    wall_s: Optional[float]
    trials_total_s: float
    by_state: dict[str, tuple[int, float, float, float]]  # state -> (n, total, mean, median) seconds


def time_info(study: StudyData, frame: pd.DataFrame) -> TimeInfo:
    """Wall time of the study (first trial start or parent start, to the last end) and time per state."""
    starts = [t for t in [study.parent.start_time, *frame["start_time"].dropna()] if t is not None]
    ends = [t for t in [study.parent.end_time, *frame["end_time"].dropna()] if t is not None]
    wall = (max(ends) - min(starts)) / 1000.0 if starts and ends else None
    durations = pd.to_numeric(frame["duration_s"], errors="coerce")
    by_state = {}
    for state, group in durations.groupby(frame["state"]):
        g = group.dropna()
        if len(g):
            by_state[str(state)] = (len(g), float(g.sum()), float(g.mean()), float(g.median()))
    return TimeInfo(wall, float(durations.sum(skipna=True)), by_state)


class StudyHeadline(NamedTuple):
    """The best trial, whether its Sharpe survives the search (deflated), and how far it sits from the median trial."""

    best_number: Optional[int]
    best_value: Optional[float]
    median_value: Optional[float]  # median objective of the completed trials
    gap: Optional[float]  # best - median, in the objective's units
    gap_iqr: Optional[float]  # |best - median| / interquartile range of the completed trials
    better_than: Optional[float]  # share of the other completed trials the best one beats
    n_complete: int
    deflated_sharpe: Optional[float]  # probability the best trial's Sharpe is above 0 after the search
    deflated_n_trials: Optional[int]
    best_val_sharpe: Optional[float]  # per-period validation Sharpe of the best trial
    median_val_sharpe: Optional[float]
    warnings: tuple[str, ...]


def study_headline_info(study: StudyData, frame: pd.DataFrame, alpha: float = 0.05) -> StudyHeadline:
    """The study's answer first: the best trial, its deflated Sharpe (`hpo/deflated_sharpe`, computed
    by `tradexp hpo` when the study ended) and its distance from the median completed trial."""
    done = _complete(frame)
    values = done["value"].astype(float).to_numpy()
    hist = history_info(frame, study.direction)
    median = float(np.median(values)) if len(values) else None
    gap = gap_iqr = better = None
    if hist.best_value is not None and median is not None:
        gap = hist.best_value - median
        q1, q3 = np.percentile(values, [25, 75])
        gap_iqr = abs(gap) / float(q3 - q1) if q3 > q1 else None
        others = np.delete(values, int(np.flatnonzero(done["number"].to_numpy() == hist.best_number)[0]))
        if len(others):
            beaten = others > hist.best_value if study.direction == "minimize" else others < hist.best_value
            better = float(beaten.mean())
    metrics, settings = study.parent.metrics, study.settings
    deflated = finite_float(metrics.get("hpo/deflated_sharpe", settings.get("deflated_sharpe")))
    n_deflated = finite_float(metrics.get("hpo/deflated_sharpe_n_trials", settings.get("deflated_sharpe_n_trials")))
    best_sharpe = finite_float(metrics.get("hpo/best_val_sharpe", settings.get("best_val_sharpe")))
    median_sharpe = None
    csv = study.trials_csv
    if csv is not None and {"val_sharpe", "state"} <= set(csv.columns):
        sharpes = pd.to_numeric(csv.loc[csv["state"].astype(str).str.endswith("COMPLETE"), "val_sharpe"], errors="coerce").dropna()
        median_sharpe = float(sharpes.median()) if len(sharpes) else None
    warnings = []
    if deflated is not None and deflated < 1 - alpha:
        warnings.append(f"deflated Sharpe {deflated:.2f} < {1 - alpha:.2f}: the best trial's Sharpe may be a product of trying {int(n_deflated or 0)} configurations")
    if deflated is None:
        warnings.append("no deflated Sharpe recorded (the trials carry no validation Sharpe): the best value is not corrected for the search")
    if 0 < len(values) < 10:
        warnings.append(f"only {len(values)} completed trials: the ranking is noisy")
    return StudyHeadline(
        hist.best_number,
        hist.best_value,
        median,
        gap,
        gap_iqr,
        better,
        int(len(values)),
        deflated,
        None if n_deflated is None else int(n_deflated),
        best_sharpe,
        median_sharpe,
        tuple(warnings),
    )
