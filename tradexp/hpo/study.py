"""Run a study: prepare once, fan out to workers, summarise on the parent run, optionally retrain the best.

from tradexp.hpo import run_study
result = run_study("configs/hpo/mlp.yaml", {"trainer.max_epochs": 3}, n_trials=8)
result.best_trial.number, result.best_value, result.parent_run_id
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState

from callbacks.redaction import strip_credentials
from tradexp.console import describe_study
from tradexp.errors import ConfigError
from tradexp.hpo.importances import log_importances
from tradexp.hpo.objective import StudyContext, TrialFailed, TrialObjective, trial_overrides
from tradexp.hpo.parent import StudyRun, reconcile_child_runs
from tradexp.hpo.selection import deflated_sharpe_of_best
from tradexp.hpo.settings import HpoSettings, build_pruner, build_sampler, flatten_overrides, load_settings
from tradexp.hpo.storage import create_or_load_study, default_storage_url, open_storage, sqlite_file
from tradexp.tracking.naming import same_code
from tradexp.tracking.parent_run import config_identity, run_names

__all__ = ["StudyResult", "run_study", "prepare_context"]

log = logging.getLogger(__name__)

_MAX_CONSECUTIVE_FAILURES = 3


@dataclass
class StudyResult:
    """What a study invocation leaves: the best trial, counts, the parent run, the retrain's test score."""

    study_name: str
    storage: str
    parent_run_id: str
    best_trial: Optional[FrozenTrial]
    n_trials: int
    states: dict[str, int] = field(default_factory=dict)
    test_value: Optional[float] = None
    retrain_run_id: Optional[str] = None
    deflated_sharpe: Optional[float] = None
    summary: dict[str, Any] = field(default_factory=dict)
    tracking_uri: Optional[str] = None  # the MLflow store of the parent and child runs

    @property
    def best_value(self) -> Optional[float]:
        return None if self.best_trial is None else self.best_trial.value

    @property
    def best_params(self) -> dict[str, Any]:
        return {} if self.best_trial is None else dict(self.best_trial.params)


