"""One place that decides experiment names, run names and the searchable `tradexp.*` tags.

Names come from templates over structured metadata (`RunIdentity`):

    experiment: tradexp/{stage}/{dataset}                -> tradexp/development/synthetic
    run:        {type}-{model}-{purpose}-{timestamp}     -> training-lstm-baseline-20240611-093015

Both templates are set in YAML (`tracking.experiment_template`, `tracking.run_template`). Field
values are made name-safe (characters outside letters, digits and `_ . = + @ -` become `_`); the
finished name is checked against MLflow's limits (experiment 256 characters, run 250) and
characters, and a bad template or an over-long name is a `ValueError` naming the setting to change.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import platform
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Optional

from tradexp import __version__

__all__ = [
    "RunIdentity",
    "experiment_name",
    "run_name",
    "identity_tags",
    "git_tags",
    "package_version_tags",
    "parent_run_tags",
    "template_problem",
    "tag_key_problem",
    "Stage",
    "RunType",
    "STAGES",
    "RUN_TYPES",
    "NAME_FIELDS",
    "IDENTITY_TAG_KEYS",
    "KEY_PACKAGES",
    "MAX_EXPERIMENT_NAME",
    "MAX_RUN_NAME",
    "DEFAULT_EXPERIMENT_TEMPLATE",
    "DEFAULT_RUN_TEMPLATE",
    "TRIAL_STATE_TAG",
]

Stage = Literal["development", "staging", "production"]
RunType = Literal["training", "hpo_study", "hpo_trial", "reproduction", "comparison", "walk_forward", "fold", "prediction"]
STAGES = ("development", "staging", "production")
RUN_TYPES = ("training", "hpo_study", "hpo_trial", "reproduction", "comparison", "walk_forward", "fold", "prediction")
NAME_FIELDS = ("stage", "type", "model", "dataset", "dataset_version", "purpose", "timestamp", "date")

DEFAULT_EXPERIMENT_TEMPLATE = "tradexp/{stage}/{dataset}"
DEFAULT_RUN_TEMPLATE = "{type}-{model}-{purpose}-{timestamp}"

# MLflow's sql stores hold experiment names in a 256-character column and run names in a 250 one.
MAX_EXPERIMENT_NAME = 256
MAX_RUN_NAME = 250
_MAX_TAG_KEY = 250
_MAX_TAG_VALUE = 8000
_NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9 _./:=+@-]+$")
_FIELD_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+@-]+")
_TAG_KEY = re.compile(r"^[/\w.\- :]+$")  # what MLflow accepts as a tag key (posix)

# An HPO trial's end as Optuna saw it: COMPLETE, PRUNED or FAIL (a pruned trial's run is FINISHED).
TRIAL_STATE_TAG = "tradexp.trial.state"

# Tags tradexp sets itself; user tags may not replace them (each has its own setting).
IDENTITY_TAG_KEYS = {
    "tradexp.stage": "tracking.stage",
    "tradexp.type": "tracking.run_type",
    "tradexp.model": "model.net",
    "tradexp.dataset": "data.dataset_name",
    "tradexp.dataset.version": "tracking.dataset_version",
    "tradexp.dataset.digest": "the data itself",
    "tradexp.purpose": "tracking.purpose",
    "tradexp.git.commit": "the code checkout",
    "tradexp.git.dirty": "the code checkout",
    "tradexp.version": "the installed tradexp",
}
# Packages whose versions every run records as `tradexp.env.<name>` (reproduce compares them).
KEY_PACKAGES = ("torch", "lightning", "mlflow", "optuna", "numpy", "pandas", "torchmetrics")


@dataclass
class RunIdentity:
    """Structured metadata every name and tag is derived from.

    Args:
        model: `mlp`, `lstm`, `gru`, `cnn_lstm` or another net's name.
        dataset: Dataset name (file stem or `synthetic`).
        stage: development / staging / production.
        type: training, hpo_study, hpo_trial, reproduction, comparison, walk_forward, fold.
        purpose: Short free text (e.g. `baseline`), used in names and the `tradexp.purpose` tag.
        dataset_version: Version label of the dataset (e.g. `2024-06`); optional.
        timestamp: When the run started (default: now, UTC).

    Raises:
        ValueError: Unknown stage or type, or an empty model or dataset name.
    """

    model: str
    dataset: str
    stage: str = "development"
    type: str = "training"
    purpose: str = ""
    dataset_version: Optional[str] = None
    timestamp: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"tracking.stage: {self.stage!r} received; allowed: {', '.join(STAGES)}")
        if self.type not in RUN_TYPES:
            raise ValueError(f"tracking.run_type: {self.type!r} received; allowed: {', '.join(RUN_TYPES)}")
        if not str(self.model).strip():
            raise ValueError("model name is empty; the net's name (e.g. `lstm`) is needed for names and tags")
        if not str(self.dataset).strip():
            raise ValueError("data.dataset_name: '' received; a non-empty name (default: the file stem or `synthetic`)")


def _safe(value: str) -> str:
    from callbacks.redaction import redact_text  # a name is a record too: no URL password in it

    return _FIELD_UNSAFE.sub("_", redact_text(str(value))).strip("_")


def _fields(identity: RunIdentity) -> dict[str, str]:
    timestamp = identity.timestamp
    if timestamp.tzinfo is not None:
        timestamp = timestamp.astimezone(_dt.timezone.utc)
    return {
        "stage": identity.stage,
        "type": identity.type,
        "model": _safe(identity.model),
        "dataset": _safe(identity.dataset),
        "dataset_version": _safe(identity.dataset_version or ""),
        "purpose": _safe(identity.purpose) or "run",
        "timestamp": timestamp.strftime("%Y%m%d-%H%M%S"),
        "date": timestamp.strftime("%Y-%m-%d"),
    }


def template_problem(template: str, what: Literal["experiment", "run"]) -> Optional[str]:
    """What is wrong with a name template, or None: unknown fields, bad braces, bad characters.

    Args:
        template: e.g. `tradexp/{stage}/{dataset}`.
        what: `experiment` or `run` (names the setting in the message).
    """
    setting = f"tracking.{what}_template"
    sample = RunIdentity(model="m", dataset="d", purpose="p", dataset_version="v")
    try:
        rendered = template.format(**_fields(sample))
    except KeyError as exc:
        return f"{setting}: {template!r} received; unknown field {exc}; allowed fields: {', '.join(NAME_FIELDS)}"
    except (ValueError, IndexError) as exc:
        return f"{setting}: {template!r} received; not a valid template ({exc}); write fields as {{stage}}, {{model}}, ..."
    literal = re.sub(r"\{[^{}]*\}", "", template)
    if not rendered.strip() or not _NAME_CHARACTERS.match(literal or "x"):
        return f"{setting}: {template!r} received; names may hold letters, digits, space and _ . / : = + @ - and template fields ({', '.join(NAME_FIELDS)})"
    return None


def _render(template: str, identity: RunIdentity, what: Literal["experiment", "run"]) -> str:
    problem = template_problem(template, what)
    if problem:
        raise ValueError(problem)
    name = template.format(**_fields(identity))
    name = re.sub(r"-{2,}", "-", name)
    name = re.sub(r"/{2,}", "/", name).strip("-/ ")
    limit = MAX_EXPERIMENT_NAME if what == "experiment" else MAX_RUN_NAME
    if not name or len(name) > limit:
        raise ValueError(
            f"{what} name {name[:80]!r}{'...' if len(name) > 80 else ''} has {len(name)} characters; MLflow allows "
            f"1..{limit}: shorten `tracking.purpose`/`data.dataset_name` or `tracking.{what}_template`"
        )
    if not _NAME_CHARACTERS.match(name):
        raise ValueError(f"{what} name {name!r} has characters MLflow names should not carry; allowed: letters, digits, space and _ . / : = + @ -")
    return name


def experiment_name(identity: RunIdentity, template: str = DEFAULT_EXPERIMENT_TEMPLATE) -> str:
    """Experiment name from the template (fields: stage, type, model, dataset, dataset_version, purpose, timestamp, date).

    Raises:
        ValueError: Unknown template field, or a name MLflow would refuse (length or characters).
    """
    return _render(template, identity, "experiment")


def run_name(identity: RunIdentity, template: str = DEFAULT_RUN_TEMPLATE) -> str:
    """Run name from the template (same fields as `experiment_name`).

    Raises:
        ValueError: Unknown template field, or a name MLflow would refuse (length or characters).
    """
    return _render(template, identity, "run")


def tag_key_problem(key: str, value: object = "") -> Optional[str]:
    """What MLflow (or tradexp) would refuse about a user tag, or None."""
    text = str(value)
    if not key or len(key) > _MAX_TAG_KEY or not _TAG_KEY.match(key):
        return f"tracking.tags: key {key!r} received; tag keys are 1..{_MAX_TAG_KEY} characters of letters, digits, _ - . / : and space"
    if key in IDENTITY_TAG_KEYS:
        return f"tracking.tags: key {key!r} received; tradexp sets this tag itself (from {IDENTITY_TAG_KEYS[key]})"
    if len(text) > _MAX_TAG_VALUE:
        return f"tracking.tags.{key}: a value of {len(text)} characters received; MLflow allows at most {_MAX_TAG_VALUE}"
    return None


def package_version_tags() -> dict[str, str]:
    """`tradexp.env.python` and `tradexp.env.<package>` for the packages that decide a run's numbers."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> tuple[tuple[str, str], ...]:
    # Read once per process (~10 ms of metadata scans per run otherwise): the modules a process has
    # imported keep their version even if pip changes the installed one under it.
    tags = {"tradexp.env.python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            tags[f"tradexp.env.{name}"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(tags.items())


_pinned_git_tags: Optional[dict[str, str]] = None  # set inside `same_code()`


@contextmanager
def same_code() -> Iterator[None]:
    """Within: `git_tags()` of the running code is read once, not once per run.

    For the fits of one process that run the code it imported, an HPO study's trials: git's state is
    read when the block starts (~15 ms a trial otherwise), and a checkout edited meanwhile
    does not change what those fits ran.
    """
    global _pinned_git_tags
    outer = _pinned_git_tags
    _pinned_git_tags = dict(git_tags()) if outer is None else outer
    try:
        yield
    finally:
        _pinned_git_tags = outer


def git_tags(path: Optional[str | Path] = None) -> dict[str, str]:
    """`tradexp.git.commit`, `tradexp.git.dirty` and (when dirty) `tradexp.git.diff_digest` of the code.

    Args:
        path: A folder in the checkout; default the checkout of the running tradexp code (its package
            folder), or the working directory when tradexp is installed from a wheel (read once
            inside `same_code()`).
    """
    from callbacks.git_state import git_state

    if path is None and _pinned_git_tags is not None:
        return dict(_pinned_git_tags)

    state = git_state(path if path is not None else Path(__file__).resolve().parents[1])
    if path is None and not state.get("available"):
        state = git_state(Path.cwd())
    tags = {"tradexp.git.commit": state.get("commit") or "none", "tradexp.git.dirty": str(bool(state.get("dirty", False))).lower()}
    if state.get("dirty"):
        tags["tradexp.git.diff_digest"] = hashlib.sha256(state.get("diff", "").encode()).hexdigest()[:16]
    return tags


def parent_run_tags(parent_run_id: str) -> dict[str, str]:
    """The tag that nests a run (an HPO trial, a fold) under its parent in MLflow's UI."""
    return {"mlflow.parentRunId": parent_run_id}


def identity_tags(identity: RunIdentity, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The tags every run carries: `tradexp.*` identity, key package versions, plus user tags.

    Git tags and the data digest are added by `RunRecorder` once the code and data are known.

    Args:
        identity: What the run is.
        extra: User tags (`tracking.tags`), kept as given; they cannot replace identity tags.

    Raises:
        ValueError: A user tag MLflow would refuse or one that replaces an identity tag.
    """
    tags = {
        "tradexp.stage": identity.stage,
        "tradexp.type": identity.type,
        "tradexp.model": identity.model,
        "tradexp.dataset": identity.dataset,
        "tradexp.purpose": identity.purpose,
        "tradexp.version": __version__,
        **package_version_tags(),
    }
    if identity.dataset_version:
        tags["tradexp.dataset.version"] = identity.dataset_version
    for key, value in (extra or {}).items():
        problem = tag_key_problem(str(key), value)
        if problem:
            raise ValueError(problem)
        tags[str(key)] = str(value)
    return tags
