"""MLflow setup, naming and tags, the run logger, config logging and lineage."""

from tradexp.tracking.config_callback import LogConfigToRun
from tradexp.tracking.logger import TradexpLogger
from tradexp.tracking.params import flatten_config
from tradexp.tracking.naming import RunIdentity, experiment_name, identity_tags, run_name
from tradexp.tracking.recorder import RunRecorder
from tradexp.tracking.run_status import run_status_for
from tradexp.tracking.store import artifact_root, ensure_experiment, open_store, resolve_tracking_uri

__all__ = [
    "LogConfigToRun",
    "RunIdentity",
    "RunRecorder",
    "TradexpLogger",
    "artifact_root",
    "ensure_experiment",
    "experiment_name",
    "flatten_config",
    "identity_tags",
    "open_store",
    "resolve_tracking_uri",
    "run_name",
    "run_status_for",
]
