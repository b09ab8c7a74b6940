"""The three reports' entry points, each read -> page -> `publish` (a local file plus the run's `report/`).

    from tradexp.reporting import run_report, study_report, compare_report
    run_report(run_id)                                   # -> Path; also logged as report/run_report.html
    study_report("lstm-study")                           # logged to the study's parent run
    compare_report(experiment="tradexp/development/synthetic", top=5, metric="test/acc")  # a new comparison run

Reading is in `read_runs` / `read_study`, the numbers in `run_info` / `study_info`, the pages in
`run_page` / `study_page` / `comparison_page`; this module only wires them and writes the result.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

from tradexp import __version__
from tradexp.reporting.comparison_page import build_comparison_html
from tradexp.reporting.read_runs import RunData, collect_run, collect_runs, select_runs
from tradexp.reporting.run_page import build_run_html
from tradexp.tracking.sqlite_runs import open_for_reading

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from tradexp.tracking.parent_run import ParentRun

__all__ = ["publish", "run_report", "study_report", "compare_report", "default_report_path", "REPORT_FILES", "RUN_REPORT_FILE", "STUDY_REPORT_FILE", "COMPARISON_REPORT_FILE"]

log = logging.getLogger(__name__)

Kind = Literal["run", "study", "comparison"]
REPORT_FILES: dict[str, str] = {"run": "run_report.html", "study": "study_report.html", "comparison": "comparison_report.html"}
RUN_REPORT_FILE = REPORT_FILES["run"]
STUDY_REPORT_FILE = REPORT_FILES["study"]
COMPARISON_REPORT_FILE = REPORT_FILES["comparison"]


def default_report_path(kind: str, ident: str) -> Path:
    """`reports/<kind>_<ident>.html` in the working directory (ident reduced to safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ident).strip("_")[:80] or kind
    return Path("reports") / f"{kind}_{safe}.html"


def publish(html: str, kind: Kind, ident: str, path: Optional[str | Path] = None, *, client: Optional["MlflowClient"] = None, run_id: Optional[str] = None) -> Path:
    """Write a report to `path` (default `reports/<kind>_<ident>.html`) and log it into `run_id`.

    Args:
        html: The page.
        kind: `run`, `study` or `comparison` (names the file in the run: `report/<kind>_report.html`).
        ident: What the report is of (run id, study name, time stamp), for the default file name.
        path: Where to write the file.
        client: Client of the store the report is logged to (with `run_id`).
        run_id: The run that receives the report; None writes only the file.

    Returns:
        The absolute path of the written file.
    """
    out = Path(path) if path else default_report_path(kind, ident)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    if client is not None and run_id:
        with tempfile.TemporaryDirectory(prefix="tradexp-report-") as tmp:
            local = Path(tmp) / REPORT_FILES[kind]
            local.write_text(html, encoding="utf-8")
            client.log_artifact(run_id, str(local), "report")
    log.info("%s report of %s: %s", kind, ident, out.resolve())
    return out.resolve()


def run_report(run_id: str, path: Optional[str | Path] = None, *, tracking_uri: Optional[str] = None, log_to_run: bool = True, client: Optional["MlflowClient"] = None) -> Path:
    """Write the training report of a run and log it to the run as `report/run_report.html`.

    Args:
        run_id: The MLflow run.
        path: Where to write the HTML (default `reports/run_<run_id>.html`).
        tracking_uri: The store (default `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`).
        log_to_run: Also log the file into the run.
        client: An open client (overrides `tracking_uri`).

    Returns:
        The absolute path of the written file.

    Raises:
        ReportError: The run does not exist.
    """
    client = client or open_for_reading(tracking_uri)  # a local sqlite store: read and logged without MLflow's client
    html = build_run_html(collect_run(client, run_id))
    return publish(html, "run", run_id, path, client=client, run_id=run_id if log_to_run else None)


