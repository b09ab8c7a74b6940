"""One place that decides experiment names, run names and the searchable `tradexp.*` tags."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Literal, Optional

from tradexp import __version__

__all__ = ["RunIdentity", "experiment_name", "run_name", "identity_tags", "Stage", "RunType", "STAGES", "RUN_TYPES"]

Stage = Literal["development", "staging", "production"]
RunType = Literal["training", "hpo_study", "hpo_trial", "reproduction", "comparison", "walk_forward", "fold"]
STAGES = ("development", "staging", "production")
RUN_TYPES = ("training", "hpo_study", "hpo_trial", "reproduction", "comparison", "walk_forward", "fold")

DEFAULT_EXPERIMENT_TEMPLATE = "tradexp/{stage}/{dataset}"
DEFAULT_RUN_TEMPLATE = "{type}-{model}-{purpose}-{timestamp}"
_MAX_NAME = 250
_ALLOWED = re.compile(r"^[A-Za-z0-9 _./:=+@-]+$")


@dataclass
class RunIdentity:
    """Structured metadata every name and tag is derived from.

    Args:
        model: `mlp`, `lstm`, `gru`, `cnn_lstm` or another net's name.
        dataset: Dataset name (file stem or `synthetic`).
        stage: development / staging / production.
        type: training, hpo_study, hpo_trial, reproduction, comparison, walk_forward, fold.
        purpose: Short free text (e.g. `baseline`), used in names and the `tradexp.purpose` tag.
        dataset_version: Version label of the dataset (default: its content digest).
        timestamp: When the run started (default: now, UTC).
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
            raise ValueError(f"`tracking.stage` must be one of {list(STAGES)}, got {self.stage!r}")
        if self.type not in RUN_TYPES:
            raise ValueError(f"run type must be one of {list(RUN_TYPES)}, got {self.type!r}")


def _fields(identity: RunIdentity) -> dict[str, str]:
    return {
        "stage": identity.stage,
        "type": identity.type,
        "model": identity.model,
        "dataset": identity.dataset,
        "dataset_version": identity.dataset_version or "",
        "purpose": identity.purpose or "run",
        "timestamp": identity.timestamp.strftime("%Y%m%d-%H%M%S"),
        "date": identity.timestamp.strftime("%Y-%m-%d"),
    }


def _render(template: str, identity: RunIdentity, what: str) -> str:
    try:
        name = template.format(**_fields(identity))
    except KeyError as exc:
        raise ValueError(
            f"`tracking.{what}_template` {template!r} uses unknown field {exc}; allowed: {sorted(_fields(identity))}"
        ) from None
    name = re.sub(r"-{2,}", "-", name).strip("-")
    if not name or len(name) > _MAX_NAME:
        raise ValueError(f"{what} name {name!r} must be 1..{_MAX_NAME} characters (from template {template!r})")
    if not _ALLOWED.match(name):
        raise ValueError(
            f"{what} name {name!r} has characters MLflow names should not carry; "
            "allowed: letters, digits, space and _ . / : = + @ -"
        )
    return name


def experiment_name(identity: RunIdentity, template: str = DEFAULT_EXPERIMENT_TEMPLATE) -> str:
    """Experiment name from the template (fields: stage, type, model, dataset, dataset_version, purpose, timestamp, date)."""
    return _render(template, identity, "experiment")


def run_name(identity: RunIdentity, template: str = DEFAULT_RUN_TEMPLATE) -> str:
    """Run name from the template (same fields as `experiment_name`)."""
    return _render(template, identity, "run")


def identity_tags(identity: RunIdentity, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The `tradexp.*` tags every run carries, plus user tags (`extra`, kept as given)."""
    tags = {
        "tradexp.stage": identity.stage,
        "tradexp.type": identity.type,
        "tradexp.model": identity.model,
        "tradexp.dataset": identity.dataset,
        "tradexp.purpose": identity.purpose,
        "tradexp.version": __version__,
    }
    if identity.dataset_version:
        tags["tradexp.dataset.version"] = identity.dataset_version
    tags.update({str(k): str(v) for k, v in (extra or {}).items()})
    return tags
