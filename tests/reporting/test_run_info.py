"""The numbers behind the reports, checked against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tradexp.reporting.read_runs import MetricPoint, RunData
from tradexp.reporting.run_info import differing_params, equity_series, is_seed_key, learning_curve_info, metric_groups, pr_info, roc_info, seed_groups


def _points(values, steps):
    return [MetricPoint(s, v, 0) for s, v in zip(steps, values)]


def _run(run_id: str, params: dict, metrics: dict) -> RunData:
    return RunData(run_id, run_id, "1", "exp", "FINISHED", 0, 1000, params=params, metrics=metrics)


def test_learning_curves_pair_train_and_val_by_epoch_and_skip_test_and_one_offs():
    histories = {
        "epoch": _points([0, 0, 1, 1, 2], [3, 4, 8, 9, 10]),
        "train/loss": _points([0.9, 0.8], [3, 8]),
        "val/loss": _points([1.0, 0.85], [4, 9]),
        "val/acc": _points([0.5, 0.6], [4, 9]),
        "test/acc": _points([0.55], [10]),
        "data/drift/val/psi_max": _points([2.0], [0]),
        "lr-AdamW": _points([0.01], [3]),
    }
    panels = learning_curve_info(histories)
    assert [p.title for p in panels] == ["loss", "acc"]
    loss = panels[0]
    assert loss.xlabel == "epoch"
    assert {s.label: (s.x, s.y) for s in loss.series} == {"train/loss": ([0, 1], [0.9, 0.8]), "val/loss": ([0, 1], [1.0, 0.85])}


def test_roc_auc_equals_mann_whitney_and_ties_count_half():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, 300)
    score = np.round(rng.random(300) * 0.5 + 0.3 * target, 2)  # rounded: many ties
    info = roc_info(target, score)
    u = stats.mannwhitneyu(score[target == 1], score[target == 0]).statistic
    assert info.auc == pytest.approx(u / ((target == 1).sum() * (target == 0).sum()))
    assert info.fpr[0] == 0 and info.tpr[-1] == 1 and np.all(np.diff(info.fpr) >= 0)
    assert roc_info([1, 1, 1], [0.2, 0.5, 0.9]) is None  # one class only
    assert roc_info([0, 2], [0.1, 0.2]) is None  # not a 0/1 target


def test_average_precision_by_brute_force():
    target = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.1])
    # AP = mean over positives of precision at their rank
    ranks = np.argsort(-score)
    hits = np.cumsum(target[ranks])
    expected = np.mean([hits[i] / (i + 1) for i in range(len(score)) if target[ranks][i] == 1])
    info = pr_info(target, score)
    assert info.average_precision == pytest.approx(expected) and info.base_rate == 0.5


def test_metric_groups_split_by_prefix():
    groups = metric_groups(
        {
            "test/acc": 0.5,
            "test/trading/sharpe": 1.2,
            "test/baseline/buy_and_hold/sharpe": 0.3,
            "test/significance/acc_pvalue": 0.04,
            "val/loss": 0.7,
            "epoch": 3.0,
            "data/drift/val/psi_max": 2.0,
        }
    )
    assert groups.test == {"test/acc": 0.5} and groups.trading == {"sharpe": 1.2}
    assert groups.baselines == {"buy_and_hold": {"sharpe": 0.3}} and groups.significance == {"acc_pvalue": 0.04}
    assert groups.validation == {"val/loss": 0.7} and groups.other == {"data/drift/val/psi_max": 2.0}


def test_equity_series_wide_and_long_formats():
    wide = pd.DataFrame({"timestamp": ["2020-01-01", "2020-01-02"], "position": [1.0, -1.0], "equity_model": [1.0, 1.1], "equity_buy_and_hold": [1.0, 0.9]})
    series = equity_series(wide, "run")
    assert series.y == [1.0, 1.1] and series.x[0] == np.datetime64("2020-01-01")
    long = pd.DataFrame({"date": ["d1", "d1", "d2", "d2"], "strategy": ["buy_and_hold", "model", "buy_and_hold", "model"], "equity": [1, 1, 0.9, 1.2]})
    assert equity_series(long).y == [1.0, 1.2]
    assert equity_series(pd.DataFrame({"t": ["a"]})) is None and equity_series(None) is None


def test_seed_groups_mean_and_spread_over_runs_differing_only_by_seed():
    base = {"model.lr": "0.01", "data.window": "8", "tracking.run_name": "x"}
    runs = [
        _run("a", {**base, "seed_everything": "1", "tracking.run_name": "a"}, {"test/acc": 0.50}),
        _run("b", {**base, "seed_everything": "2", "tracking.run_name": "b"}, {"test/acc": 0.56}),
        _run("c", {**base, "seed_everything": "3"}, {"test/acc": 0.53}),
        _run("d", {**base, "model.lr": "0.1", "seed_everything": "1"}, {"test/acc": 0.40}),
    ]
    (group,) = seed_groups(runs, ["test/acc"])
    assert group.run_ids == ["a", "b", "c"] and group.seeds == ["seed_everything=1", "seed_everything=2", "seed_everything=3"]
    spread = group.stats["test/acc"]
    assert spread.n == 3 and spread.mean == pytest.approx(0.53) and spread.std == pytest.approx(np.std([0.5, 0.56, 0.53], ddof=1))
    assert group.label == "model.lr=0.01"
    assert differing_params([r.params for r in runs]) == ["model.lr", "seed_everything"]
    assert is_seed_key("data.synthetic.seed") and is_seed_key("seed_everything") and not is_seed_key("data.seeds_file")


def test_reports_take_the_direction_of_a_metric_from_metric_direction():
    """Drawdown and turnover improve downwards (the reports' own word lists said upwards)."""
    from tradexp.reporting.read_study import _objective
    from tradexp.reporting.run_page import build_run_html

    histories = {"epoch": _points([0, 1, 2], [1, 2, 3]), "val/trading/max_drawdown": _points([0.3, 0.1, 0.2], [1, 2, 3])}
    run = RunData("r", "r", "1", "exp", "FINISHED", 0, 1000, histories=histories, metrics={"val/trading/max_drawdown": 0.2})
    html = build_run_html(run)
    row = html[html.index("<td>val/trading/max_drawdown</td>") :].split("</tr>")[0]
    assert '<td class="num" data-v="0.2">0.2000</td><td class="num" data-v="0.1">0.1000</td><td class="num" data-v="1.0">1</td>' in row
    parent = RunData("p", "p", "1", "exp", "FINISHED", 0, 1000)
    assert _objective(parent, {"metric": "val/trading/max_drawdown"}) == ("val/trading/max_drawdown", "minimize")
    assert _objective(parent, {"metric": "val/trading/sharpe"}) == ("val/trading/sharpe", "maximize")


def test_run_report_starts_with_the_headline_verdict_card():
    import json

    from tradexp.evaluation.headline import headline_info
    from tradexp.reporting.run_info import run_headline_info
    from tradexp.reporting.run_page import build_run_html

    metrics = {
        "test/trading/sharpe": 1.2,
        "test/baseline/buy_and_hold/sharpe": 0.4,
        "test/trading/max_drawdown": 0.12,
        "test/significance/probabilistic_sharpe": 0.9,
        "test/trading/n_periods": 120.0,
        "test/trading/steps_per_year": 252.0,
    }
    trading = {"settings": {"cost_bps": 0.5}, "annualisation": {"periods_per_year": 252.0}}
    run = RunData("r", "r", "1", "exp", "FINISHED", 0, 1000, metrics=metrics, files={"evaluation/trading.json": json.dumps(trading).encode()})
    info = run_headline_info(run)
    assert info == headline_info(metrics, cost_bps=0.5, bars_per_year=252.0)
    html = build_run_html(run)
    assert html.index('id="verdict"') < html.index('id="summary"')
    card = html[html.index('<div class="verdict') : html.index('id="summary"')]
    assert "Sharpe after costs 1.20 beats buy-and-hold (0.40); max drawdown 12.0%; not significant (p = 0.100); 120 test samples." in card
    assert all(w in card for w in info.warnings) and len(info.warnings) == 3  # samples, period, cost
    assert "no trading evaluation" in build_run_html(RunData("e", "e", "1", "exp", "FINISHED", 0, 1)).lower()
