"""Baselines: buy-and-hold, majority class from the TRAIN labels, random signal with the model's turnover."""

from __future__ import annotations

import numpy as np
import pytest

from tradexp.evaluation.baselines import buy_and_hold_positions, majority_class_positions, random_positions
from tradexp.evaluation.trading import TradingSettings, evaluate_predictions


def test_majority_class_follows_the_training_base_rate():
    np.testing.assert_array_equal(majority_class_positions(3, 0.55), [1, 1, 1])
    np.testing.assert_array_equal(majority_class_positions(3, 0.45), [-1, -1, -1])
    np.testing.assert_array_equal(majority_class_positions(3, 0.45, long_only=True), [0, 0, 0])
    with pytest.raises(ValueError, match=r"`train_up_rate` must be in \[0, 1\], got 1.5"):
        majority_class_positions(3, 1.5)


@pytest.mark.parametrize("values, turnover", [((-1, 1), 0.3), ((0, 1), 0.2), ((-1, 0, 1), 0.5)])
def test_random_signal_matches_the_turnover_and_is_seeded(values, turnover):
    positions = random_positions(20_000, turnover, values, seed=5)
    assert set(np.unique(positions)) <= set(values)
    assert np.abs(np.diff(positions)).mean() == pytest.approx(turnover, rel=0.05)
    np.testing.assert_array_equal(positions, random_positions(20_000, turnover, values, seed=5))
    assert not np.array_equal(positions, random_positions(20_000, turnover, values, seed=6))


def test_evaluation_puts_every_baseline_on_the_same_bars():
    rng = np.random.default_rng(0)
    forward = rng.normal(0.0005, 0.01, 300)
    preds = rng.random(300)
    report = evaluate_predictions(preds, forward, None, "classification", train_up_rate=0.6, settings=TradingSettings(cost_bps=5))
    table = report.table()
    assert list(table["strategy"]) == ["model", "buy_and_hold", "majority_class", "random"]
    hold = report.backtests["buy_and_hold"]
    assert hold.costs.sum() == pytest.approx(5 / 10_000)  # one entry
    np.testing.assert_allclose(hold.returns[1:], np.expm1(forward[1:]))
    np.testing.assert_array_equal(report.backtests["majority_class"].positions, buy_and_hold_positions(300))
    model_turnover = report.metrics["model"]["turnover"]
    assert report.metrics["random"]["turnover"] == pytest.approx(model_turnover, rel=0.2)
    assert report.annualisation.periods_per_year == 252 and "assumed" in report.annualisation.rule


def test_horizon_three_tests_accuracy_on_non_overlapping_samples():
    rng = np.random.default_rng(2)
    forward = rng.normal(0, 0.01, 90)
    report = evaluate_predictions(rng.random(90), forward, None, "classification", 0.5, horizon=3)
    assert report.accuracy.n == 30
    assert report.backtests["model"].periods_per_year == 84
    assert report.flat_metrics()["test/trading/steps_per_year"] == 84
    assert "one sample in 3" in report.notes[0]
