"""A study on a universe: trials select on a cross-sectional validation metric (`val/xs/rank_ic_mean`,
maximised), the best trial and the deflated Sharpe use it, `model.symbol_embedding` is searched."""

from __future__ import annotations

import optuna
import pytest
from mlflow import MlflowClient

from tests.hpo.conftest import study_runs, write_hpo_config
from tradexp.hpo import run_study

pytestmark = pytest.mark.slow


def test_a_universe_study_selects_on_the_rank_ic_and_deflates_the_long_short_sharpe(tmp_path, mlflow_uri):
    path = write_hpo_config(
        tmp_path,
        overrides={"trainer.max_epochs": 2, "trainer.enable_progress_bar": False, "trainer.enable_model_summary": False,
                   "data.synthetic.n_symbols": 3, "data.synthetic.n_bars": 300, "data.window": 8, "data.batch_size": 64},
        search_space={"model.lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
                      "model.symbol_embedding": {"type": "categorical", "choices": [None, 4]}},
        metric="val/xs/rank_ic_mean", direction="maximize", n_trials=2, study_name="xs",
        sampler={"name": "tpe", "seed": 3},  # trial 0 samples no embedding, trial 1 an embedding of 4
    )  # fmt: skip
    result = run_study(path)
    study = optuna.load_study(study_name="xs", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(trials) == 2
    client = MlflowClient(mlflow_uri)
    (parent,), children = study_runs(client, "xs")
    assert parent.info.status == "FINISHED" and {c.info.status for c in children} == {"FINISHED"}
    for trial in trials:
        child = client.get_run(trial.user_attrs["mlflow_run_id"])
        history = [m.value for m in client.get_metric_history(child.info.run_id, "val/xs/rank_ic_mean")]
        assert len(history) == 2 and trial.value == pytest.approx(max(history))
        assert child.data.tags["tradexp.universe.size"] == "3"
        record = trial.user_attrs["record"]
        assert record["val_sharpe_basis"] == "long_short" and record["val_sharpe_n_obs"] > 10
    assert [t.params["model.symbol_embedding"] for t in trials] == [None, 4]
    logged = [client.get_run(t.user_attrs["mlflow_run_id"]).data.params["model.symbol_embedding"] for t in trials]
    assert logged == ["None", "4"]
    best = max(trials, key=lambda t: t.value)
    assert result.best_trial.number == best.number
    assert parent.data.tags["tradexp.hpo.best_run_id"] == best.user_attrs["mlflow_run_id"]
    assert result.deflated_sharpe is not None and 0.0 <= result.deflated_sharpe <= 1.0
    assert parent.data.tags.get("tradexp.hpo.deflated_sharpe_basis") == "long_short"