def study_report(
    name_or_run_id: str, path: Optional[str | Path] = None, *, tracking_uri: Optional[str] = None, log_to_run: bool = True, client: Optional["MlflowClient"] = None
) -> Path:
    """Write the report of an HPO study and log it to the study's parent run (`report/study_report.html`).

    `name_or_run_id` is the study name (`tradexp.study` tag), its parent run id or a trial's run id;
    the default file is `reports/study_<name>.html`; the other arguments are `run_report`'s.

    Raises:
        ReportError: No such study.
    """
    from tradexp.reporting.read_study import collect_study
    from tradexp.reporting.study_page import build_study_html
    from tradexp.tracking.store import open_store

    client = client or open_store(tracking_uri)
    study = collect_study(client, name_or_run_id)
    html = build_study_html(study)
    return publish(html, "study", study.name, path, client=client, run_id=study.parent.run_id if log_to_run else None)


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
    client: Optional["MlflowClient"] = None,
) -> Path:
    """Write a comparison report and log it into a new `comparison` run (experiment of the first run).

    Args:
        run_ids: Runs to compare; or leave empty and give `experiment` (+ `filter_string`).
        path: Where to write the HTML (default `reports/comparison_<time>.html`).
        experiment: Experiment whose runs are filtered.
        filter_string: MLflow filter, e.g. "tags.`tradexp.model` = 'lstm'".
        top: Keep the best K runs by `metric` (or the first K ids).
        metric: Order runs by this metric (best first) and highlight the best.
        ascending: Order direction; default from `tradexp.metric_direction.lower_is_better`.
        tracking_uri: The store (default `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`).
        log_to_mlflow: Create the comparison run and log the report into it.
        client: An open client (overrides `tracking_uri`).

    Returns:
        The absolute path of the written file.

    Raises:
        ReportError: Unknown runs or experiment, a bad filter, or nothing selected.
    """
    client = client or _store(tracking_uri, writes=log_to_mlflow)
    ids = select_runs(client, run_ids=run_ids, experiment=experiment, filter_string=filter_string, top=top, metric=metric, ascending=ascending)
    histories = ["train/loss", "val/loss", "epoch"] + ([f"val/{metric.removeprefix('test/')}"] if metric else [])
    runs = collect_runs(client, ids, histories=histories)
    html = build_comparison_html(runs, metric=metric, selection=_selection_text(run_ids, experiment, filter_string, top, metric))
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    if not log_to_mlflow:
        return publish(html, "comparison", stamp, path)
    with _open_comparison_run(client, runs, stamp) as comparison:  # ends FINISHED, FAILED or KILLED
        client.log_text(comparison.run_id, json.dumps({"runs": [r.run_id for r in runs]}, indent=2), "report/compared_runs.json")
        return publish(html, "comparison", stamp, path, client=client, run_id=comparison.run_id)


def _store(tracking_uri: Optional[str], writes: bool) -> Any:
    """MLflow's client when the report is logged to the store; else what reads fastest (`open_for_reading`)."""
    if writes:
        from tradexp.tracking.store import open_store

        return open_store(tracking_uri)
    return open_for_reading(tracking_uri)


def _open_comparison_run(client: "MlflowClient", runs: Sequence[RunData], stamp: str) -> "ParentRun":
    """A `comparison` run in the first run's experiment, naming the compared runs (tags; the JSON is logged by the caller)."""
    ids = [r.run_id for r in runs]
    tags: dict[str, Any] = {"tradexp.type": "comparison", "tradexp.compared_count": str(len(ids)), "tradexp.compared_runs": ",".join(ids)[:7900]}
    for key in ("tradexp.stage", "tradexp.dataset"):
        values = {r.tags.get(key) for r in runs}
        if len(values) == 1 and None not in values:
            tags[key] = values.pop()
    tags["tradexp.version"] = __version__
    from tradexp.tracking.parent_run import ParentRun

    return ParentRun.create(client, runs[0].experiment_id, f"comparison-{len(ids)}runs-{stamp}", tags)
