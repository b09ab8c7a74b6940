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
from tradexp.data.features import DEFAULT_FEATURES
from tradexp.evaluation import TradingEvaluation

# Only this callback (the other default callbacks' plots and reports are not under test here).
ONLY_TRADING = {"trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation"}]}

# A tiny MLP on the last returns only: fits 3000 bars in a few seconds.
SMALL_MLP = {**TINY, **ONLY_TRADING, "data.features": ["log_return_1"], "data.batch_size": 128, "model.net.init_args.hidden_sizes": [16], "model.net.init_args.dropout": 0.0}


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
    verdict = "significant" if metrics["test/significance/acc_pvalue"] < 0.05 else "not significant"  # alpha 0.05 by default
    assert significance["accuracy"]["verdict"] == verdict
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


# (seed, horizon) pairs; every fit below uses the default feature set. Bonferroni over the fits.
RANDOM_WALKS = [(21, 1), (22, 5)]
PLANTED = [(23, 1), (25, 1)]
FIT_ALPHA = 0.05 / (len(RANDOM_WALKS) + len(PLANTED))


def _default_features_fit(seed: int, horizon: int, strength: float, epochs: int, lr: float) -> dict:
    overrides = {
        **SMALL_MLP,
        "data.features": list(DEFAULT_FEATURES),
        "trainer.max_epochs": epochs,
        "model.lr": lr,
        "data.synthetic.n_bars": 3000,
        "data.synthetic.signal_strength": strength,
        "data.synthetic.seed": seed,
        "data.horizon": horizon,
    }
    return fit(CONFIGS / "mlp.yaml", overrides)


@pytest.mark.slow  # ~1-4 s a fit
@pytest.mark.parametrize("seed, horizon", RANDOM_WALKS)
def test_random_walk_accuracy_stays_inside_the_chance_interval_and_is_not_significant(mlflow_uri, seed, horizon):
    from scipy.stats import binom

    result = _default_features_fit(seed, horizon, 0.0, epochs=3, lr=0.003)
    m = result.metrics
    n = int(m["test/significance/acc_n"])  # non-overlapping test bars (one every h)
    up = float((result.built.datamodule.split_data("test")["forward_returns"] > 0).mean())
    no_skill = max(up, 1 - up)  # the best a constant guess can do on these bars
    high = binom.isf(FIT_ALPHA / 2, n, no_skill) / n
    low = binom.ppf(FIT_ALPHA / 2, n, 1 - no_skill) / n
    assert low <= m["test/acc"] <= high, (m["test/acc"], low, high)
    assert m["test/significance/acc_pvalue"] > FIT_ALPHA
    assert m["test/significance/acc_significant"] == 0.0
    evaluation = next(cb for cb in result.built.trainer.callbacks if isinstance(cb, TradingEvaluation))
    assert evaluation.report.significance_dict()["accuracy"]["verdict"] == "not significant"
    client = MlflowClient()
    assert json.loads(_artifact_text(client, result.run_id, "evaluation/significance.json"))["verdict"] == "not significant"


@pytest.mark.slow  # ~1-4 s a fit
@pytest.mark.parametrize("seed, horizon", PLANTED)
def test_planted_signal_is_found_significant_and_stays_below_the_ceiling(mlflow_uri, seed, horizon):
    from scipy.stats import binom

    strength = 0.5
    result = _default_features_fit(seed, horizon, strength, epochs=5, lr=0.01)
    m = result.metrics
    n = int(m["test/significance/acc_n"])
    ceiling = best_direction_accuracy(strength)  # 2/3: Bayes-optimal with the shocks known
    chance_high = binom.isf(FIT_ALPHA / 2, n, 0.5) / n
    ceiling_high = binom.isf(FIT_ALPHA / 2, n, ceiling) / n  # the ceiling holds in expectation
    assert chance_high < m["test/acc"] <= ceiling_high, (m["test/acc"], chance_high, ceiling_high)
    assert m["test/significance/acc_significant"] == 1.0 and m["test/significance/acc_pvalue"] < 1e-4
    assert m["test/significance/sharpe_ci_low"] > 0


@pytest.mark.slow  # ~20 s on 2 shared cores: 8,000 bars
def test_spy_daily_run_shows_trading_metrics(mlflow_uri, tiny):
    path = shared_file("spy_daily.csv")
    result = fit(CONFIGS / "mlp.yaml", {**tiny, **ONLY_TRADING, "trainer.max_epochs": 1, "data.path": str(path)})
    m = result.metrics
    assert m["test/trading/periods_per_year"] == 252
    assert m["test/trading/n_periods"] > 1000
    bars = result.built.datamodule.split_data("test")["forward_returns"]  # one-bar log returns of the test bars
    assert m["test/baseline/buy_and_hold/annual_vol"] == pytest.approx(np.expm1(bars).std(ddof=1) * np.sqrt(252), rel=0.02)
    equity = np.exp(np.cumsum(bars))
    drawdown = float(np.max(1 - equity / np.maximum.accumulate(np.maximum(equity, 1.0))))
    assert m["test/baseline/buy_and_hold/max_drawdown"] == pytest.approx(drawdown, abs=0.01)
    from scipy.stats import binomtest

    n, up = len(bars), float((bars > 0).mean())
    correct = round(m["test/acc"] * n)  # the p-value of this accuracy against the majority rate of these bars
    assert m["test/significance/acc_pvalue"] == pytest.approx(binomtest(correct, n, max(up, 1 - up), alternative="greater").pvalue, rel=1e-3)


def test_disabled_callback_logs_nothing(mlflow_uri, tiny):
    result = fit(CONFIGS / "mlp.yaml", {**tiny, "trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation", "init_args": {"enabled": False}}]})
    assert "test/acc" in result.metrics
    assert not any(k.startswith(("test/trading", "test/baseline", "val/trading")) for k in result.metrics)


def test_bad_callback_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="`cost_bps` must be >= 0, got -1"):
        TradingEvaluation(cost_bps=-1)
    with pytest.raises(ValueError, match=r"`no_trade_band` must be in \[0, 0.5\), got 0.7"):
        TradingEvaluation(no_trade_band=0.7)
