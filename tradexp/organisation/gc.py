"""`tradexp gc`: free the disk held by deleted runs and, when asked, by failed, killed and pruned runs.

    tradexp gc                                     dry run: what deleted runs hold
    tradexp gc --status failed,killed,pruned --older-than 30d
    tradexp gc --experiment tradexp/development/synthetic --status pruned --yes

A run is freed whole: its artifacts (checkpoints, plots, logged models) and its local folder under
`lightning_logs/<experiment_id>/<run_id>/`. The store is purged by MLflow's own `mlflow gc` on the
chosen run ids (and the logged models they produced), so the backend forgets them the way MLflow
does. The source run of a registered model version is never touched: a deleted one makes `--yes`
refuse, naming the version, because a later `mlflow gc` would break that version.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import unquote, urlparse

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException

from callbacks.redaction import strip_credentials
from tradexp.cli_args import add_tracking_uri
from tradexp.errors import TradexpError
from tradexp.organisation.tables import render_table
from tradexp.tracking.naming import TRIAL_STATE_TAG
from tradexp.tracking.server import is_server_uri
from tradexp.tracking.store import open_store

__all__ = ["GcCandidate", "GcPlan", "plan_gc", "apply_gc", "parse_age", "gc_main", "GC_STATUSES"]

# What `--status` may name: MLflow statuses of ended runs, and `pruned` (a FINISHED HPO trial whose
# `tradexp.trial.state` tag is PRUNED).
GC_STATUSES = ("failed", "killed", "pruned")
_AGE = re.compile(r"^(?:(?P<d>\d+(?:\.\d+)?)d)?(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class GcCandidate:
    """One run `tradexp gc` would free, and what it holds.

    Attributes:
        run_id: The MLflow run.
        experiment: Experiment name (`-` for a local folder whose run the store no longer has).
        run_name: Run name.
        reason: `deleted`, `failed`, `killed`, `pruned` or `orphan` (local folder, no run in the store).
        artifact_bytes: Bytes under the run's artifact location and its logged models (local stores).
        artifact_paths: Local folders of those artifacts (none for a remote artifact store).
        local_paths: Local folders of the run (`lightning_logs/<experiment_id>/<run_id>`).
        local_bytes: Bytes under `local_paths`.
        logged_models: Ids of the logged models the run produced (purged with it).
        kept_for: `NAME vN` of a registered model version whose source is this run, else None.
    """

    run_id: str
    experiment: str
    run_name: str
    reason: str
    artifact_bytes: int
    artifact_paths: tuple[Path, ...]
    local_paths: tuple[Path, ...]
    local_bytes: int
    logged_models: tuple[str, ...] = ()
    kept_for: Optional[str] = None

    @property
    def bytes(self) -> int:
        return self.artifact_bytes + self.local_bytes


@dataclass
class GcPlan:
    """What `tradexp gc` found: runs to free and runs kept because a registered version needs them."""

    tracking_uri: str
    candidates: list[GcCandidate] = field(default_factory=list)

    @property
    def freed(self) -> list[GcCandidate]:
        return [c for c in self.candidates if c.kept_for is None]

    @property
    def kept(self) -> list[GcCandidate]:
        return [c for c in self.candidates if c.kept_for is not None]

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.freed)


def parse_age(text: str) -> float:
    """Seconds in an age such as `30d`, `12h`, `90m`, `2d12h` (MLflow's `--older-than` format).

    Raises:
        ValueError: Text that is not such an age.
    """
    match = _AGE.match(text.strip())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise ValueError(f"--older-than: {text!r} received; write an age such as 30d, 12h, 90m or 2d12h")
    return sum(float(value) * _SECONDS[unit] for unit, value in match.groupdict().items() if value)


def _parse_statuses(text: Optional[str]) -> tuple[str, ...]:
    if not text:
        return ()
    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    unknown = [s for s in names if s not in GC_STATUSES]
    if unknown:
        raise ValueError(f"--status: {', '.join(unknown)} received; a comma-separated list of {', '.join(GC_STATUSES)}")
    return names


def _local_dir(uri: str) -> Optional[Path]:
    """The folder of a `file:` URI or a plain path; None for a remote artifact store."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def _folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _version_sources(client: MlflowClient) -> dict[str, str]:
    """{run_id: `NAME vN`} of every registered model version's source run."""
    sources: dict[str, str] = {}
    page_token = None
    while True:
        page = client.search_model_versions(page_token=page_token)
        for version in page:
            if version.run_id:
                sources.setdefault(version.run_id, f"{version.name} v{version.version}")
        page_token = page.token
        if not page_token:
            return sources


def _reason(run: Run, statuses: Sequence[str]) -> Optional[str]:
    if run.info.lifecycle_stage == "deleted":
        return "deleted"
    if "pruned" in statuses and run.data.tags.get(TRIAL_STATE_TAG) == "PRUNED":
        return "pruned"
    status = run.info.status.lower()
    return status if status in statuses and status in ("failed", "killed") else None


def _logged_models(client: MlflowClient, run: Run) -> list[tuple[str, Optional[Path]]]:
    """(model id, local artifact folder) of the logged models `run` produced."""
    models = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    return [(m.model_id, _local_dir(m.artifact_location)) for m in models]


def _run_candidate(client: MlflowClient, run: Run, reason: str, experiment: str, logs: Path, kept_for: Optional[str]) -> GcCandidate:
    artifacts = _local_dir(run.info.artifact_uri)
    models = _logged_models(client, run)
    folders = [p for p in [artifacts, *(folder for _, folder in models)] if p is not None and p.exists()]
    local = tuple(sorted(p for p in logs.glob(f"*/{run.info.run_id}") if p.is_dir()))
    return GcCandidate(
        run_id=run.info.run_id,
        experiment=experiment,
        run_name=run.info.run_name or "",
        reason=reason,
        artifact_bytes=sum(_folder_bytes(p) for p in folders),
        artifact_paths=tuple(folders),
        local_paths=local,
        local_bytes=sum(_folder_bytes(p) for p in local),
        logged_models=tuple(model_id for model_id, _ in models),
        kept_for=kept_for,
    )


def _orphans(client: MlflowClient, logs: Path, known: set[str], experiment_ids: Optional[set[str]], cutoff_s: Optional[float]) -> list[GcCandidate]:
    """Local run folders `lightning_logs/<experiment_id>/<run_id>` whose run the store no longer has."""
    found = []
    for folder in sorted(logs.glob("*/*")):
        if not folder.is_dir() or not _RUN_ID.match(folder.name) or folder.name in known:
            continue
        if experiment_ids is not None and folder.parent.name not in experiment_ids:
            continue
        if cutoff_s is not None and folder.stat().st_mtime > cutoff_s:
            continue
        try:
            client.get_run(folder.name)
            continue  # a run the filters left out
        except MlflowException as exc:  # the store purged it (an earlier `mlflow gc`): only the folder is left
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        found.append(GcCandidate(folder.name, "-", "", "orphan", 0, (), (folder,), _folder_bytes(folder)))
    return found


def plan_gc(
    client: MlflowClient, statuses: Sequence[str] = (), older_than: Optional[float] = None, experiment: Optional[str] = None, logs_dir: str | Path = "lightning_logs"
) -> GcPlan:
    """What `tradexp gc` would free; nothing is changed.

    Args:
        client: The tracking store.
        statuses: Also free active runs that ended so: `failed`, `killed`, `pruned`.
        older_than: Only runs that ended (or, never ended, started) more than this many seconds ago.
        experiment: Only runs of this experiment (name).
        logs_dir: The local folder of run logs and checkpoints (`lightning_logs`).

    Returns:
        The plan; `apply_gc` carries it out.

    Raises:
        ValueError: An unknown status or experiment.
    """
    unknown = [s for s in statuses if s not in GC_STATUSES]
    if unknown:
        raise ValueError(f"statuses: {unknown} received; any of {', '.join(GC_STATUSES)}")
    experiments = {e.experiment_id: e.name for e in client.search_experiments(view_type=ViewType.ALL)}
    if experiment is not None:
        chosen = {i: n for i, n in experiments.items() if n == experiment}
        if not chosen:
            raise ValueError(f"--experiment: {experiment!r} received; no such experiment (have: {', '.join(sorted(experiments.values())) or 'none'})")
        experiments = chosen
    cutoff_ms = (time.time() - older_than) * 1000 if older_than is not None else None
    sources = _version_sources(client)
    logs = Path(logs_dir)
    plan = GcPlan(strip_credentials(client.tracking_uri))
    known: set[str] = set()
    page_token = None
    while experiments:
        page = client.search_runs(list(experiments), run_view_type=ViewType.ALL, max_results=1000, page_token=page_token)
        for run in page:
            known.add(run.info.run_id)
            reason = _reason(run, statuses)
            if reason is None or run.info.status == "RUNNING" and reason != "deleted":
                continue
            if cutoff_ms is not None and (run.info.end_time or run.info.start_time or 0) > cutoff_ms:
                continue
            name = experiments[run.info.experiment_id]
            plan.candidates.append(_run_candidate(client, run, reason, name, logs, sources.get(run.info.run_id)))
        page_token = page.token
        if not page_token:
            break
    if logs.is_dir():
        cutoff_s = cutoff_ms / 1000 if cutoff_ms is not None else None
        plan.candidates += _orphans(client, logs, known, set(experiments) if experiment is not None else None, cutoff_s)
    return plan


def _mlflow_gc(tracking_uri: str, run_ids: Sequence[str], model_ids: Sequence[str]) -> None:
    """Purge deleted runs and logged models with MLflow's own `mlflow gc` (metadata and artifacts)."""
    from mlflow.cli import gc

    args = ["--backend-store-uri", tracking_uri, "--tracking-uri", tracking_uri, "--run-ids", ",".join(run_ids)]
    if model_ids:
        args += ["--logged-model-ids", ",".join(model_ids)]
    gc.main(args, standalone_mode=False)


def apply_gc(client: MlflowClient, plan: GcPlan) -> int:
    """Free what `plan` lists: mark the runs and their logged models deleted, purge them with
    MLflow's `mlflow gc`, remove their local folders. Returns the bytes freed.

    Raises:
        TradexpError: A deleted run is the source of a registered model version, or the store is a
            tracking server (its backend database is purged on the server: `mlflow gc --backend-store-uri`).
    """
    blocked = [c for c in plan.kept if c.reason == "deleted"]
    if blocked:
        names = ", ".join(f"{c.run_id} (source of {c.kept_for})" for c in blocked)
        raise TradexpError(
            f"refusing to free: deleted run(s) {names} are the source of a registered model version; "
            "restore them (`mlflow runs restore --run-id RUN_ID`) or delete the version first, then run `tradexp gc --yes` again"
        )
    runs = [c for c in plan.freed if c.reason != "orphan"]
    tracking_uri = client.tracking_uri
    if runs and is_server_uri(tracking_uri):
        raise TradexpError(
            f"{strip_credentials(tracking_uri)} is a tracking server: run `mlflow gc --backend-store-uri DB_URI` on the server "
            "(tradexp gc purges sqlite and database stores it can open)"
        )
    for candidate in runs:
        if candidate.reason != "deleted":
            client.delete_run(candidate.run_id)
        for model_id in candidate.logged_models:
            client.delete_logged_model(model_id)
    if runs:
        _mlflow_gc(tracking_uri, [c.run_id for c in runs], [m for c in runs for m in c.logged_models])
    for candidate in plan.freed:
        for path in candidate.local_paths:
            shutil.rmtree(path, ignore_errors=True)
        for path in candidate.artifact_paths:  # `mlflow gc` empties `<run_id>/artifacts`; the folders stay
            shutil.rmtree(path, ignore_errors=True)
            _remove_empty_parents(path, stop_at=candidate.run_id)
    return plan.bytes


def _remove_empty_parents(path: Path, stop_at: str) -> None:
    """Remove the empty folders above `path` up to the one named `stop_at` (a run or model id)."""
    for parent in path.parents:
        if not parent.is_dir() or any(parent.iterdir()):
            return
        parent.rmdir()
        if parent.name == stop_at or parent.name.startswith("m-"):
            return


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _print_plan(plan: GcPlan, dry_run: bool) -> None:
    rows = [
        {
            "run_id": c.run_id,
            "reason": c.reason,
            "experiment": c.experiment,
            "artifacts": _size(c.artifact_bytes),
            "local": _size(c.local_bytes),
            "local paths": ", ".join(os.path.relpath(p) for p in c.local_paths) or "-",
        }
        for c in plan.freed
    ]
    if rows:
        print(render_table(rows, ["run_id", "reason", "experiment", "artifacts", "local", "local paths"], max_width=80))
    for c in plan.kept:
        print(f"kept: {c.run_id} ({c.reason}) is the source of registered model version {c.kept_for}")
    verb = "would free" if dry_run else "freed"
    print(f"\n{verb} {_size(plan.bytes)} in {len(plan.freed)} run(s) of {plan.tracking_uri}" + (" (dry run: --yes deletes)" if dry_run and plan.freed else ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradexp gc",
        description="Free the artifacts and local logs of deleted runs (purged with MLflow's own `mlflow gc`) and, "
        "when asked, of failed, killed and pruned runs. A dry run unless --yes. The source run of a registered "
        "model version is never touched.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--yes", action="store_true", help="delete what is listed (default: only list it)")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be freed (the default)")
    parser.add_argument("--status", metavar="S1,S2", help=f"also free runs that ended so: {', '.join(GC_STATUSES)} (pruned = HPO trials pruned by Optuna)")
    parser.add_argument("--older-than", metavar="AGE", help="only runs that ended more than AGE ago, e.g. 30d, 12h")
    parser.add_argument("--experiment", metavar="NAME", help="only runs of this experiment")
    parser.add_argument("--logs-dir", default="lightning_logs", help="local run folders (default: lightning_logs)")
    add_tracking_uri(parser)
    return parser


def gc_main(argv: Sequence[str]) -> int:
    """`tradexp gc [--status failed,killed,pruned] [--older-than 30d] [--experiment NAME] [--yes]`."""
    args = _parser().parse_args(list(argv))
    if args.yes and args.dry_run:
        raise ValueError("--yes and --dry-run received together; choose one")
    client = open_store(args.tracking_uri)
    older_than = parse_age(args.older_than) if args.older_than is not None else None
    plan = plan_gc(client, _parse_statuses(args.status), older_than, args.experiment, args.logs_dir)
    dry_run = not args.yes
    if not dry_run:
        apply_gc(client, plan)
    _print_plan(plan, dry_run)
    return 0
