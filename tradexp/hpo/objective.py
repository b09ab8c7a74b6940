"""One trial = one tradexp fit: sample the space, build the fit as `tradexp fit` would, train, report."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import optuna
from mlflow import MlflowClient
from mlflow.entities import RunTag

from tradexp.evaluation.callback import TradingEvaluation
from tradexp.hpo.pruning import MetricNotFoundError, OptunaPruning
from tradexp.hpo.selection import selection_attrs, selection_evaluation
from tradexp.hpo.settings import HpoSettings
from tradexp.tracking.local_checkpoints import discard_checkpoints, release_local_checkpoints
from tradexp.tracking.naming import TRIAL_STATE_TAG

__all__ = ["StudyContext", "TrialObjective", "TrialFailed", "trial_overrides", "STATE_TAG", "RECORD_ATTR"]

log = logging.getLogger(__name__)

STATE_TAG = TRIAL_STATE_TAG
RECORD_ATTR = "record"  # the trial's user attr holding epochs_run, train/overhead seconds, val Sharpe

# Quiet, test-free fits: the test split never takes part in selection. No sanity check (~11 ms a trial, measured on and off):
# a validation step that cannot run fails the trial at its first validation epoch instead, and three
# failed trials in a row stop the study. Each is a default: the study's `overrides` can set it back.
_TRIAL_DEFAULTS = {"trainer.enable_progress_bar": False, "trainer.enable_model_summary": False, "trainer.num_sanity_val_steps": 0}


class TrialFailed(Exception):
    """A trial raised an ordinary error (recorded on its run and in Optuna as FAIL); the study goes on."""


@dataclass
class StudyContext:
    """What every trial of one study shares (picklable: it travels to worker processes).

    Args:
        settings: The study settings.
        experiment: MLflow experiment of the parent and child runs.
        parent_run_id: The study's parent MLflow run.
        tracking_uri: The MLflow store.
        base_tags: Tags of the base config (`tracking.tags`), kept on every trial.
    """

    settings: HpoSettings
    experiment: str
    parent_run_id: str
    tracking_uri: str
    base_tags: dict[str, str] = field(default_factory=dict)

    @property
    def study_name(self) -> str:
        return str(self.settings.study_name)


def _light_callbacks() -> list[dict[str, Any]]:
    """The default callbacks a trial keeps without `trial_reports`: trading evaluation, no plots."""
    from tradexp.callback_defaults import DEFAULT_CALLBACKS

    keep = []
    for spec in DEFAULT_CALLBACKS:
        if spec["class_path"].endswith("TradingEvaluation"):
            keep.append({"class_path": spec["class_path"], "init_args": {**spec.get("init_args", {}), "plots": False}})
    return keep


def trial_overrides(context: StudyContext, params: dict[str, Any], tags: dict[str, str], run_name: str, reports: bool = False) -> dict[str, Any]:
    """The config overrides of one fit: defaults < HPO overrides < sampled params < tracking wiring.

    Args:
        reports: Keep the base config's callbacks; False keeps only the cheap trading evaluation.
    """
    settings = context.settings
    light = {} if reports else {"trainer.callbacks": _light_callbacks()}
    return {
        **_TRIAL_DEFAULTS,
        **light,
        **settings.overrides,
        **params,
        "checkpoint.monitor": settings.metric,
        "checkpoint.mode": "min" if settings.direction == "minimize" else "max",
        "tracking.tracking_uri": context.tracking_uri,
        "tracking.experiment": context.experiment,
        "tracking.run_name": run_name,
        "tracking.tags": {**context.base_tags, "tradexp.study": context.study_name, **tags},
    }


class TrialObjective:
    """The Optuna objective: returns the best epoch's value of the study metric on validation.

    Records on the Optuna trial: user attrs `mlflow_run_id`, `trial_number`, `retry_of` and `record`
    = {`epochs_run`, `best_epoch`, `pruned_epoch`, `train_seconds`, `overhead_seconds` (time in the
    trial outside the train/val loops), `val_sharpe`, `val_sharpe_n_obs`, `val_sharpe_skew`,
    `val_sharpe_kurtosis`, `val_sharpe_basis`}; on the child MLflow run: `tradexp.trial.state` = COMPLETE, PRUNED or FAIL.

    The `val_sharpe*` values are the trial's own `TradingEvaluation` validation backtest at the
    selected epoch (what the run logs as `val/trading/sharpe_per_period`, `n_periods`, `skew`,
    `kurtosis`); a trial config without any `TradingEvaluation` gets one with its defaults. They are
    what the study's deflated Sharpe ratio corrects. On a universe they are the validation long-short
    portfolio's (`val_sharpe_basis` = "long_short"), see `tradexp.hpo.selection`.

    Args:
        context: The study the trials belong to.
    """

    def __init__(self, context: StudyContext) -> None:
        self.context = context

    def __call__(self, trial: optuna.Trial) -> float:
        from tradexp.run import build

        started = time.perf_counter()
        settings = self.context.settings
        sampled = settings.search_space.sample(trial)
        tags = {"mlflow.parentRunId": self.context.parent_run_id, "tradexp.trial": str(trial.number)}
        inherited = trial.user_attrs.get("trial_number")  # a retried trial inherits its dead original's attrs
        if inherited is not None and inherited != trial.number:
            tags["tradexp.trial.retry_of"] = str(inherited)
            trial.set_user_attr("retry_of", inherited)
        trial.set_user_attr("trial_number", trial.number)
        overrides = {
            **trial_overrides(self.context, settings.search_space.to_overrides(sampled), tags, f"{self.context.study_name}-trial-{trial.number:04d}", settings.trial_reports),
            "tracking.run_type": "hpo_trial",
            "tracking.test_after_fit": False,
            # no search of the experiment's RUNNING runs per trial (~6 ms): a dead worker's trials are closed
            # by the study when it starts and ends (`reconcile_child_runs`), and a crashed run of the
            # experiment by the next `tradexp fit` or `tradexp runs --reap`
            "tracking.reap_stale_after": None,
        }
        pruning = OptunaPruning(trial, settings.metric, settings.direction)  # type: ignore[arg-type]
        evaluation: Optional[TradingEvaluation] = None
        run_id: Optional[str] = None
        built = None
        try:
            built = build(settings.base_config, overrides, callbacks=[pruning])
            evaluation = _selection_evaluation(built.trainer)
            run_id = built.run_id  # creates the child run now, so a killed trial can be found later
            trial.set_user_attr("mlflow_run_id", run_id)
            built.trainer.fit(built.model, datamodule=built.datamodule)
        except optuna.TrialPruned:
            self._record(trial, run_id, "PRUNED", pruning, evaluation, started)
            discard_checkpoints(built.trainer)  # the study never loads a pruned trial's weights
            raise
        except MetricNotFoundError:
            self._record(trial, run_id, "FAIL", pruning, evaluation, started)
            raise
        except (Exception, SystemExit) as exc:  # SystemExit: the config parser rejected the sampled values
            self._record(trial, run_id, "FAIL", pruning, evaluation, started)
            if built is not None:
                discard_checkpoints(built.trainer)
            log.warning("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            raise TrialFailed(f"trial {trial.number} failed: {type(exc).__name__}: {exc}") from exc
        self._record(trial, run_id, "COMPLETE", pruning, evaluation, started)
        release_local_checkpoints(built.trainer)
        return pruning.best_value

    def _record(self, trial: optuna.Trial, run_id: Optional[str], state: str, pruning: OptunaPruning, evaluation: Optional[TradingEvaluation], started: float) -> None:
        epoch = pruning.best_epoch if state == "COMPLETE" else max(pruning.values, default=None)
        moments = evaluation.validation_moments.get(epoch) if evaluation is not None and epoch is not None else None
        attrs: dict[str, Any] = {"epochs_run": pruning.epochs_run, "train_seconds": round(pruning.train_seconds, 4), "best_epoch": pruning.best_epoch}
        attrs.update(selection_attrs(moments, evaluation.validation_basis if evaluation is not None else "series"))
        if pruning.pruned_epoch is not None:
            attrs["pruned_epoch"] = pruning.pruned_epoch
        if run_id is not None:
            tags = {STATE_TAG: state, "tradexp.trial.epochs_run": str(pruning.epochs_run)}
            if state == "COMPLETE":
                tags["tradexp.trial.value"] = repr(pruning.best_value)
            if pruning.pruned_epoch is not None:
                tags["tradexp.trial.pruned_epoch"] = str(pruning.pruned_epoch)
            MlflowClient(self.context.tracking_uri).log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        attrs["overhead_seconds"] = round(time.perf_counter() - started - pruning.train_seconds, 4)
        attrs["worker"] = f"{socket.gethostname()}:{os.getpid()}"
        trial.set_user_attr(RECORD_ATTR, attrs)  # one storage write for the whole record


def _selection_evaluation(trainer: Any) -> Optional[TradingEvaluation]:
    """The trainer's validation backtest; a config without any `TradingEvaluation` gets a default one."""
    if not any(isinstance(callback, TradingEvaluation) for callback in trainer.callbacks):
        log.info("the trial config has no TradingEvaluation: adding one with its defaults for the selection Sharpe")
        trainer.callbacks.append(TradingEvaluation(plots=False))
    evaluation = selection_evaluation(trainer.callbacks)
    if evaluation is None:
        log.info("TradingEvaluation is off for this trial: no validation Sharpe, no deflated Sharpe")
    return evaluation
