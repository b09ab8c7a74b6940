"""Experiment organisation: find runs, compare their configs, reproduce them."""

from tradexp.lazy_exports import lazy_exports

__all__ = ["Difference", "MetricChange", "Reproduction", "reproduce_run", "RunQuery", "find_runs", "run_rows"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"tradexp.organisation.reproduce": ("Difference", "MetricChange", "Reproduction", "reproduce_run"), "tradexp.organisation.run_query": ("RunQuery", "find_runs", "run_rows")},
)
