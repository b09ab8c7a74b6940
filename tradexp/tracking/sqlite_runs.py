"""Runs read straight from a local MLflow sqlite file, for the look-back commands' start-up.

`import mlflow` and its SQLAlchemy store take 2.5-3.5 s of a fresh process here, the queries of
`tradexp runs` or `tradexp config diff` ~0.05 s. On a sqlite store whose schema is one this module
was checked against (`SCHEMA_REVISIONS`, the alembic revision MLflow writes into the file), those
commands read the file with Python's `sqlite3` instead, and never write to it (a report logged into
its run is a file copied into the run's local artifact folder, as MLflow's local artifact repository
writes it). Anything else (a tracking server, another database, a file of another schema, a missing
file, artifacts that are not in a local folder) goes through MLflow's client as before:
`open_sqlite_runs` returns None, or the reader hands the call on.

The answers are MLflow's own: the same runs in the same order as `MlflowClient.search_runs` for the
filters `tradexp.organisation.run_query` builds (tags equal, status, start time, latest metric
compared, active runs of active experiments; sort by a metric with NaN then absent last, then newest
first, then by run id), and the same tags, latest metrics and artifact location. A test runs both
on one store (`tests/tracking/test_sqlite_runs.py`); a new MLflow schema fails it until checked.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from tradexp.errors import TrackingError
from tradexp.tracking.artifacts import local_artifact_path

__all__ = ["SCHEMA_REVISIONS", "SqliteRuns", "StoredRun", "open_sqlite_runs", "open_for_reading"]

# alembic revisions of MLflow's tracking schema whose tables this module reads as MLflow does
SCHEMA_REVISIONS = frozenset({"dc11669786a5"})  # mlflow 3.17
_OPERATORS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "=", "==": "=", "!=": "!="}
_CHUNK = 500  # run ids per `IN (...)`, well under any sqlite's limit of bound values (999 before 3.32)


@dataclass
class StoredRunInfo:
    """The fields of `mlflow.entities.RunInfo` the look-back commands read."""

    run_id: str
    experiment_id: str
    run_name: Optional[str]
    status: str
    start_time: Optional[int]
    end_time: Optional[int]
    artifact_uri: Optional[str]
    lifecycle_stage: str


@dataclass
class StoredRunData:
    """The fields of `mlflow.entities.RunData` the look-back commands read (latest metric values)."""

    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredDataset:
    """The fields of `mlflow.entities.Dataset` a report shows."""

    name: str
    digest: str
    source: str
    source_type: str


@dataclass
class StoredDatasetInput:
    dataset: StoredDataset


@dataclass
class StoredRunInputs:
    dataset_inputs: list[StoredDatasetInput] = field(default_factory=list)


@dataclass
class StoredRun:
    """A run as `MlflowClient.get_run` describes it, for the fields read here (`.info`, `.data`, `.inputs`)."""

    info: StoredRunInfo
    data: StoredRunData
    inputs: StoredRunInputs = field(default_factory=StoredRunInputs)


@dataclass
class StoredExperiment:
    experiment_id: str
    name: str


@dataclass
class StoredMetric:
    """One logged value, as `MlflowClient.get_metric_history` gives it."""

    key: str
    value: float
    timestamp: int
    step: int


class SqliteRuns:
    """Read-only queries on one MLflow sqlite file (see the module docstring).

    Args:
        db: The database file.
        tracking_uri: Its tracking URI, as shown to people.
    """

    def __init__(self, db: Path, tracking_uri: str) -> None:
        self.db = db
        self.tracking_uri = tracking_uri
        self._client: Any = None

    def download_artifacts(self, run_id: str, path: str, dst_path: str) -> str:
        """`MlflowClient.download_artifacts`, for artifacts not in a local folder (MLflow is imported then)."""
        return self.mlflow_client().download_artifacts(run_id, path, dst_path)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: Optional[str] = None) -> None:
        """`MlflowClient.log_artifact`: into a local artifact folder as MLflow's `LocalArtifactRepository`
        writes it (a temporary `.artifact.uploading.*` file beside, its metadata copied, then renamed;
        removed on failure), else through MLflow's client."""
        rows = self._query("SELECT artifact_uri FROM runs WHERE run_uuid = ?", [run_id])
        root = local_artifact_path(rows[0][0]) if rows and rows[0][0] else None
        if root is None or (artifact_path and (Path(artifact_path).is_absolute() or ".." in Path(artifact_path).parts)):
            self.mlflow_client().log_artifact(run_id, local_path, artifact_path)
            return
        folder = root / (artifact_path or "")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(local_path).name
        if target.exists() and os.path.samefile(local_path, target):
            return
        handle, partial = tempfile.mkstemp(dir=folder, prefix=".artifact.uploading.")
        try:
            with os.fdopen(handle, "wb") as out, open(local_path, "rb") as source:
                shutil.copyfileobj(source, out)
            shutil.copystat(local_path, partial)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def list_artifacts(self, run_id: str, path: Optional[str] = None) -> list[Any]:
        """`MlflowClient.list_artifacts`, for artifacts not in a local folder (MLflow is imported then)."""
        return self.mlflow_client().list_artifacts(run_id, path)

    def mlflow_client(self) -> Any:
        """MLflow's client of the same store (imported and opened on first use), for what only MLflow does."""
        if self._client is None:
            from tradexp.tracking.store import open_store

            self._client = open_store(self.tracking_uri)
        return self._client

    def _query(self, sql: str, values: Sequence[Any] = ()) -> list[tuple]:
        try:
            with closing(_connect(self.db)) as connection:
                return connection.execute(sql, tuple(values)).fetchall()
        except sqlite3.Error as exc:  # locked past the timeout, damaged, removed meanwhile: one line, not a traceback
            raise TrackingError(f"cannot read the MLflow store {self.db}: {exc}; check the file (or set MLFLOW_TRACKING_URI)") from exc

    def get_experiment(self, experiment_id: str) -> Optional[StoredExperiment]:
        """The experiment (also a deleted one, as `MlflowClient.get_experiment`), or None."""
        rows = self._query("SELECT experiment_id, name FROM experiments WHERE experiment_id = ?", [int(experiment_id)])
        return StoredExperiment(str(rows[0][0]), rows[0][1]) if rows else None

    def get_metric_history(self, run_id: str, key: str) -> list[StoredMetric]:
        """Every logged value of a metric, in MLflow's order (time, step, value); a NaN as NaN."""
        rows = self._query("SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, value", [run_id, key])
        return [StoredMetric(k, float("nan") if is_nan else float(v), int(t), int(step)) for k, v, t, step, is_nan in rows]

    def experiments(self, pattern: Optional[str] = None) -> dict[str, str]:
        """{experiment_id: name} of active experiments whose name matches `pattern` (exact or glob)."""
        rows = self._query("SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active'")
        return {str(i): name for i, name in rows if experiment_matches(name, pattern)}

    def search(
        self,
        experiment_ids: Sequence[str],
        tags: Optional[dict[str, str]] = None,
        status: Optional[str] = None,
        start_after_ms: Optional[int] = None,
        metric_conditions: Sequence[tuple[str, str, float]] = (),
        sort_metric: Optional[str] = None,
        ascending: bool = False,
        limit: int = 50,
    ) -> list[StoredRun]:
        """Active runs of the experiments that match every filter, in MLflow's order, at most `limit`.

        Args:
            experiment_ids: Experiments searched.
            tags: Tags that must be equal.
            status: MLflow status (RUNNING, FINISHED, ...).
            start_after_ms: Started at or after this time (epoch milliseconds).
            metric_conditions: `(metric, op, value)`, the latest value compared (ops: > >= < <= = == !=; a NaN
                satisfies only `!=`).
            sort_metric: Sort by this metric's latest value (NaN, then runs without it, last), then newest first.
            ascending: Smallest first.
            limit: At most this many runs.
        """
        if not experiment_ids:
            return []
        where = [f"r.experiment_id IN ({', '.join('?' * len(experiment_ids))})", "r.lifecycle_stage = 'active'"]
        values: list[Any] = [int(i) for i in experiment_ids]
        for key, value in (tags or {}).items():
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ? AND t.value = ?)")
            values += [key, value]
        if status is not None:
            where.append("r.status = ?")
            values.append(status)
        if start_after_ms is not None:
            where.append("r.start_time >= ?")
            values.append(int(start_after_ms))
        for metric, op, threshold in metric_conditions:
            # as MLflow compares: a NaN (stored as 0 with is_nan set) satisfies only `!=`
            compared = "(m.value != ? OR m.is_nan)" if _OPERATORS[op] == "!=" else f"(m.value {_OPERATORS[op]} ? AND NOT m.is_nan)"
            where.append(f"EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = ? AND {compared})")
            values += [metric, float(threshold)]
        join, order = "", []
        if sort_metric is not None:
            join = "LEFT JOIN latest_metrics s ON s.run_uuid = r.run_uuid AND s.key = ?"
            values.insert(0, sort_metric)
            order = ["CASE WHEN s.is_nan THEN 1 WHEN s.value IS NULL THEN 2 ELSE 0 END", f"s.value {'ASC' if ascending else 'DESC'}"]
        order += ["r.start_time DESC", "r.run_uuid"]
        sql = f"SELECT {_RUN_COLUMNS} FROM runs r {join} WHERE {' AND '.join(where)} ORDER BY {', '.join(order)} LIMIT ?"
        rows = self._query(sql, [*values, int(limit)])
        return self._with_data([_info(row) for row in rows])

    def get_run(self, run_id: str) -> Optional[StoredRun]:
        """The run `run_id` (also a deleted one, as `MlflowClient.get_run`), or None when the file has no such run."""
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?", [run_id])
        if not rows:
            return None
        run = self._with_data([_info(rows[0])])[0]
        run.data.params = dict(self._query("SELECT key, value FROM params WHERE run_uuid = ?", [run_id]))
        datasets: dict[str, StoredDatasetInput] = {}  # MLflow's query and order: one input per dataset
        for uuid, name, digest, source_type, source in self._query(
            "SELECT d.dataset_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source FROM inputs i "
            "JOIN datasets d ON i.source_id = d.dataset_uuid LEFT OUTER JOIN input_tags t ON t.input_uuid = i.input_uuid "
            "WHERE i.destination_type = 'RUN' AND i.destination_id = ? ORDER BY i.destination_id",
            [run_id],
        ):
            datasets.setdefault(uuid, StoredDatasetInput(StoredDataset(name, digest, source, source_type)))
        run.inputs = StoredRunInputs(list(datasets.values()))
        return run

    def _with_data(self, infos: list[StoredRunInfo]) -> list[StoredRun]:
        runs = {info.run_id: StoredRun(info, StoredRunData()) for info in infos}
        ids = list(runs)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for run_id, key, value in self._query(f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk):
                runs[run_id].data.tags[key] = value
            for run_id, key, value, is_nan in self._query(f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", chunk):
                runs[run_id].data.metrics[key] = float("nan") if is_nan else float(value)
        for run in runs.values():  # as MLflow: a run stored without a name takes its `mlflow.runName` tag
            if not run.info.run_name:
                run.info.run_name = run.data.tags.get("mlflow.runName", run.info.run_name)
        return list(runs.values())


def _connect(db: Path) -> sqlite3.Connection:
    # an existing file only (`mode=rw` never creates one), read-write so that a WAL file's shared
    # memory can be opened; nothing here writes
    return sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True, timeout=30)


