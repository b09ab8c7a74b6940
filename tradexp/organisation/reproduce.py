"""Re-run a run from its stored config and seed, as a new run of type `reproduction` linked to it.

Before starting, the original's code (git commit, uncommitted changes), package versions and data
digest are compared with what would run now, and every difference is reported; after finishing,
the metrics of both runs are compared. With the same code, data and seed on CPU the test metrics
match (configs set `seed_everything` and `trainer.deterministic: true`).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from mlflow import MlflowClient
from mlflow.entities import Run

from tradexp import __version__
from tradexp.config.history import get_run, run_config
from tradexp.errors import TradexpError
from tradexp.tracking.artifacts import read_artifact
from tradexp.tracking.naming import git_tags, package_version_tags
from tradexp.tracking.store import open_store

__all__ = ["Difference", "MetricChange", "Reproduction", "compare_with_now", "reproduction_config", "current_data", "metric_changes", "reproduce_run", "REPRODUCES_TAG"]

log = logging.getLogger(__name__)

REPRODUCES_TAG = "tradexp.reproduces"
_ENVIRONMENT_ARTIFACT = "environment/environment.json"


@dataclass(frozen=True)
class Difference:
    """Something that differs between the original run and a reproduction now."""

    what: str
    original: str
    now: str
    note: str = ""

    def line(self) -> str:
        return f"{self.what}: {self.original} (original) -> {self.now} (now)" + (f"; {self.note}" if self.note else "")


@dataclass(frozen=True)
class MetricChange:
    """A metric of the original and of the reproduction (None where a run lacks it)."""

    name: str
    original: Optional[float]
    reproduction: Optional[float]

    @property
    def difference(self) -> Optional[float]:
        if self.original is None or self.reproduction is None:
            return None
        return self.reproduction - self.original

    @property
    def matches(self) -> bool:
        if self.original is None or self.reproduction is None:
            return False
        if math.isnan(self.original) and math.isnan(self.reproduction):
            return True
        return math.isclose(self.original, self.reproduction, rel_tol=1e-6, abs_tol=1e-9)


@dataclass
class Reproduction:
    """Outcome of `reproduce_run`: the differences found before, the new run, the metric comparison."""

    original_run_id: str
    differences: list[Difference]
    run_id: Optional[str] = None
    metrics: list[MetricChange] = field(default_factory=list)

    @property
    def test_metrics_match(self) -> bool:
        """True when the reproduction ran and every `test/*` metric of the original equals its own."""
        tested = [m for m in self.metrics if m.name.startswith("test/") and m.original is not None]
        return self.run_id is not None and all(m.matches for m in tested)


def _original_packages(client: MlflowClient, run: Run) -> dict[str, str]:
    """Package versions the run recorded: `environment/environment.json` packages, else `tradexp.env.*` tags."""
    text = read_artifact(client, run.info.run_id, _ENVIRONMENT_ARTIFACT, run.info.artifact_uri)
    try:
        packages = (json.loads(text) if text else {}).get("packages") or {}
    except (ValueError, AttributeError):
        packages = {}
    if packages:
        return {str(k): str(v) for k, v in packages.items()}
    prefix = "tradexp.env."
    return {k[len(prefix) :]: v for k, v in run.data.tags.items() if k.startswith(prefix) and k != "tradexp.env.python"}


def _installed(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def current_data(data: dict[str, Any]) -> tuple[str, str]:
    """Digest and source of the bars a config's `data:` section gives now (the file is read again).

    Raises:
        DataValidationError: The file is missing or no longer valid.
    """
    from tradexp.data.features import extra_columns
    from tradexp.data.loading import bars_digest, load_bars
    from tradexp.data.synthetic import SyntheticMarket, synthetic_bars
    from tradexp.data.synthetic_universe import synthetic_universe
    from tradexp.data.universe import is_universe_path, load_universe, universe_digest

    extra = extra_columns(list(data.get("features") or []))
    adjusted = data.get("use_adjusted", True)
    symbols = data.get("symbols")
    if data.get("path") and is_universe_path(data["path"]):  # a folder, glob or long file: the universe digest
        universe = load_universe(data["path"], symbols, data.get("min_bars") or 0, data.get("drop_short_symbols", True), adjusted, extra)
        return universe.digest, str(Path(data["path"]).resolve())
    if data.get("path"):
        path = Path(data["path"]).resolve()
        return bars_digest(load_bars(path, use_adjusted=adjusted, extra_columns=extra)), str(path)
    market = SyntheticMarket(**(data.get("synthetic") or {}))
    if market.n_symbols > 1:  # the synthetic universe, subset as the datamodule does
        bars = synthetic_universe(market)
        return universe_digest({s: bars[s] for s in symbols if s in bars} if symbols else bars), market.source
    return bars_digest(synthetic_bars(market)), market.source


def _working_tree(dirty: bool, digest: Optional[str]) -> str:
    if not dirty:
        return "none"
    return f"diff {digest}" if digest else "yes"


def _code_differences(tags: dict[str, str]) -> list[Difference]:
    now = git_tags()
    found = []
    commit = tags.get("tradexp.git.commit")
    if commit and commit != now["tradexp.git.commit"]:
        found.append(Difference("git commit", commit[:12], now["tradexp.git.commit"][:12]))
    if "tradexp.git.dirty" in tags:
        then = (tags["tradexp.git.dirty"] == "true", tags.get("tradexp.git.diff_digest"))
        later = (now["tradexp.git.dirty"] == "true", now.get("tradexp.git.diff_digest"))
        if then != later:
            note = "the original's diff is in environment/git_diff.patch" if then[0] else ""
            found.append(Difference("uncommitted changes", _working_tree(*then), _working_tree(*later), note))
    if tags.get("tradexp.version") and tags["tradexp.version"] != __version__:
        found.append(Difference("tradexp version", tags["tradexp.version"], __version__))
    return found


def compare_with_now(client: MlflowClient, run: Run, data: dict[str, Any]) -> list[Difference]:
    """Everything that differs between the run and a run started now: code, packages, data.

    Args:
        client: The store holding `run`.
        run: The original run.
        data: The `data:` section the reproduction will use (after overrides).
    """
    tags = run.data.tags
    found = _code_differences(tags)
    python_then, python_now = tags.get("tradexp.env.python"), package_version_tags()["tradexp.env.python"]
    if python_then and python_then != python_now:
        found.append(Difference("python", python_then, python_now))
    for name, version in sorted(_original_packages(client, run).items()):
        installed = _installed(name)
        if installed != version:
            found.append(Difference(f"package {name}", version, installed))
    digest_then, source_then = tags.get("tradexp.dataset.digest"), tags.get("tradexp.dataset.source", "")
    try:
        digest_now, source_now = current_data(data)
    except (TradexpError, OSError, ValueError) as exc:  # the data may be gone or broken: a difference to report
        found.append(Difference("data", f"{digest_then} ({source_then})", f"unreadable: {exc}"))
        return found
    if digest_then and digest_then != digest_now:
        note = f"the file {source_now} changed since the run" if source_then == source_now else "the data source differs"
        found.append(Difference("data digest", f"{digest_then} ({source_then})", f"{digest_now} ({source_now})", note))
    return found


def metric_changes(original: dict[str, float], reproduction: dict[str, float]) -> list[MetricChange]:
    """Both runs' final metrics, test metrics first, then val, train and the rest."""
    order = ("test", "val", "train")

    def rank(name: str) -> tuple[int, str]:
        group = name.split("/", 1)[0]
        return (order.index(group) if group in order else len(order), name)

    names = sorted((set(original) | set(reproduction)) - {"epoch"}, key=rank)
    return [MetricChange(n, original.get(n), reproduction.get(n)) for n in names]