def prepare_context(settings: HpoSettings) -> tuple[StudyContext, dict[str, str]]:
    """Parse and check the base config once with one example of every searched key (before any
    trial; nothing is built) and derive the experiment, tracking URI, parent run name and tags.

    Raises:
        ConfigError: When the base config with the search space does not parse.
    """
    from tradexp.run import load_config

    probe = {
        **settings.overrides,
        **settings.search_space.example_overrides(),
        "checkpoint.monitor": settings.metric,
        "checkpoint.mode": "min" if settings.direction == "minimize" else "max",
        "tracking.run_type": "hpo_study",
    }
    try:
        config = load_config(settings.base_config, probe)
    except ConfigError as exc:
        raise ConfigError(f"the study cannot run (its `metric` is also each trial's `checkpoint.monitor`): {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"the base config {settings.base_config} does not accept the search space or overrides ({exc}); searched keys: {settings.search_space.names()}") from None
    names = run_names(config["tracking"], *config_identity(config), run_type="hpo_study", extra_tags={"tradexp.study": str(settings.study_name)})
    base_tags = {str(k): str(v) for k, v in (config["tracking"]["tags"] or {}).items()}
    context = StudyContext(settings=settings, experiment=names.experiment, parent_run_id="", tracking_uri=names.tracking_uri, base_tags=base_tags)
    return context, names.tags


class _Progress:
    """A tqdm bar over this invocation's trials with the best value so far (off unless asked)."""

    def __init__(self, total: Optional[int], name: str, enabled: bool, start_number: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=name, unit="trial", disable=not enabled, dynamic_ncols=True)
        self.start_number = start_number

    def update(self, study: optuna.Study, *_: Any) -> None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
        done = sum(1 for t in trials if t.number >= self.start_number)
        self.bar.update(max(0, min(done, self.bar.total or done) - self.bar.n))
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if complete:
            self.bar.set_postfix(best=f"{study.best_value:.5g}", trial=study.best_trial.number, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class _StopAfterFailures:
    """Stop this worker's optimisation after several failed trials in a row (a broken setup)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.streak = 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.streak = self.streak + 1 if trial.state == TrialState.FAIL else 0
        if self.streak >= self.limit:
            log.error("%d trials failed in a row; stopping the study (see the trial runs' `tradexp.error` tags)", self.streak)
            study.stop()


class _TrialSlots:
    """The trials a study run may still start, shared by its local workers (a counter in shared memory).

    A worker takes a slot before each trial and stops when none is left, so a worker that starts
    late (each spawned process imports torch and Lightning first) or has slow trials does fewer of
    them, instead of a fixed share that leaves the others idle at the end.
    """

    def __init__(self, n_trials: int, context: Any) -> None:
        self._left = context.Value("i", n_trials)

    def take(self) -> bool:
        with self._left.get_lock():
            if self._left.value <= 0:
                return False
            self._left.value -= 1
            return True

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:  # an Optuna callback: the next trial needs a slot
        if not self.take():
            study.stop()


def _optimize(
    context: StudyContext,
    storage_url: str,
    n_trials: Optional[int],
    timeout: Optional[float],
    seed_offset: int,
    extra_callbacks: tuple[Callable, ...] = (),
    slots: Optional[_TrialSlots] = None,
) -> None:
    """Load the study in this process and run up to `n_trials` trials of it (or as many as `slots` grant)."""
    if slots is not None:
        if not slots.take():
            return
        n_trials = None
    settings = context.settings
    storage = open_storage(storage_url, settings.heartbeat_interval, settings.max_retry)
    study = optuna.load_study(study_name=context.study_name, storage=storage, sampler=build_sampler(settings.sampler, seed_offset), pruner=build_pruner(settings.pruner))
    callbacks: list[Callable] = [_StopAfterFailures(_MAX_CONSECUTIVE_FAILURES), *extra_callbacks]
    if settings.max_trials is not None:
        callbacks.append(optuna.study.MaxTrialsCallback(settings.max_trials, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    if slots is not None:
        callbacks.append(slots)
    with warnings.catch_warnings(), same_code():  # the trials run the code this process imported: git is read once
        warnings.simplefilter("ignore", ExperimentalWarning)
        study.optimize(TrialObjective(context), n_trials=n_trials, timeout=timeout, callbacks=callbacks, catch=(TrialFailed,), gc_after_trial=False)


def _worker_main(context: StudyContext, storage_url: str, slots: Optional[_TrialSlots], timeout: Optional[float], seed_offset: int, threads: int, quiet: bool, errors: Any) -> None:
    """Entry point of one local worker process (spawned): split the cores, quiet the logs, optimise."""
    import torch

    torch.set_num_threads(threads)
    if quiet:
        _quiet_logs()
    try:
        _optimize(context, storage_url, None, timeout, seed_offset, slots=slots)
    except BaseException as exc:
        errors.put(f"{type(exc).__name__}: {exc}")
        raise


def _quiet_logs() -> None:
    """Trial fits talk a lot (GPU lines, seeds, deprecations); a study shows its own progress instead."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _run_workers(context: StudyContext, storage_url: str, study: optuna.Study, progress: _Progress, seed_base: int, quiet: bool) -> None:
    """Run `settings.workers` workers: this process is worker 0, the others are spawned processes.

    Working in this process saves one start-up (imports take seconds); torch threads are split
    between the workers and restored afterwards.
    """
    import torch

    settings = context.settings
    n_workers = settings.workers if settings.n_trials is None else max(1, min(settings.workers, settings.n_trials))
    threads = max(1, _cores() // n_workers)
    spawn = multiprocessing.get_context("spawn")
    errors = spawn.Queue()
    slots = _TrialSlots(settings.n_trials, spawn) if settings.n_trials is not None else None
    processes = [
        spawn.Process(target=_worker_main, args=(context, storage_url, slots, settings.timeout, seed_base + index, threads, quiet, errors), name=f"tradexp-hpo-worker-{index}")
        for index in range(1, n_workers)
    ]
    for process in processes:
        process.start()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _optimize(context, storage_url, None, settings.timeout, seed_base, (progress.update,), slots=slots)
        while any(p.is_alive() for p in processes):
            progress.update(study)
            time.sleep(1.0)
    except BaseException:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=30)
        raise
    finally:
        torch.set_num_threads(previous_threads)
    for process in processes:
        process.join()
    failed = [p for p in processes if p.exitcode != 0]
    if failed:
        messages = []
        while not errors.empty():
            messages.append(errors.get())
        detail = "; ".join(messages) or f"exit codes {[p.exitcode for p in failed]}"
        error = ConfigError if "MetricNotFoundError" in detail else RuntimeError
        raise error(f"{len(failed)} of {n_workers} HPO workers stopped: {detail}")


def _retrain_best(context: StudyContext, best: FrozenTrial) -> tuple[Optional[float], Optional[str]]:
    """Retrain the best configuration and test it: its own run (type training, purpose best-of-study)."""
    from tradexp.run import fit

    settings = context.settings
    tags = {"tradexp.study.parent_run": context.parent_run_id, "tradexp.study.best_trial": str(best.number)}
    overrides = {
        **trial_overrides(context, settings.search_space.to_overrides(best.params), tags, f"{context.study_name}-best-trial-{best.number:04d}", reports=True),
        "tracking.run_type": "training",
        "tracking.purpose": "best-of-study",
        "tracking.test_after_fit": True,
    }
    result = fit(settings.base_config, overrides, test=True)
    test_key = "test/" + settings.metric.split("/", 1)[-1]
    return result.metrics.get(test_key), result.run_id


def run_study(
    config_path: Union[str, Path],
    overrides: Optional[Mapping[str, Any]] = None,
    n_trials: Optional[int] = None,
    *,
    workers: Optional[int] = None,
    storage: Optional[str] = None,
    study_name: Optional[str] = None,
    timeout: Optional[float] = None,
    max_trials: Optional[int] = None,
    retrain_best: Optional[bool] = None,
    progress: bool = False,
    quiet: bool = False,
) -> StudyResult:
    """Run (or resume) the study of an HPO YAML; the same call again adds trials to the same study.

    Args:
        config_path: HPO YAML (`configs/hpo/lstm.yaml`).
        overrides: Dotted overrides of the base training config (`{"trainer.max_epochs": 3}`).
        n_trials: Trials this call adds (default: the YAML's `n_trials`).
        workers: Local worker processes (torch threads are split between them).
        storage: Optuna storage URL (PostgreSQL for many machines); default next to `mlflow.db`.
        study_name: Study name (default from the YAML, else `hpo-<file stem>`).
        timeout: Seconds this call may spend starting trials.
        max_trials: Stop once the study holds this many finished trials.
        retrain_best: Retrain the best configuration and test it at the end.
        progress: Show a progress bar with the best value so far.
        quiet: Silence the per-trial Lightning chatter.

    Returns:
        StudyResult with the best trial (None when no trial completed) and the parent run id.

    Raises:
        ConfigError: A bad HPO file or option, or the study metric is never logged.
    """
    options = {
        "n_trials": n_trials,
        "workers": workers,
        "storage": storage,
        "study_name": study_name,
        "timeout": timeout,
        "max_trials": max_trials,
        "retrain_best": retrain_best,
        "overrides": flatten_overrides(overrides),
    }
    settings = load_settings(config_path, options)
    if quiet:
        _quiet_logs()
    context, parent_tags = prepare_context(settings)
    storage_url = settings.storage or default_storage_url(context.tracking_uri)
    settings.storage = storage_url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        rdb = open_storage(storage_url, settings.heartbeat_interval, settings.max_retry)
        study, created = create_or_load_study(context.study_name, rdb, settings.direction, build_sampler(settings.sampler), build_pruner(settings.pruner))
        optuna.storages.fail_stale_trials(study)
        if study.metric_names != [settings.metric]:  # optuna-dashboard labels the objective with it, not "Objective 0"
            study.set_metric_names([settings.metric])
    parent = StudyRun.open(study, created, context.tracking_uri, context.experiment, parent_tags)
    context.parent_run_id = parent.run_id
    start_number = len(study.trials)
    bar = _Progress(settings.n_trials, context.study_name, progress, start_number)
    # Seeds differ per process: by the trials already in the study (reproducible on one machine), and
    # by process id on a shared server, where machines start together and trial order is not repeatable.
    seed_base = start_number + (os.getpid() if sqlite_file(storage_url) is None else 0)
    try:
        parent.log_settings(settings, storage_url)
        reconcile_child_runs(study, parent.client)
        if settings.workers == 1:
            _optimize(context, storage_url, settings.n_trials, settings.timeout, seed_base, (bar.update,))
        else:
            _run_workers(context, storage_url, study, bar, seed_base, quiet)
    except KeyboardInterrupt as exc:
        bar.close()
        parent.end(exc)  # KILLED
        raise
    except BaseException as exc:
        bar.close()
        _finish_trials(study, parent)
        parent.log_summary(study, settings, {})
        parent.end(exc)  # FAILED, or KILLED for SIGTERM
        raise
    bar.close()
    _finish_trials(study, parent)
    return _summarise(study, settings, context, parent, storage_url)


def _finish_trials(study: optuna.Study, parent: StudyRun) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    reconcile_child_runs(study, parent.client)


def _summarise(study: optuna.Study, settings: HpoSettings, context: StudyContext, parent: StudyRun, storage_url: str) -> StudyResult:
    extra: dict[str, Any] = {}
    deflated = deflated_sharpe_of_best(study)
    if deflated is not None:
        extra.update(deflated)
    try:
        best: Optional[FrozenTrial] = study.best_trial
    except ValueError:  # no completed trial yet
        best = None
    test_value = retrain_run = None
    if settings.retrain_best and best is not None:
        test_value, retrain_run = _retrain_best(context, best)
        if test_value is not None:
            extra["best_test_value"] = float(test_value)
        extra["best_retrain_run_id"] = retrain_run
        parent.client.set_tag(parent.run_id, "tradexp.hpo.best_retrain_run", str(retrain_run))
    log_importances(parent.client, parent.run_id, study)  # hpo/importances.json: the report reads them
    summary = parent.log_summary(study, settings, extra)
    describe_study(parent.client, parent.run_id, summary, retrain_run)  # the MLflow UI's description: best child
    parent.end()
    return StudyResult(
        study_name=study.study_name,
        storage=strip_credentials(storage_url),
        parent_run_id=parent.run_id,
        best_trial=best,
        n_trials=summary["n_trials"],
        states=summary["states"],
        test_value=test_value,
        retrain_run_id=retrain_run,
        deflated_sharpe=None if deflated is None else deflated["deflated_sharpe"],
        summary=summary,
        tracking_uri=context.tracking_uri,
    )
