"""MLflow setup, naming and tags, the run logger, config logging and lineage."""

from tradexp.lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tradexp.tracking.config_callback": ("LogConfigToRun",),
        "tradexp.tracking.logger": ("TradexpLogger",),
        "tradexp.tracking.params": ("flatten_config",),
        "tradexp.tracking.naming": ("RunIdentity", "experiment_name", "identity_tags", "run_name"),
        "tradexp.tracking.recorder": ("RunRecorder",),
        "tradexp.tracking.run_status": ("run_status_for",),
        "tradexp.tracking.store": ("artifact_root", "ensure_experiment", "open_store", "resolve_tracking_uri"),
    },
)
