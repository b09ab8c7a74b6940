"""Experiment organisation: find runs, compare their configs, reproduce them."""

from tradexp.organisation.reproduce import Difference, MetricChange, Reproduction, reproduce_run
from tradexp.organisation.run_query import RunQuery, find_runs, run_rows

__all__ = ["Difference", "MetricChange", "Reproduction", "reproduce_run", "RunQuery", "find_runs", "run_rows"]
