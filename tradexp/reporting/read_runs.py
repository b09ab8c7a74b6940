"""Read runs, studies and sets of runs from MLflow into plain dataclasses (no HTML, no figures).

    client = MlflowClient(uri)                        # or `SqliteRuns` (a local sqlite store, no MLflow import)
    run = collect_run(client, run_id)                 # params, metrics + histories, tags, artifacts
    run.json("data/splits.json"), run.csv("evaluation/equity.csv"), run.pngs("plots/")

Artifacts are read at the fixed paths every tradexp run uses (`config/`, `environment/`, `model/`,
`data/`, `plots/`, `predictions/`, `evaluation/`, `hpo/`); a file that is absent is simply absent.
"""

from __future__ import annotations

import fnmatch
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import pandas as pd
import yaml

from tradexp.errors import TradexpError
from tradexp.metric_direction import lower_is_better
from tradexp.tracking.artifacts import local_artifact_root
from tradexp.tracking.sqlite_runs import SqliteRuns

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = [
    "MetricPoint",
    "RunData",
    "TRAINING_FILES",
    "COMPARISON_FILES",
    "STUDY_FILES",
    "collect_run",
    "collect_runs",
    "run_from_entity",
    "select_runs",
    "ReportError",
    "looks_like_run_id",
]

log = logging.getLogger(__name__)

# Artifacts each report reads (fnmatch patterns over paths inside the run).
TRAINING_FILES = (
    "config/config.yaml",
    "environment/*.json",
    "environment/*.txt",
    "environment/*.patch",
    "model/*",
    "data/*.json",
    "data/*.csv",
    "plots/*.png",
    "evaluation/*.json",
    "evaluation/*.csv",
    "predictions/test_predictions.csv",
)
COMPARISON_FILES = ("predictions/test_predictions.csv", "evaluation/equity.csv")
STUDY_FILES = ("hpo/*", "plots/*.png")
_MAX_FILE_BYTES = 25 * 1024 * 1024
_SKIPPED_DIRS = ("checkpoints", "report")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class ReportError(TradexpError):
    """A report cannot be built: the run, study or selection does not exist (names what does)."""


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a metric."""

    step: int
    value: float
    timestamp: int


_ErrorTypes = Union[type[Exception], tuple[type[Exception], ...]]


def _decoded(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@dataclass
class RunData:
    """Everything a report needs from one MLflow run, as plain Python values.

    `files` holds the contents of the artifacts that were read; `artifacts` lists every artifact
    path (with its size) whether read or not.
    """

    run_id: str
    name: str
    experiment_id: str
    experiment_name: str
    status: str
    start_time: Optional[int]
    end_time: Optional[int]
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    histories: dict[str, list[MetricPoint]] = field(default_factory=dict)
    artifacts: dict[str, Optional[int]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.tags.get("tradexp.type", "")

    @property
    def duration_s(self) -> Optional[float]:
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time) / 1000.0)

    def text(self, path: str) -> Optional[str]:
        data = self.files.get(path)
        return None if data is None else _decoded(data)

    def json(self, path: str) -> Any:
        """Parsed JSON artifact, or None when absent or unreadable (logged)."""
        return self._parsed(path, lambda data: json.loads(_decoded(data)), ValueError, "valid JSON")

    def yaml(self, path: str) -> Any:
        """Parsed YAML artifact, or None when absent or unreadable (logged)."""
        return self._parsed(path, lambda data: yaml.safe_load(_decoded(data)), yaml.YAMLError, "valid YAML")

    def csv(self, path: str) -> Optional[pd.DataFrame]:
        """CSV artifact as a DataFrame, or None when absent or unreadable (logged)."""
        return self._parsed(path, lambda data: pd.read_csv(io.BytesIO(data)), (ValueError, pd.errors.ParserError), "a readable CSV")

    def _parsed(self, path: str, parse: Callable[[bytes], Any], errors: _ErrorTypes, what: str) -> Any:
        """`parse` of an artifact's bytes; None when absent, or when it raises `errors` (logged, saying `what` it is not)."""
        data = self.files.get(path)
        if data is None:
            return None
        try:
            return parse(data)
        except errors as err:
            log.warning("run %s: `%s` is not %s (%s); shown as missing", self.run_id, path, what, err)
            return None

    def pngs(self, prefix: str) -> dict[str, bytes]:
        """PNG artifacts under `prefix`, by path, in name order."""
        return {p: self.files[p] for p in sorted(self.files) if p.startswith(prefix) and p.endswith(".png")}


