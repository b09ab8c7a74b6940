"""Names and tags of a run from its config, and the one way a parent run opens and ends.

    names = run_names(config["tracking"], *config_identity(config), run_type="walk_forward")
    with ParentRun.start(names) as parent:      # FINISHED on a clean end, FAILED (+ tradexp.error)
        ...                                     # on an exception, KILLED on Ctrl-C / SIGTERM
        client.log_batch(parent.run_id, ...)

A fit's own run (TradexpLogger) takes its names and tags from `run_names` too; parent runs (an
HPO study, a walk-forward, a comparison) are plain MLflow runs opened here, tagged with the same
identity, git and version tags as a fit, and ended with `ParentRun.end`.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Mapping, Optional

from mlflow import MlflowClient

from callbacks.redaction import redact_mapping, redact_text
from tradexp.tracking.naming import DEFAULT_EXPERIMENT_TEMPLATE, DEFAULT_RUN_TEMPLATE, RunIdentity, experiment_name, git_tags, identity_tags, run_name
from tradexp.tracking.store import ensure_experiment, open_store, resolve_tracking_uri

__all__ = ["RunNames", "ParentRun", "run_names", "config_identity"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunNames:
    """Where a run goes and what it is called: experiment, run name, tags, store."""

    experiment: str
    run_name: str
    tags: dict[str, str] = field(default_factory=dict)
    tracking_uri: str = ""


def _get(settings: Any, key: str, default: Any = None) -> Any:
    value = settings.get(key, default) if hasattr(settings, "get") else getattr(settings, key, default)
    return default if value is None and default is not None else value


def run_names(tracking: Any, model: str, dataset: str, run_type: Optional[str] = None, extra_tags: Optional[Mapping[str, str]] = None) -> RunNames:
    """Names and identity tags of a run, from the `tracking` settings of its config.

    Args:
        tracking: The config's `tracking` section (dict, Namespace or `TrackingSettings`).
        model: Short model name (`lstm`); see `config_identity`.
        dataset: Dataset name (`synthetic`, a file stem).
        run_type: The `tradexp.type` (default `tracking.run_type`).
        extra_tags: Tags besides `tracking.tags` (they win over them).

    Raises:
        ValueError: A bad template, stage, type or tag (naming.py's messages).
    """
    identity = RunIdentity(
        model=model,
        dataset=dataset,
        stage=_get(tracking, "stage", "development"),
        type=run_type or _get(tracking, "run_type", "training"),
        purpose=_get(tracking, "purpose", ""),
        dataset_version=_get(tracking, "dataset_version"),
    )
    user_tags = {str(k): str(v) for k, v in dict(_get(tracking, "tags") or {}).items()}
    tags = identity_tags(identity, {**user_tags, **dict(extra_tags or {})})
    experiment = _get(tracking, "experiment") or experiment_name(identity, _get(tracking, "experiment_template", DEFAULT_EXPERIMENT_TEMPLATE))
    name = _get(tracking, "run_name") or run_name(identity, _get(tracking, "run_template", DEFAULT_RUN_TEMPLATE))
    return RunNames(experiment=experiment, run_name=name, tags=tags, tracking_uri=resolve_tracking_uri(_get(tracking, "tracking_uri")))


def config_identity(config: Mapping[str, Any]) -> tuple[str, str]:
    """(model, dataset) names of a resolved config, without building anything.

    The model name is the net's short name (`mlp`, `lstm`, `gru`, `cnn_lstm`, else the class name),
    the dataset name `data.dataset_name`, else the file stem, else `synthetic` (as the datamodule names it).
    """
    from tradexp.data.datamodule import dataset_name_for
    from tradexp.models.module import net_class_name

    net = config["model"]["net"]
    class_path = net["class_path"] if isinstance(net, Mapping) or hasattr(net, "get") else f"{type(net).__module__}.{type(net).__qualname__}"
    module, _, name = str(class_path).rpartition(".")
    data = config["data"]
    return net_class_name(getattr(importlib.import_module(module), name)), dataset_name_for(data.get("path"), data.get("dataset_name"))


class ParentRun:
    """A parent MLflow run (study, walk-forward, comparison) that always ends with an honest status.

    Use as a context manager, or call `end(error)` yourself: FINISHED when `error` is None, KILLED
    for Ctrl-C / SIGTERM, FAILED for anything else (with the error in `tradexp.error`).

    Args:
        client: MLflow client of the store.
        run_id: The run.
        experiment: Experiment name (None when unknown).
        name: Run name.
    """

    def __init__(self, client: MlflowClient, run_id: str, experiment: Optional[str] = None, name: Optional[str] = None) -> None:
        self.client = client
        self.run_id = run_id
        self.experiment = experiment
        self.name = name
        self.status: Optional[str] = None

    @classmethod
    def start(cls, names: RunNames, extra_tags: Optional[Mapping[str, str]] = None, client: Optional[MlflowClient] = None) -> "ParentRun":
        """Create the run (experiment created if missing) with its tags plus the code's git tags."""
        client = client or open_store(names.tracking_uri or None)
        experiment_id = ensure_experiment(client, names.experiment, names.tracking_uri or client.tracking_uri)
        return cls.create(client, experiment_id, names.run_name, {**names.tags, **dict(extra_tags or {})}, names.experiment)

    @classmethod
    def create(cls, client: MlflowClient, experiment_id: str, name: str, tags: Mapping[str, str], experiment: Optional[str] = None) -> "ParentRun":
        """Create the run in an existing experiment; git tags as every fit records them are added."""
        tags = redact_mapping({**git_tags(), **{str(k): str(v) for k, v in tags.items()}})  # a secret never reaches the run
        run = client.create_run(experiment_id, run_name=name, tags=tags)
        return cls(client, run.info.run_id, experiment, name)

    @classmethod
    def resume(cls, client: MlflowClient, run_id: str, experiment: Optional[str] = None) -> "ParentRun":
        """Continue an existing run (a resumed study): it is set RUNNING again."""
        run = client.get_run(run_id)
        if run.info.status != "RUNNING":
            client.update_run(run_id, status="RUNNING")
        return cls(client, run_id, experiment, run.info.run_name)

    def end(self, error: Optional[BaseException] = None) -> str:
        """End the run with the status `error` deserves; returns it."""
        from tradexp.tracking.logger import run_status_for  # (imports Lightning: only when a run ends)

        if error is not None and not isinstance(error, BaseException):
            raise TypeError(f"ParentRun.end takes the exception the run ended with (or None), got {error!r}")

        status = run_status_for(error)
        if error is not None and status != "FINISHED":
            self.client.set_tag(self.run_id, "tradexp.error", redact_text(f"{type(error).__name__}: {error}")[:5000])
        self.client.set_terminated(self.run_id, status)
        self.status = status
        return status

    def __enter__(self) -> "ParentRun":
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if self.status is None:
            self.end(exc)