def experiment_matches(name: str, pattern: Optional[str]) -> bool:
    """An experiment name against `--experiment`: any when None, else the exact name or a glob."""
    return pattern is None or name == pattern or fnmatch.fnmatchcase(name, pattern)


_RUN_COLUMNS = "r.run_uuid, r.experiment_id, r.name, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage"


def _info(row: tuple) -> StoredRunInfo:
    return StoredRunInfo(row[0], str(row[1]), *row[2:])


def _workspaces_on() -> bool:
    """MLflow's workspaces limit what a client sees to one workspace: then MLflow's client answers."""
    return os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").strip().lower() not in ("", "0", "false")  # any other value: MLflow decides


def open_for_reading(tracking_uri: Optional[str] = None) -> Any:
    """What to read runs from: a local sqlite store directly (`open_sqlite_runs`), else MLflow's client."""
    reader = open_sqlite_runs(tracking_uri)
    if reader is not None:
        return reader
    from tradexp.tracking.store import open_store

    return open_store(tracking_uri)


def open_sqlite_runs(tracking_uri: Optional[str] = None) -> Optional[SqliteRuns]:
    """A reader of the store when it is a sqlite file of a schema in `SCHEMA_REVISIONS`, else None (use MLflow).

    Args:
        tracking_uri: The store (default `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`).
    """
    from tradexp.tracking.store_uri import resolve_tracking_uri, sqlite_path

    uri = resolve_tracking_uri(tracking_uri)
    db = sqlite_path(uri)
    if db is None or not db.is_file() or _workspaces_on():
        return None
    try:
        with closing(_connect(db)) as connection:
            revisions = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:  # not an MLflow store yet, or not a database: MLflow names the problem
        return None
    if len(revisions) != 1 or not revisions <= SCHEMA_REVISIONS:
        return None
    return SqliteRuns(db, uri)
