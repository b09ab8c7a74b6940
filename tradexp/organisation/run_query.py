"""Find runs by their `tradexp.*` tags, status and metric thresholds; turn them into table rows.

The filter is handed to MLflow's own search (`search_runs` filter string and `order_by`), so it
works the same on a sqlite file and on a tracking server with thousands of runs. Given a
`SqliteRuns` (a local sqlite store read without importing MLflow, for start-up), the same filters
are its query, with MLflow's answers (`tradexp.tracking.sqlite_runs`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from tradexp.tracking.sqlite_runs import SqliteRuns, experiment_matches

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["RunQuery", "Condition", "parse_condition", "filter_string", "find_runs", "run_rows", "list_runs", "KEY_METRICS", "STATUSES", "ROW_FIELDS"]

# Shown when present, in this order, unless the caller names metrics.
KEY_METRICS = ("val/loss", "test/loss", "test/acc", "test/balanced_acc", "test/auroc", "test/mse", "test/dir_acc", "test/trading/sharpe", "test/trading/max_drawdown")
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
ROW_FIELDS = ("run_id", "experiment", "run_name", "status", "start", "type", "stage", "model", "dataset", "purpose")
_CONDITION = re.compile(r"^\s*(?P<metric>[A-Za-z0-9_./ :-]+?)\s*(?P<op>>=|<=|!=|==|=|>|<)\s*(?P<value>[-+0-9.eE]+|nan|inf)\s*$")
_SAFE_VALUE = re.compile(r"^[^'\"`\\]*$")


@dataclass(frozen=True)
class Condition:
    """A metric threshold such as `test/acc > 0.52`."""

    metric: str
    op: str
    value: float

    def mlflow(self) -> str:
        op = "=" if self.op == "==" else self.op
        return f"metrics.`{self.metric}` {op} {self.value!r}"


def parse_condition(text: str) -> Condition:
    """Parse `test/acc>0.52`, `test/trading/sharpe >= 1`, `val/loss<0.69` (ops: > >= < <= = != ==).

    Raises:
        ValueError: Text that is not `<metric> <op> <number>`.
    """
    match = _CONDITION.match(text)
    if not match:
        raise ValueError(f'--where: {text!r} received; write <metric><op><number>, e.g. "test/acc>0.52" (ops: > >= < <= = !=)')
    try:
        value = float(match.group("value"))
    except ValueError:
        raise ValueError(f"--where: {text!r} received; the threshold must be a number") from None
    if not math.isfinite(value):  # MLflow's filter grammar has no nan or inf
        raise ValueError(f"--where: {text!r} received; the threshold must be a finite number")
    return Condition(match.group("metric").strip(), match.group("op"), value)


@dataclass
class RunQuery:
    """Which runs to list and how to sort them (every field optional).

    Args:
        model: `tradexp.model` tag, e.g. `lstm`.
        stage: `tradexp.stage` tag.
        type: `tradexp.type` tag, e.g. `training`, `hpo_trial`, `reproduction`.
        dataset: `tradexp.dataset` tag.
        purpose: `tradexp.purpose` tag.
        status: MLflow status: RUNNING, FINISHED, FAILED, KILLED.
        experiment: Experiment name or glob (`tradexp/production/*`); default all experiments.
        tags: Further `key: value` tags that must match.
        where: Metric thresholds, e.g. `["test/acc>0.52"]`.
        parent: Only children of this run (HPO trials of a study).
        since: Only runs started on or after this ISO date/time.
        sort: Metric to sort by (default: newest first).
        ascending: Smallest first (default largest first).
        limit: At most this many runs.
    """

    model: Optional[str] = None
    stage: Optional[str] = None
    type: Optional[str] = None
    dataset: Optional[str] = None
    purpose: Optional[str] = None
    status: Optional[str] = None
    experiment: Optional[str] = None
    tags: dict[str, str] = field(default_factory=dict)
    where: Sequence[str] = ()
    parent: Optional[str] = None
    since: Optional[str] = None
    sort: Optional[str] = None
    ascending: bool = False
    limit: int = 50

    def conditions(self) -> list[Condition]:
        return [parse_condition(text) for text in self.where]


def _checked(name: str, value: str) -> str:
    if not _SAFE_VALUE.match(str(value)):
        raise ValueError(f"{name}: {value!r} received; values may not contain quotes, backticks or backslashes")
    return str(value)


@dataclass(frozen=True)
class _Filters:
    """What a query asks of a run, checked: tags equal, status, start time (epoch ms), metric thresholds."""

    tags: dict[str, str]
    status: Optional[str]
    start_after_ms: Optional[int]
    conditions: list[Condition]


def _filters(query: RunQuery) -> _Filters:
    tags = {}
    for name in ("model", "stage", "type", "dataset", "purpose"):
        value = getattr(query, name)
        if value is not None:
            tags[f"tradexp.{name}"] = _checked("--" + name, value)
    for key, value in query.tags.items():
        tags[key] = _checked("--tag " + key, value)
    if query.parent is not None:
        tags["mlflow.parentRunId"] = _checked("--parent", query.parent)
    status = None
    if query.status is not None:
        status = query.status.upper()
        if status not in STATUSES:
            raise ValueError(f"--status: {query.status!r} received; one of {', '.join(STATUSES)}")
    start = None
    if query.since is not None:
        try:
            since = _dt.datetime.fromisoformat(query.since)
        except ValueError:
            raise ValueError(f"--since: {query.since!r} received; an ISO date or date-time such as 2024-06-01") from None
        if since.tzinfo is None:
            since = since.astimezone()
        start = int(since.timestamp() * 1000)
    return _Filters(tags, status, start, query.conditions())


def filter_string(query: RunQuery) -> str:
    """The MLflow search filter for `query` (conditions joined with AND)."""
    return _mlflow_filter(_filters(query))


def _mlflow_filter(filters: _Filters) -> str:
    parts = [f"tags.`{key}` = '{value}'" for key, value in filters.tags.items()]
    if filters.status is not None:
        parts.append(f"attributes.status = '{filters.status}'")
    if filters.start_after_ms is not None:
        parts.append(f"attributes.start_time >= {filters.start_after_ms}")
    parts += [condition.mlflow() for condition in filters.conditions]
    return " AND ".join(parts)


def _experiments(client: "MlflowClient", pattern: Optional[str]) -> dict[str, str]:
    """{experiment_id: name} of active experiments whose name matches `pattern` (exact or glob)."""
    from mlflow.entities import ViewType

    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    return {e.experiment_id: e.name for e in experiments if experiment_matches(e.name, pattern)}


def find_runs(client: "MlflowClient | SqliteRuns", query: RunQuery) -> tuple[list["Run"], dict[str, str]]:
    """Runs matching `query`, sorted, and the names of the experiments searched.

    Runs without the sort metric come after those with it.

    Args:
        client: A client of the store, or the `SqliteRuns` reader of a local sqlite store.
        query: The filters.

    Raises:
        ValueError: A bad threshold, status, date or value.
    """
    filters = _filters(query)
    if isinstance(client, SqliteRuns):
        experiments = client.experiments(query.experiment)
        conditions = [(c.metric, c.op, c.value) for c in filters.conditions]
        runs: list[Any] = client.search(list(experiments), filters.tags, filters.status, filters.start_after_ms, conditions, query.sort, query.ascending, query.limit)
    else:
        from mlflow.entities import ViewType

        experiments = _experiments(client, query.experiment)
        if not experiments:
            return [], experiments
        order = "ASC" if query.ascending else "DESC"
        order_by = [f"metrics.`{query.sort}` {order}", "attributes.start_time DESC"] if query.sort else ["attributes.start_time DESC"]
        runs = client.search_runs(list(experiments), filter_string=_mlflow_filter(filters), run_view_type=ViewType.ACTIVE_ONLY, max_results=query.limit, order_by=order_by)
    if query.sort:
        runs = [r for r in runs if query.sort in r.data.metrics] + [r for r in runs if query.sort not in r.data.metrics]
    return list(runs), experiments


def _row(run: "Run", experiments: dict[str, str]) -> dict[str, Any]:
    tags = run.data.tags
    start = _dt.datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M") if run.info.start_time else None
    row: dict[str, Any] = {
        "run_id": run.info.run_id,
        "experiment": experiments.get(run.info.experiment_id, run.info.experiment_id),
        "run_name": run.info.run_name,
        "status": run.info.status,
        "start": start,
    }
    for name in ROW_FIELDS[5:]:
        row[name] = tags.get(f"tradexp.{name}")
    row.update(run.data.metrics)
    return row


def run_rows(runs: Sequence["Run"], experiments: dict[str, str], metrics: Optional[Sequence[str]] = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows (one dict per run) and the metric columns to show.

    Args:
        runs: From `find_runs`.
        experiments: {experiment_id: name}.
        metrics: Metric columns; default the `KEY_METRICS` that any of the runs has.
    """
    rows = [_row(run, experiments) for run in runs]
    if metrics is None:
        present = set().union(*(r.data.metrics for r in runs)) if runs else set()
        metrics = [m for m in KEY_METRICS if m in present]
    return rows, list(metrics)


def list_runs(tracking_uri: Optional[str] = None, metrics: Optional[Sequence[str]] = None, **query: Any) -> Any:
    """Runs as a pandas DataFrame (one row per run: ids, tags, status, all metrics), like `tradexp runs`.

        list_runs(model="lstm", where=["test/acc>0.52"], sort="test/acc")

    Args:
        tracking_uri: Store (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).
        metrics: Metric columns to keep (default: all metrics of the runs).
        **query: Fields of `RunQuery`: model, stage, type, dataset, purpose, status, experiment, tags,
            where, parent, since, sort, ascending, limit.
    """
    import pandas as pd

    from tradexp.tracking.store import open_store

    runs, experiments = find_runs(open_store(tracking_uri), RunQuery(**query))
    rows, _ = run_rows(runs, experiments, metrics)
    frame = pd.DataFrame(rows)
    if metrics is not None and len(frame):
        frame = frame[[c for c in ROW_FIELDS if c in frame.columns] + [m for m in metrics if m in frame.columns]]
    return frame
