"""Walk-forward: fold plans that never leak, and the CLI leaving one parent run with 4 nested folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import build, override_args
from tradexp.cli import main
from tradexp.data import BarsDataModule, SplitSettings, SyntheticMarket, chronological_split
from tradexp.errors import ConfigError
from tradexp.evaluation.walk_forward import plan_folds


def _datamodule(**kwargs) -> BarsDataModule:
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=900), window=8, horizon=3, features=["log_return_1", "rsi_14"], **kwargs)
    dm.setup()
    return dm


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_no_fold_train_window_or_label_reaches_its_val_or_test_bars(mode):
    probe = _datamodule()
    positions = np.arange(probe.window - 1, len(probe.timestamps) - probe.horizon)
    plan = plan_folds(probe.timestamps[positions], 4, mode, probe.splits.embargo, val_fraction=0.15)
    test_blocks = []
    for fold in plan:
        dm = _datamodule(**{k.split(".")[1]: v for k, v in fold.overrides().items()})
        s = dm.splits
        for earlier, later in (("train", "val"), ("val", "test")):
            last_label_bar = getattr(s, earlier)[-1] + dm.horizon
            first_window_bar = getattr(s, later)[0] - dm.window + 1
            assert last_label_bar < first_window_bar, (fold, earlier, later)
        assert dm.scaler.fitted_rows[1] < s.val[0] - dm.window + 1  # scaler statistics stop before val windows
        assert dm.scaler.fitted_rows[0] == max(s.train[0] - dm.window + 1, 0)
        times = dm.timestamps
        assert times[s.test[0]] >= pd.Timestamp(fold.test_start)
        if fold.test_end is not None:
            assert times[s.test[-1]] < pd.Timestamp(fold.test_end)
        if fold.train_start is not None:
            assert times[s.train[0]] >= pd.Timestamp(fold.train_start)
        test_blocks.append(s.test)
    # the test blocks tile the later part of the data without overlap, in time order
    for a, b in zip(test_blocks, test_blocks[1:]):
        assert a[-1] < b[0]
    train_sizes = [len(_datamodule(**{k.split(".")[1]: v for k, v in f.overrides().items()}).splits.train) for f in plan]
    if mode == "expanding":
        assert train_sizes == sorted(train_sizes) and train_sizes[-1] > train_sizes[0]
    else:
        assert max(train_sizes) - min(train_sizes) <= 1


def test_fold_plan_that_leaves_no_training_data_is_refused():
    times = pd.bdate_range("2020-01-01", periods=100)
    with pytest.raises(ConfigError, match=r"walkforward: 100 samples give fold 0 -?\d+ train"):
        plan_folds(times, 4, "expanding", embargo=20, val_fraction=0.15, min_train_fraction=0.2)
    with pytest.raises(ConfigError, match=r"give fold 0 \d+ train, \d+ val and 6 test samples .* >= 20 test samples"):
        plan_folds(pd.bdate_range("2020-01-01", periods=400), 40, "expanding", embargo=8, val_fraction=0.15)
    with pytest.raises(ConfigError, match="walkforward --mode: 'sliding' received; allowed: expanding, rolling"):
        plan_folds(times, 4, "sliding", embargo=2, val_fraction=0.15)


def test_split_bounds_need_order_and_timestamps():
    index = pd.bdate_range("2020-01-01", periods=300)
    with pytest.raises(ConfigError, match=r"data.train_start \(2021-01-01\) must be before data.test_end \(2020-06-01\)"):
        chronological_split(300, 8, 1, SplitSettings(train_start="2021-01-01", test_end="2020-06-01"), index=index)
    with pytest.raises(ConfigError, match="data.train_start/test_end need timestamps"):
        chronological_split(300, 8, 1, SplitSettings(train_start="2020-02-01"))
    bounded = chronological_split(300, 8, 1, SplitSettings(train_start="2020-03-02", test_end="2020-10-01"), index=index)
    assert index[bounded.train[0]] >= pd.Timestamp("2020-03-02") and index[bounded.test[-1]] < pd.Timestamp("2020-10-01")


@pytest.mark.slow  # five fits: ~15 s alone, a minute on 2 busy cores
def test_walkforward_cli_leaves_four_nested_fold_runs_and_the_aggregate(mlflow_uri, capsys):
    only_trading = {"trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation"}]}
    args = override_args({**TINY, **only_trading})
    code = main(["walkforward", "--config", str(CONFIGS / "mlp.yaml"), "--folds", "4", "--mode", "rolling", *args])
    assert code == 0
    client = MlflowClient(mlflow_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    (parent,) = [r for r in runs if r.data.tags.get("tradexp.type") == "walk_forward"]
    folds = [r for r in runs if r.data.tags.get("tradexp.type") == "fold"]
    assert len(runs) == 5 and len(folds) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in folds} == {parent.info.run_id}
    assert sorted(r.data.tags["tradexp.fold"] for r in folds) == ["0", "1", "2", "3"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all("test/trading/sharpe" in r.data.metrics for r in folds)

    fold_sharpes = [r.data.metrics["test/trading/sharpe"] for r in folds]
    metrics = parent.data.metrics
    assert metrics["walk_forward/folds"] == 4
    assert metrics["test/trading/sharpe_mean"] == pytest.approx(np.mean(fold_sharpes), rel=1e-5)
    assert metrics["test/trading/sharpe_std"] == pytest.approx(np.std(fold_sharpes, ddof=1), rel=1e-5)
    assert "oos/trading/sharpe" in metrics and "oos/significance/acc_pvalue" in metrics
    table = pd.read_csv(client.download_artifacts(parent.info.run_id, "evaluation/folds.csv"))
    assert list(table["fold"]) == [0, 1, 2, 3]
    assert set(table["run_id"]) == {r.info.run_id for r in folds}
    assert (pd.to_datetime(table["test_start"]).diff().dropna() > pd.Timedelta(0)).all()
    assert {"plots/folds.png"} <= {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert "walk-forward parent run: " + parent.info.run_id in capsys.readouterr().out
    _fold_tags_follow_the_plan(folds, metrics, "rolling", 4)


def _fold_tags_follow_the_plan(folds: list, parent_metrics: dict, mode: str, k: int) -> None:
    """Each fold run's recorded split (its `tradexp.split.*` tags) against a plan computed here."""
    planning = build(CONFIGS / "mlp.yaml", {**TINY, "trainer.callbacks": [], "tracking.enabled": False})
    dm = planning.datamodule
    dm.setup()
    times = pd.DatetimeIndex(dm.timestamps)
    samples = times[np.arange(dm.window - 1, len(times) - dm.horizon)]  # every possible window end
    plan = plan_folds(samples, k, mode, dm.splits.embargo, dm.hparams.val_fraction)
    by_fold = sorted(folds, key=lambda r: int(r.data.tags["tradexp.fold"]))
    blocks = []
    for fold, run in zip(plan, by_fold):
        tags = {key.removeprefix("tradexp.split."): pd.Timestamp(v) for key, v in run.data.tags.items() if key.startswith("tradexp.split.")}
        assert set(tags) == {f"{s}_{e}" for s in ("train", "val", "test") for e in ("start", "end")}, run.data.tags
        assert tags["test_start"] == pd.Timestamp(fold.test_start)  # the first window end the plan gives the block
        if fold.test_end is not None:
            assert tags["test_end"] < pd.Timestamp(fold.test_end)
        assert tags["val_start"] >= pd.Timestamp(fold.val_start)
        if fold.train_start is not None:
            assert tags["train_start"] >= pd.Timestamp(fold.train_start)
        position = {name: times.get_loc(value) for name, value in tags.items()}
        # purged: no train label reaches a val window, no val label a test window
        for earlier, later in (("train", "val"), ("val", "test")):
            assert position[f"{earlier}_end"] + dm.horizon < position[f"{later}_start"] - dm.window + 1, (fold.index, earlier, later)
        blocks.append((position["test_start"], position["test_end"]))
        assert run.data.metrics["test/trading/n_periods"] == position["test_end"] - position["test_start"] + 1
    # the test blocks follow each other without overlap or gap, and the last one reaches the last sample
    for (_, end), (start, _) in zip(blocks, blocks[1:]):
        assert start == end + 1
    assert blocks[-1][1] == times.get_loc(samples[-1])
    pooled = sum(end - start + 1 for start, end in blocks)
    assert parent_metrics["oos/trading/n_periods"] == pooled
