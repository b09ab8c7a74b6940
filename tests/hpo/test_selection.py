"""The Sharpe HPO deflates is the validation backtest `TradingEvaluation` runs and logs.

One real study with `data.horizon 3` and `cost_bps 10`: for every trial, the per-step Sharpe, the
number of steps and the moments the deflated Sharpe ratio uses are the values logged on the trial's
run as `val/trading/*` at the selected epoch, and the step count is the non-overlapping one.
"""

import math

import numpy as np
import optuna
import pytest
import yaml
from mlflow import MlflowClient

from tests.conftest import CONFIGS
from tests.hpo.conftest import TRIAL, study_runs, write_hpo_config
from tradexp.data import SyntheticMarket
from tradexp.data.datamodule import BarsDataModule
from tradexp.evaluation import deflated_sharpe_ratio, infer_periods_per_year
from tradexp.hpo import run_study

HORIZON = 3
COST_BPS = 10.0


def _val_rows() -> tuple[int, float]:
    """Validation samples of the trials' data and their bars per year, from the datamodule itself."""
    data = yaml.safe_load((CONFIGS / "mlp.yaml").read_text())["data"]
    data.update({key.split(".", 1)[1]: value for key, value in TRIAL.items() if key.startswith("data.") and key.count(".") == 1})
    synthetic = {**data.pop("synthetic"), "n_bars": TRIAL["data.synthetic.n_bars"]}
    datamodule = BarsDataModule(**{**data, "horizon": HORIZON}, synthetic=SyntheticMarket(**synthetic))
    datamodule.setup("fit")
    split = datamodule.split_data("val")
    return len(split["forward_returns"]), infer_periods_per_year(split["timestamps"]).periods_per_year


def _at_epoch(client: MlflowClient, run_id: str, key: str, epoch: int) -> float:
    history = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
    return history[epoch].value  # one value per validation epoch, in order


def test_selection_sharpe_is_the_logged_validation_backtest(tmp_path, mlflow_uri):
    callbacks = [{"class_path": "tradexp.evaluation.TradingEvaluation", "init_args": {"cost_bps": COST_BPS, "plots": False}}]
    overrides = {**TRIAL, "trainer.max_epochs": 2, "data.horizon": HORIZON, "trainer.callbacks": callbacks}
    path = write_hpo_config(tmp_path, n_trials=3, overrides=overrides, study_name="selection")
    result = run_study(path, quiet=True)

    n_val, bars_per_year = _val_rows()
    n_steps = len(range(0, n_val, HORIZON))  # non-overlapping steps: every 3rd sample
    client = MlflowClient(mlflow_uri)
    trials = optuna.load_study(study_name="selection", storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    sharpes = []
    for trial in trials:
        record, run_id = trial.user_attrs["record"], trial.user_attrs["mlflow_run_id"]
        epoch = record["best_epoch"]
        annualised = _at_epoch(client, run_id, "val/trading/sharpe", epoch)
        assert record["val_sharpe"] == pytest.approx(annualised / math.sqrt(bars_per_year / HORIZON), rel=1e-6, abs=1e-7)  # logged as float32
        assert record["val_sharpe"] == pytest.approx(_at_epoch(client, run_id, "val/trading/sharpe_per_period", epoch), rel=1e-6, abs=1e-7)  # logged as float32
        assert record["val_sharpe_n_obs"] == n_steps == _at_epoch(client, run_id, "val/trading/n_periods", epoch)
        assert record["val_sharpe_skew"] == pytest.approx(_at_epoch(client, run_id, "val/trading/skew", epoch), rel=1e-6, abs=1e-7)  # logged as float32
        assert record["val_sharpe_kurtosis"] == pytest.approx(_at_epoch(client, run_id, "val/trading/kurtosis", epoch), rel=1e-6, abs=1e-7)  # logged as float32
        sharpes.append(record["val_sharpe"])

    best = result.best_trial.user_attrs["record"]
    expected = deflated_sharpe_ratio(best["val_sharpe"], sharpes, n_steps, best["val_sharpe_skew"], best["val_sharpe_kurtosis"])
    (parent,), _ = study_runs(client, "selection")
    assert result.deflated_sharpe == pytest.approx(expected)
    assert parent.data.metrics["hpo/deflated_sharpe"] == pytest.approx(expected)
    assert np.isfinite(expected)