def reproduction_config(stored: dict[str, Any], run: Run, experiment: str, tracking_uri: str) -> dict[str, Any]:
    """The stored config set up to run again: a new run of type reproduction, linked, same store."""
    from tradexp.run import TRAINER_ONLY_KEYS

    config = {k: v for k, v in stored.items() if k not in TRAINER_ONLY_KEYS}
    tracking = dict(config.get("tracking") or {})
    tracking.update(run_type="reproduction", run_id=None, run_name=None, experiment=experiment, tracking_uri=tracking_uri)
    # Keep the user's tags; drop the ones that placed the original in a study, a walk-forward or
    # under a parent run: the reproduction stands alone, linked by `tradexp.reproduces`.
    inherited = {k: v for k, v in (tracking.get("tags") or {}).items() if not str(k).startswith(("tradexp.", "mlflow."))}
    tracking["tags"] = {**inherited, REPRODUCES_TAG: run.info.run_id}
    config["tracking"] = tracking
    source = run.data.tags.get("tradexp.dataset.source", "")
    data = dict(config.get("data") or {})
    if data.get("path") and Path(source).is_absolute():
        data["path"] = source  # the exact file the run read, wherever this is started from
    config["data"] = data
    return config


def reproduce_run(
    run_id: str,
    overrides: Optional[Sequence[str] | dict[str, Any]] = None,
    tracking_uri: Optional[str] = None,
    check_only: bool = False,
    strict: bool = False,
    on_differences: Optional[Callable[[list[Difference]], None]] = None,
) -> Reproduction:
    """Re-run `run_id` from its stored config and seed as a new `reproduction` run.

    Args:
        run_id: The original run.
        overrides: Changes to the stored config (`{"trainer.max_epochs": 3}` or `["--trainer.max_epochs=3"]`).
        tracking_uri: Store of the original (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`); the
            reproduction goes to the same store and experiment.
        check_only: Only compare code, packages and data; start nothing.
        strict: Start nothing when anything differs.
        on_differences: Called with the differences before anything starts (default: log warnings).

    Returns:
        Reproduction with the differences, the new run id and the metric comparison.

    Raises:
        TrackingError: The run does not exist or stored no config.
        ConfigError: The stored config with the overrides breaks a rule.
    """
    from tradexp.run import build, fit_built

    client = open_store(tracking_uri)
    run = get_run(client, run_id)
    experiment = client.get_experiment(run.info.experiment_id).name
    config = reproduction_config(run_config(client, run_id), run, experiment, client.tracking_uri)
    built = build(config, overrides)  # parsed and checked once; the run itself starts with the fit
    differences = compare_with_now(client, run, built.config["data"].as_dict())
    (on_differences or _log_differences)(differences)
    result = Reproduction(original_run_id=run_id, differences=differences)
    if check_only or (strict and differences):
        return result
    fitted = fit_built(built, test=True)
    new_id = fitted.run_id
    if new_id is not None:
        client.set_tag(new_id, REPRODUCES_TAG, run_id)
        headline = client.get_run(new_id).data.tags.get("mlflow.note.content", "")  # RunDescription's headline: kept below
        client.set_tag(new_id, "mlflow.note.content", f"Reproduction of run {run_id} ({run.info.run_name}).\n\n{headline}".strip())
        result.run_id = new_id
        result.metrics = metric_changes(run.data.metrics, client.get_run(new_id).data.metrics)
    return result


def _log_differences(differences: list[Difference]) -> None:
    for difference in differences:
        log.warning("reproduce: %s", difference.line())
