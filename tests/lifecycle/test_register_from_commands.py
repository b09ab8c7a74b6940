"""`tradexp hpo ... --retrain_best --register NAME` and `tradexp walkforward ... --register NAME` (slow: several fits)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tests.hpo.conftest import write_hpo_config
from tradexp.api import override_args
from tradexp.cli import main

pytestmark = pytest.mark.slow


def test_walkforward_registers_its_last_fold_with_the_oos_sharpe(mlflow_uri, capsys):
    args = override_args(TINY)
    assert main(["walkforward", "--config", str(CONFIGS / "mlp.yaml"), "--folds", "2", "--register", "wf-mlp", *args]) == 0
    assert "registered run" in capsys.readouterr().out
    client = MlflowClient(mlflow_uri)
    (version,) = client.search_model_versions("name = 'wf-mlp'")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    (parent,) = [r for r in runs if r.data.tags.get("tradexp.type") == "walk_forward"]
    last = max((r for r in runs if r.data.tags.get("tradexp.type") == "fold"), key=lambda r: int(r.data.tags["tradexp.fold"]))
    assert version.run_id == last.info.run_id
    assert version.tags["tradexp.walk_forward.run"] == parent.info.run_id
    assert float(version.tags["tradexp.walk_forward.oos_sharpe"]) == pytest.approx(parent.data.metrics["oos/trading/sharpe"], rel=1e-5)


def test_hpo_registers_the_retrained_best_with_its_deflated_sharpe(mlflow_uri, tmp_path, capsys):
    config = write_hpo_config(tmp_path, n_trials=2)
    assert main(["hpo", "--config", str(config), "--no-progress", "--register", "hpo-mlp"]) == 2
    assert "--register NAME needs --retrain_best" in capsys.readouterr().err
    assert main(["hpo", "--config", str(config), "--no-progress", "--retrain_best", "--register", "hpo-mlp"]) == 0
    client = MlflowClient(mlflow_uri)
    (version,) = client.search_model_versions("name = 'hpo-mlp'")
    run = client.get_run(version.run_id)
    assert run.data.tags["tradexp.purpose"] == "best-of-study"
    assert version.tags["tradexp.study.parent_run"] == run.data.tags["tradexp.study.parent_run"]
    parent = client.get_run(run.data.tags["tradexp.study.parent_run"]).data.metrics
    expected = "missing" if "hpo/deflated_sharpe" not in parent else pytest.approx(parent["hpo/deflated_sharpe"], rel=1e-5)
    value = version.tags["tradexp.deflated_sharpe"]
    assert (value if value == "missing" else float(value)) == expected
