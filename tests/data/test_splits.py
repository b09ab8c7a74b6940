"""The property users trust: no window, label or scaler statistic sees a bar from a later split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradexp.data import BarsDataModule, SplitSettings, SyntheticMarket, chronological_split, compute_features, embargo_bars, synthetic_bars
from tradexp.data.features import DEFAULT_FEATURES, feature_warmup
from tradexp.errors import ConfigError


@pytest.mark.parametrize("window, horizon", [(1, 1), (8, 1), (16, 5), (32, 10)])
def test_no_train_window_or_label_reaches_the_first_val_bar(window, horizon):
    splits = chronological_split(1000, window, horizon, SplitSettings(0.2, 0.2))
    for earlier, later in (("train", "val"), ("val", "test")):
        last_label_bar = getattr(splits, earlier)[-1] + horizon  # the label of the last sample reads this bar
        first_later_bar = getattr(splits, later)[0] - window + 1  # the first window of the next split starts here
        assert last_label_bar < first_later_bar
    assert splits.embargo == horizon + window - 1


def test_date_split_and_embargo_by_dates():
    index = pd.bdate_range("2020-01-01", periods=600)
    splits = chronological_split(600, 10, 2, SplitSettings(val_start="2021-01-01", test_start="2021-06-01"), index=index)
    assert index[splits.val[0]] >= pd.Timestamp("2021-01-01")
    assert index[splits.test[0]] >= pd.Timestamp("2021-06-01")
    assert splits.train[-1] + 2 < splits.val[0] - 10 + 1


def test_embargo_below_minimum_is_refused():
    with pytest.raises(ConfigError, match=r"data.embargo: 3 bars is too small; at least horizon \+ window - 1 = 9"):
        embargo_bars(window=8, horizon=2, embargo=3)


def test_split_that_leaves_no_training_data_is_refused():
    with pytest.raises(ConfigError, match=r"leaves 0 train"):
        chronological_split(100, 30, 1, SplitSettings(0.45, 0.45))


def _csv(tmp_path, bars: pd.DataFrame, name: str) -> str:
    path = tmp_path / name
    bars.to_csv(path, index_label="timestamp")
    return str(path)


def test_scaler_and_train_windows_never_see_val_or_test_rows(tmp_path):
    bars = synthetic_bars(SyntheticMarket(n_bars=800, seed=11))
    dm = BarsDataModule(path=_csv(tmp_path, bars, "a.csv"), window=16, horizon=3)
    dm.setup()
    # Everything after the last bar a training window or label reads is replaced by wild values.
    first_unseen = feature_warmup(DEFAULT_FEATURES) + int(dm.splits.train[-1]) + dm.horizon + 1
    changed = bars.copy()
    changed.iloc[first_unseen:, :4] *= np.linspace(3.0, 9.0, len(bars) - first_unseen)[:, None]
    changed.iloc[first_unseen:, 4] *= 50
    other = BarsDataModule(path=_csv(tmp_path, changed, "b.csv"), window=16, horizon=3)
    other.setup()
    assert dm.digest != other.digest
    np.testing.assert_array_equal(dm.scaler.center, other.scaler.center)
    np.testing.assert_array_equal(dm.scaler.scale, other.scaler.scale)
    np.testing.assert_array_equal(dm.splits.train, other.splits.train)
    x_a, y_a = dm._datasets["train"][list(range(len(dm.splits.train)))]
    x_b, y_b = other._datasets["train"][list(range(len(other.splits.train)))]
    assert np.array_equal(x_a.numpy(), x_b.numpy()) and np.array_equal(y_a.numpy(), y_b.numpy())
    assert dm.scaler.fitted_rows[1] < dm.splits.val[0] - dm.window + 1


def test_features_are_causal():
    bars = synthetic_bars(SyntheticMarket(n_bars=400, seed=5))
    full = compute_features(bars, DEFAULT_FEATURES)
    cut = compute_features(bars.iloc[:250], DEFAULT_FEATURES)
    pd.testing.assert_frame_equal(full.iloc[:250], cut)


def test_windows_are_views_and_batches_are_copies():
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=500), window=8)
    dm.setup()
    dataset = dm._datasets["train"]
    assert np.shares_memory(dataset._view, dataset.features)
    x, y = dataset[[0, 1, 2]]
    assert x.shape == (3, 8, dm.n_features) and y.shape == (3,)
    row = dm.splits.train[1]
    np.testing.assert_array_equal(x[1].numpy(), dataset.features[row - 7 : row + 1])
    assert not np.shares_memory(x.numpy(), dataset.features)


def test_dead_zone_drops_small_moves_and_regression_targets_are_returns():
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=600), window=8, dead_zone=0.005)
    dm.setup()
    train = dm.split_data("train")
    assert (np.abs(train["forward_returns"]) > 0.005).all()
    reg = BarsDataModule(synthetic=SyntheticMarket(n_bars=600), window=8, task="regression")
    reg.setup()
    data = reg.split_data("test")
    np.testing.assert_allclose(data["targets"], data["forward_returns"].astype("float32"))
