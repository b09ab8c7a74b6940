"""Read an HPO study from MLflow: the parent run, its trial runs, and the study's `hpo/` files.

A study is a parent run (`tradexp.type=hpo_study`, `tradexp.study=<name>`) with nested child runs
(`mlflow.parentRunId`) tagged `tradexp.trial` and `tradexp.trial.state`; the parent may hold
`hpo/study.json` (settings), `hpo/search_space.json`, `hpo/trials.csv` and `hpo/importances.json`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd

from tradexp.metric_direction import optuna_direction
from tradexp.reporting.read_runs import STUDY_FILES, MetricPoint, ReportError, RunData, collect_run, looks_like_run_id, run_from_entity

if TYPE_CHECKING:  # MLflow is imported when a study is read, not by the pages that use `StudyData`
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["StudyData", "collect_study", "find_study_run"]

log = logging.getLogger(__name__)

_METRIC_KEYS = ("metric", "objective_metric", "objective", "monitor")
_DIRECTION_KEYS = ("direction", "mode")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9 _.:/@+=-]*$")


@dataclass
class StudyData:
    """A study as plain values: parent run, trial runs (in trial order), settings and files."""

    name: str
    parent: RunData
    trials: list[RunData]
    settings: dict[str, Any] = field(default_factory=dict)
    search_space: Optional[dict[str, Any]] = None
    trials_csv: Optional[pd.DataFrame] = None
    related: list[RunData] = field(default_factory=list)
    metric: Optional[str] = None
    direction: str = "minimize"
    importances: Optional[dict[str, Any]] = None  # hpo/importances.json, computed when the study ended


def _search_all(client: "MlflowClient", experiment_ids: list[str], filter_string: str) -> list["Run"]:
    from mlflow.entities import ViewType

    runs: list["Run"] = []
    token = None
    while True:
        page = client.search_runs(experiment_ids, filter_string, run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def find_study_run(client: "MlflowClient", name_or_run_id: str) -> "Run":
    """The parent run of a study given its run id (or a trial's run id) or its study name.

    With a name, the most recent parent run carrying that `tradexp.study` tag is used.

    Raises:
        ReportError: Nothing matches (the message lists the studies that exist).
    """
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    if looks_like_run_id(name_or_run_id):
        try:
            run = client.get_run(name_or_run_id)
        except MlflowException:
            run = None
        if run is not None:
            parent_id = run.data.tags.get("mlflow.parentRunId")
            if run.data.tags.get("tradexp.type") == "hpo_trial" and parent_id:
                return client.get_run(parent_id)
            return run
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    parents = _search_all(client, experiments, "tags.`tradexp.type` = 'hpo_study'") if experiments else []
    matches = [r for r in parents if r.data.tags.get("tradexp.study") == name_or_run_id]
    if not matches:
        known = sorted({r.data.tags.get("tradexp.study", r.info.run_name) for r in parents})
        raise ReportError(f"no study `{name_or_run_id}` (by name or parent run id); studies: {', '.join(known) or '(none)'}")
    return max(matches, key=lambda r: r.info.start_time or 0)


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return mapping[key]
    return None


def _objective(parent: RunData, settings: dict[str, Any]) -> tuple[Optional[str], str]:
    metric = _first(settings, _METRIC_KEYS) or parent.tags.get("tradexp.hpo.metric") or _first({k.removeprefix("hpo."): v for k, v in parent.params.items()}, _METRIC_KEYS)
    direction = _first(settings, _DIRECTION_KEYS) or parent.tags.get("tradexp.hpo.direction") or parent.params.get("hpo.direction")
    if direction is None and isinstance(settings.get("directions"), list) and settings["directions"]:
        direction = settings["directions"][0]
    direction = str(direction or "").lower()
    if direction in ("max", "maximize", "maximise", "studydirection.maximize"):
        direction = "maximize"
    elif direction in ("min", "minimize", "minimise", "studydirection.minimize"):
        direction = "minimize"
    else:
        direction = "minimize" if metric is None else optuna_direction(str(metric))
    return (str(metric) if metric else None), direction


def _trial_number(run: RunData) -> float:
    try:
        return float(run.tags.get("tradexp.trial", "inf"))
    except ValueError:
        return float("inf")


def collect_study(client: "MlflowClient", name_or_run_id: str, *, histories: bool = True) -> StudyData:
    """Read a study: its parent (with `hpo/` files and `plots/`), trial runs and related runs.

    Args:
        client: Client of the tracking store.
        name_or_run_id: Study name, parent run id, or a trial's run id.
        histories: Read each trial's history of the objective metric (intermediate values).

    Raises:
        ReportError: No such study.
    """
    parent_run = find_study_run(client, name_or_run_id)
    names: dict[str, str] = {}
    parent = collect_run(client, parent_run.info.run_id, files=STUDY_FILES, run=parent_run, experiment_names=names)
    settings = parent.json("hpo/study.json") or {}
    if not isinstance(settings, dict):
        settings = {"study": settings}
    space = parent.json("hpo/search_space.json")
    name = parent.tags.get("tradexp.study") or str(settings.get("study_name") or settings.get("name") or parent.name)
    metric, direction = _objective(parent, settings)
    exp_ids = [parent.experiment_id]
    children = _search_all(client, exp_ids, f"tags.mlflow.parentRunId = '{parent.run_id}'")
    trials = []
    for child in children:
        data = run_from_entity(child, parent.experiment_name)
        if histories and metric and metric in data.metrics:
            history = client.get_metric_history(data.run_id, metric)
            data.histories[metric] = [MetricPoint(int(m.step), float(m.value), int(m.timestamp)) for m in history]
        trials.append(data)
    trials.sort(key=lambda r: (_trial_number(r), r.start_time or 0))
    related: list[RunData] = []
    if _SAFE_VALUE.match(name):
        child_ids = {t.run_id for t in trials}
        for run in _search_all(client, exp_ids, f"tags.`tradexp.study` = '{name}'"):
            if run.info.run_id != parent.run_id and run.info.run_id not in child_ids and run.data.tags.get("tradexp.type") != "hpo_trial":
                related.append(run_from_entity(run, parent.experiment_name))
    return StudyData(
        name=name,
        parent=parent,
        trials=trials,
        settings=settings,
        search_space=space if isinstance(space, dict) else None,
        trials_csv=parent.csv("hpo/trials.csv"),
        related=related,
        metric=metric,
        direction=direction,
        importances=parent.json("hpo/importances.json"),
    )