def run_from_entity(run: "Run", experiment_name: str = "") -> RunData:
    """A `RunData` with the run's params, latest metrics and tags (no histories, no files)."""
    info = run.info
    datasets = []
    inputs = getattr(run, "inputs", None)
    for item in getattr(inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        datasets.append({"name": ds.name, "digest": ds.digest, "source": ds.source, "source_type": ds.source_type})
    return RunData(
        run_id=info.run_id,
        name=info.run_name or run.data.tags.get("mlflow.runName", info.run_id),
        experiment_id=info.experiment_id,
        experiment_name=experiment_name,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=dict(run.data.tags),
        datasets=datasets,
    )


def _experiment_name(client: "MlflowClient | SqliteRuns", experiment_id: str, cache: dict[str, str]) -> str:
    if experiment_id not in cache:
        if isinstance(client, SqliteRuns):
            experiment = client.get_experiment(experiment_id)
            cache[experiment_id] = experiment.name if experiment is not None else experiment_id
        else:
            from mlflow.exceptions import MlflowException

            try:
                cache[experiment_id] = client.get_experiment(experiment_id).name
            except MlflowException:
                cache[experiment_id] = experiment_id
    return cache[experiment_id]


def _get_run(client: "MlflowClient | SqliteRuns", run_id: str) -> "Run":
    """The run, or a ReportError naming the store."""
    if isinstance(client, SqliteRuns):
        run = client.get_run(run_id)
        if run is None:
            raise ReportError(f"run `{run_id}` not found in {client.tracking_uri}")
        return run
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as err:
        raise ReportError(f"run `{run_id}` not found in {client.tracking_uri}: {err.message}") from None


def _list_files(client: "MlflowClient", run_id: str, path: Optional[str] = None) -> dict[str, Optional[int]]:
    out: dict[str, Optional[int]] = {}
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            out[item.path + "/"] = None
            if item.path not in _SKIPPED_DIRS:
                out.update(_list_files(client, run_id, item.path))
        else:
            out[item.path] = item.file_size
    return out


def _list_local(root: Path) -> dict[str, Optional[int]]:
    """The same listing as `_list_files`, read straight from a local artifact folder."""
    out: dict[str, Optional[int]] = {}
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        if prefix:
            out[prefix] = None
        skipped = [d for d in dirs if not prefix and d in _SKIPPED_DIRS]
        out.update({d + "/": None for d in skipped})
        dirs[:] = [d for d in dirs if d not in skipped]
        out.update({prefix + name: (Path(folder) / name).stat().st_size for name in names})
    return dict(sorted(out.items()))


def _wanted_files(client: "MlflowClient", run: "Run", patterns: Sequence[str]) -> tuple[dict[str, Optional[int]], list[str]]:
    """(artifact listing, paths to read). Exact paths on a local store are checked, not listed."""
    root = local_artifact_root(run.info.artifact_uri)
    if root is not None and not any(ch in p for p in patterns for ch in "*?["):
        sizes = {p: (root / p).stat().st_size for p in patterns if (root / p).is_file()}
        return sizes, [p for p, size in sizes.items() if size <= _MAX_FILE_BYTES]
    listing = _list_local(root) if root is not None else _list_files(client, run.info.run_id)
    wanted = [p for p, size in listing.items() if size is not None and size <= _MAX_FILE_BYTES and any(fnmatch.fnmatch(p, pat) for pat in patterns)]
    return listing, wanted


def _read_files(client: "MlflowClient", run_id: str, paths: Iterable[str], artifact_uri: str = "") -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    root = local_artifact_root(artifact_uri)
    if root is not None:
        for path in paths:
            try:
                files[path] = (root / path).read_bytes()
            except OSError as err:
                log.warning("run %s: could not read artifact `%s`: %s", run_id, path, err)
        return files
    from mlflow.exceptions import MlflowException  # artifacts outside a local folder: through MLflow

    with tempfile.TemporaryDirectory(prefix="tradexp-report-") as tmp:
        for path in paths:
            try:
                local = client.download_artifacts(run_id, path, tmp)
                files[path] = Path(local).read_bytes()
            except (MlflowException, OSError) as err:
                log.warning("run %s: could not read artifact `%s`: %s", run_id, path, err)
    return files


def _history_keys(metrics: dict[str, float], histories: Union[str, Sequence[str]]) -> list[str]:
    if histories == "all":
        return sorted(metrics)
    return [k for k in histories if k in metrics]


def collect_run(
    client: "MlflowClient | SqliteRuns",
    run_id: str,
    *,
    histories: Union[str, Sequence[str]] = "all",
    files: Sequence[str] = TRAINING_FILES,
    run: Optional["Run"] = None,
    experiment_names: Optional[dict[str, str]] = None,
) -> RunData:
    """Read one run: params, metrics, tags, metric histories and the artifacts matching `files`.

    Args:
        client: Client of the tracking store, or the `SqliteRuns` reader of a local sqlite store.
        run_id: The run.
        histories: `"all"` or the metric names whose full history to read.
        files: fnmatch patterns of artifact paths to read (`()` reads none; listing is skipped).
        run: The run entity when already fetched (saves a request).
        experiment_names: Cache of experiment id -> name shared between calls.

    Raises:
        ReportError: The run does not exist.
    """
    if run is None:
        run = _get_run(client, run_id)
    data = run_from_entity(run, _experiment_name(client, run.info.experiment_id, experiment_names if experiment_names is not None else {}))
    for key in _history_keys(data.metrics, histories):
        data.histories[key] = [MetricPoint(int(m.step), float(m.value), int(m.timestamp)) for m in client.get_metric_history(run_id, key)]
    if files:
        data.artifacts, wanted = _wanted_files(client, run, files)
        data.files = _read_files(client, run_id, wanted, run.info.artifact_uri)
    return data


def collect_runs(
    client: "MlflowClient | SqliteRuns", run_ids: Sequence[str], *, histories: Union[str, Sequence[str]] = ("train/loss", "val/loss"), files: Sequence[str] = COMPARISON_FILES
) -> list[RunData]:
    """Read several runs (for a comparison) in the given order."""
    names: dict[str, str] = {}
    entities = _fetch_runs(client, run_ids)
    return [collect_run(client, rid, histories=histories, files=files, run=entities.get(rid), experiment_names=names) for rid in run_ids]


def _fetch_runs(client: "MlflowClient | SqliteRuns", run_ids: Sequence[str]) -> dict[str, "Run"]:
    """Many runs in a few searches (`run_id IN (...)`) instead of one request each."""
    wanted = [r for r in dict.fromkeys(run_ids) if looks_like_run_id(r)]
    if isinstance(client, SqliteRuns):  # a local file: one query per run costs nothing
        return {run.info.run_id: run for run in map(client.get_run, wanted) if run is not None}
    from mlflow.entities import ViewType

    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    found: dict[str, Run] = {}
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        ids = ", ".join(f"'{r}'" for r in chunk)
        for run in client.search_runs(experiments, f"attributes.run_id IN ({ids})", max_results=len(chunk)):
            found[run.info.run_id] = run
    return found


def select_runs(
    client: "MlflowClient | SqliteRuns",
    *,
    run_ids: Sequence[str] = (),
    experiment: Optional[str] = None,
    filter_string: str = "",
    top: Optional[int] = None,
    metric: Optional[str] = None,
    ascending: Optional[bool] = None,
) -> list[str]:
    """Run ids to compare: the given ids, or the runs of `experiment` matching `filter_string`.

    With `metric`, runs are ordered by it (best first: ascending where
    `tradexp.metric_direction.lower_is_better`, else descending, unless `ascending` says) and runs
    without it are dropped; `top` keeps the first K.
    Study parents and earlier comparison runs are left out of a filter's result.

    Raises:
        ReportError: Unknown experiment, unknown run id, bad filter, or nothing selected.
    """
    if run_ids:
        for rid in run_ids:
            try:
                _get_run(client, rid)
            except ReportError:
                raise ReportError(f"run `{rid}` not found in {client.tracking_uri}") from None
        return list(run_ids)[:top] if top else list(run_ids)
    if not experiment:
        raise ReportError("give run ids or `--experiment NAME` (with an optional `--filter` and `--top K --metric NAME`)")
    if isinstance(client, SqliteRuns):  # an MLflow filter: MLflow's search
        client = client.mlflow_client()
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        names = sorted(e.name for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY))
        raise ReportError(f"experiment `{experiment}` not found; experiments: {', '.join(names) or '(none)'}")
    order = None
    if metric:
        asc = lower_is_better(metric) if ascending is None else ascending
        order = [f"metrics.`{metric}` {'ASC' if asc else 'DESC'}"]
    runs: list["Run"] = []
    token = None
    try:
        while True:
            page = client.search_runs([exp.experiment_id], filter_string, max_results=1000, order_by=order, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                break
    except MlflowException as err:
        raise ReportError(f"bad run filter {filter_string!r}: {err.message}") from None
    runs = [r for r in runs if r.data.tags.get("tradexp.type") not in ("comparison", "hpo_study")]
    if metric:
        runs = [r for r in runs if metric in r.data.metrics]
    if not runs:
        why = f" with metric `{metric}`" if metric else ""
        raise ReportError(f"no runs in experiment `{experiment}` match filter {filter_string!r}{why}")
    ids = [r.info.run_id for r in runs]
    return ids[:top] if top else ids


def looks_like_run_id(text: str) -> bool:
    return bool(_RUN_ID.match(text))
