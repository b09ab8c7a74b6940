"""`TradingEvaluation` on real fits: every run carries trading metrics, baselines, significance and tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY, shared_file
from tradexp.api import fit, override_args
from tradexp.cli import main
from tradexp.data import best_direction_accuracy
from tradexp.evaluation import TradingEvaluation

# Only this callback (the other default callbacks' plots and reports are not under test here).
ONLY_TRADING = {"trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation"}]}

# A tiny MLP on the last returns only: fits 3000 bars in a few seconds.
SMALL_MLP = {
    **TINY,
    **ONLY_TRADING,
    "data.features": ["log_return_1"],
    "data.batch_size": 128,
    "model.net.init_args.hidden_sizes": [16],
    "model.net.init_args.dropout": 0.0,
}


def _artifact_text(client: MlflowClient, run_id: str, path: str) -> str:
    return open(client.download_artifacts(run_id, path)).read()


def test_every_fit_run_carries_trading_metrics_baselines_significance_and_tables(mlflow_uri, tmp_path):
    assert main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY)]) == 0
    client = MlflowClient(mlflow_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    metrics, run_id = run.data.metrics, run.info.run_id
    for name in ("sharpe", "sortino", "max_drawdown", "calmar", "annual_return", "annual_vol", "hit_rate", "turnover", "exposure"):
        assert f"test/trading/{name}" in metrics
        for baseline in ("buy_and_hold", "majority_class", "random"):
            assert f"test/baseline/{baseline}/{name}" in metrics
    for name in ("acc_pvalue", "acc_significant", "sharpe_ci_low", "sharpe_ci_high"):
        assert f"test/significance/{name}" in metrics
    assert metrics["test/trading/periods_per_year"] == 252  # synthetic business days
    assert len(client.get_metric_history(run_id, "val/trading/sharpe")) == TINY["trainer.max_epochs"]
    assert "tradexp.callback_errors" not in run.data.tags

    table = pd.read_csv(client.download_artifacts(run_id, "evaluation/trading.csv"))
    assert list(table["strategy"]) == ["model", "buy_and_hold", "majority_class", "random"]
    assert table.set_index("strategy").loc["model", "sharpe"] == pytest.approx(metrics["test/trading/sharpe"], rel=1e-5)
    summary = json.loads(_artifact_text(client, run_id, "evaluation/trading.json"))
    assert "daily bars, no weekend bars" in summary["annualisation"]["rule"]
    significance = json.loads(_artifact_text(client, run_id, "evaluation/significance.json"))
    assert significance["accuracy"]["verdict"] in ("significant", "not significant")
    assert significance["accuracy"]["accuracy"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    equity = pd.read_csv(client.download_artifacts(run_id, "evaluation/equity.csv"))
    assert len(equity) == metrics["test/trading/n_periods"]
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"plots/equity.png", "plots/drawdown.png", "plots/rolling_sharpe.png"} <= plots


def test_buy_and_hold_is_computed_on_exactly_the_test_bars(mlflow_uri, tiny):
    result = fit(CONFIGS / "mlp.yaml", {**tiny, **ONLY_TRADING})
    test = result.built.datamodule.split_data("test")
    cost = 1.0 / 10_000  # the default 1 bp, paid once to enter
    expected = (1 + np.expm1(test["forward_returns"][0]) - cost) * np.exp(test["forward_returns"][1:].sum()) - 1
    assert result.metrics["test/baseline/buy_and_hold/total_return"] == pytest.approx(expected, rel=1e-4)
    assert result.metrics["test/trading/n_periods"] == len(test["targets"])


def test_random_walk_accuracy_stays_inside_the_chance_interval_and_is_not_significant(mlflow_uri):
    overrides = {**SMALL_MLP, "trainer.max_epochs": 3, "model.lr": 0.003, "data.synthetic.n_bars": 3000, "data.synthetic.signal_strength": 0.0}
    result = fit(CONFIGS / "mlp.yaml", overrides)
    m = result.metrics
    n = int(m["test/significance/acc_n"])
    from scipy.stats import binom

    low, high = binom.ppf(0.025, n, 0.5) / n, binom.isf(0.025, n, 0.5) / n
    assert low <= m["test/acc"] <= high, (m["test/acc"], low, high)
    assert m["test/significance/acc_pvalue"] > 0.05
    assert m["test/significance/acc_significant"] == 0.0
    evaluation = next(cb for cb in result.built.trainer.callbacks if isinstance(cb, TradingEvaluation))
    assert evaluation.report.significance_dict()["accuracy"]["verdict"] == "not significant"
    client = MlflowClient()
    assert json.loads(_artifact_text(client, result.run_id, "evaluation/significance.json"))["verdict"] == "not significant"


def test_planted_signal_is_found_significant_and_stays_below_the_ceiling(mlflow_uri):
    strength = 0.5
    overrides = {**SMALL_MLP, "trainer.max_epochs": 5, "model.lr": 0.01, "data.synthetic.n_bars": 3000, "data.synthetic.signal_strength": strength}
    result = fit(CONFIGS / "mlp.yaml", overrides)
    m = result.metrics
    ceiling = best_direction_accuracy(strength)  # 2/3: Bayes-optimal with the shocks known
    assert m["test/acc"] > 0.58, m["test/acc"]
    assert m["test/acc"] <= ceiling + 0.02  # the ceiling holds in expectation; 2 % allows for 450 test bars
    assert m["test/significance/acc_significant"] == 1.0 and m["test/significance/acc_pvalue"] < 1e-4
    assert m["test/significance/sharpe_ci_low"] > 0


@pytest.mark.slow  # ~20 s on 2 shared cores: 8,000 bars
def test_spy_daily_run_shows_trading_metrics(mlflow_uri, tiny):
    path = shared_file("spy_daily.csv")
    result = fit(CONFIGS / "mlp.yaml", {**tiny, **ONLY_TRADING, "trainer.max_epochs": 1, "data.path": str(path)})
    m = result.metrics
    assert m["test/trading/periods_per_year"] == 252
    assert m["test/trading/n_periods"] > 1000
    assert 0 < m["test/baseline/buy_and_hold/annual_vol"] < 0.6
    assert m["test/trading/max_drawdown"] > 0
    assert 0 <= m["test/significance/acc_pvalue"] <= 1


def test_disabled_callback_logs_nothing(mlflow_uri, tiny):
    result = fit(CONFIGS / "mlp.yaml", {**tiny, "trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation", "init_args": {"enabled": False}}]})
    assert "test/acc" in result.metrics
    assert not any(k.startswith(("test/trading", "test/baseline", "val/trading")) for k in result.metrics)


def test_bad_callback_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="`cost_bps` must be >= 0, got -1"):
        TradingEvaluation(cost_bps=-1)
    with pytest.raises(ValueError, match=r"`no_trade_band` must be in \[0, 0.5\), got 0.7"):
        TradingEvaluation(no_trade_band=0.7)
