"""Study plots (Optuna's matplotlib renderers) and the trials table, written for the parent run.

The numbers come first and apart from the pictures: `trials_table` is a pure function of the study
(tested on its values); `save_study_plots` draws with `optuna.visualization.matplotlib`, whose own
`_get_*_info` functions compute each plot's data.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from tradexp.hpo.importances import importance_evaluator

__all__ = ["trials_table", "save_study_plots", "STUDY_PLOTS"]

log = logging.getLogger(__name__)


def _duration(trial: FrozenTrial) -> float:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return float("nan")
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, duration, epochs run, child run, then the params.

    Returns:
        Columns `number, state, value, duration_s, epochs_run, pruned_epoch, train_seconds,
        overhead_seconds, val_sharpe, retry_of, mlflow_run_id, param.<name>...`, sorted by number.
    """
    trials = study.get_trials(deepcopy=False)
    param_names = sorted({name for t in trials for name in t.params})
    rows: list[dict[str, Any]] = []
    for trial in trials:
        attrs = trial.user_attrs
        record = attrs.get("record") or {}
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value if trial.value is not None else np.nan,
            "duration_s": _duration(trial),
            "epochs_run": record.get("epochs_run"),
            "pruned_epoch": record.get("pruned_epoch"),
            "train_seconds": record.get("train_seconds"),
            "overhead_seconds": record.get("overhead_seconds"),
            "val_sharpe": record.get("val_sharpe"),
            "retry_of": attrs.get("retry_of"),
            "mlflow_run_id": attrs.get("mlflow_run_id"),
        }
        row.update({f"param.{name}": trial.params.get(name) for name in param_names})
        rows.append(row)
    columns = ["number", "state", "value", "duration_s", "epochs_run", "pruned_epoch", "train_seconds", "overhead_seconds", "val_sharpe", "retry_of", "mlflow_run_id"]
    return pd.DataFrame(rows, columns=columns + [f"param.{n}" for n in param_names]).sort_values("number", ignore_index=True)


def _plots() -> dict[str, Callable[[optuna.Study], Any]]:
    from optuna.visualization import matplotlib as ovm

    return {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": lambda study: ovm.plot_param_importances(study, evaluator=importance_evaluator()[0]),  # as hpo/importances.json
        "parallel_coordinate": ovm.plot_parallel_coordinate,
        "slice": ovm.plot_slice,
        "intermediate_values": ovm.plot_intermediate_values,
    }


STUDY_PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice", "intermediate_values")


def _figure(drawn: Any) -> Any:
    axes = np.asarray(drawn, dtype=object).reshape(-1)  # one Axes or an array of Axes -> (K,)
    return axes[0].figure


def save_study_plots(study: optuna.Study, out_dir: Path) -> list[Path]:
    """Draw every study plot that the trials allow into `out_dir/<name>.png`.

    A plot that cannot be drawn (e.g. importances with fewer than two finished trials) is skipped
    with a log line; the study never fails because of a picture.

    Returns:
        The PNG files written.
    """
    import matplotlib
    import matplotlib.pyplot as plt  # Optuna's matplotlib plots draw on pyplot figures

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for name, draw in _plots().items():
        if not finished:
            break
        try:
            # Optuna calls `plt.style.use("ggplot")`: rc_context puts the caller's rcParams back after.
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter("ignore")
                fig = _figure(draw(study))
                path = out_dir / f"{name}.png"
                fig.set_size_inches(max(fig.get_size_inches()[0], 8.0), max(fig.get_size_inches()[1], 5.0))
                fig.savefig(path, dpi=100, bbox_inches="tight")
                plt.close(fig)
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError) as exc:
            log.info("study plot %s skipped: %s", name, exc)
            continue
        written.append(path)
    return written
