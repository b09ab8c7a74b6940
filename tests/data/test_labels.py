"""Labels checked against the raw closes: y_t reads bar t and bar t + h, and nothing else.

The expected values are computed here from the bars written to the CSV, not from the product's
own arrays, so a label shifted by one bar (t + h + 1) or read from the wrong column fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tradexp.data import BarsDataModule, SyntheticMarket, synthetic_bars

HORIZONS = [1, 3, 5]
FEATURES = ["log_return_1", "rsi_14"]  # a warm-up (rsi) so rows of the data and rows of the bars differ


def _datamodule(tmp_path, bars: pd.DataFrame, name: str, horizon: int, task: str = "classification") -> BarsDataModule:
    path = tmp_path / name
    bars.to_csv(path, index_label="timestamp")
    dm = BarsDataModule(path=str(path), window=8, horizon=horizon, task=task, features=FEATURES, use_adjusted=False, batch_size=50)
    dm.setup()
    return dm


def _expected(bars: pd.DataFrame, timestamps: np.ndarray, horizon: int) -> np.ndarray:
    """log(close[t + h] / close[t]) from the raw closes, for each sample's window end t."""
    rows = bars.index.get_indexer(pd.DatetimeIndex(timestamps))
    assert (rows >= 0).all()
    close = bars["close"].to_numpy()
    return np.log(close[rows + horizon] / close[rows])


def _loader_targets(dm: BarsDataModule, name: str) -> np.ndarray:
    """What the model is trained / evaluated on, in split order (val and test loaders do not shuffle)."""
    loader = dm.val_dataloader() if name == "val" else dm.test_dataloader()
    return torch.cat([y for _, y in loader]).numpy()


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(SyntheticMarket(n_bars=400, seed=3, signal_strength=0.0))


@pytest.mark.parametrize("horizon", HORIZONS)
def test_targets_and_forward_returns_equal_log_close_ratios_from_the_raw_bars(tmp_path, bars, horizon):
    classification = _datamodule(tmp_path, bars, "c.csv", horizon)
    regression = _datamodule(tmp_path, bars, "r.csv", horizon, task="regression")
    for name in ("train", "val", "test"):
        data = classification.split_data(name)
        expected = _expected(bars, data["timestamps"], horizon)
        assert len(expected) > 20
        np.testing.assert_allclose(data["forward_returns"], expected, rtol=0, atol=1e-12)  # CSV round trip: ~1e-15
        np.testing.assert_array_equal(data["targets"], (expected > 0).astype("float32"))
        reg = regression.split_data(name)
        np.testing.assert_allclose(reg["targets"], expected.astype("float32"), rtol=1e-6)
        if name != "train":
            np.testing.assert_array_equal(_loader_targets(classification, name), (expected > 0).astype("float32"))
            np.testing.assert_allclose(_loader_targets(regression, name), expected.astype("float32"), rtol=1e-6)


@pytest.mark.parametrize("horizon", HORIZONS)
def test_one_bar_changed_flips_exactly_the_labels_that_read_it(tmp_path, bars, horizon):
    base = _datamodule(tmp_path, bars, "a.csv", horizon, task="regression")
    test = base.split_data("test")
    i = len(test["timestamps"]) // 2
    t = bars.index.get_loc(pd.Timestamp(test["timestamps"][i]))
    target_bar = t + horizon
    # Move bar t + h so that the return from bar t has the opposite sign (and a clear size).
    close = bars["close"].to_numpy()
    flipped_close = close[t] * np.exp(-np.sign(np.log(close[target_bar] / close[t])) * 0.05)
    changed = bars.copy()
    scale = flipped_close / close[target_bar]
    changed.iloc[target_bar, :4] *= scale  # open, high, low, close together: a valid bar
    other = _datamodule(tmp_path, changed, "b.csv", horizon, task="regression")

    before, after = test["targets"], other.split_data("test")["targets"]
    # positive control: y_t reads bar t + h, so it changes, and its sign flips
    assert np.sign(after[i]) == -np.sign(before[i]) != 0
    assert after[i] == pytest.approx(np.log(flipped_close / close[t]), rel=1e-5)
    # the only other label that reads bar t + h is the one starting there (if it is in the split)
    rows = bars.index.get_indexer(pd.DatetimeIndex(test["timestamps"]))
    moved = np.flatnonzero(before != after)
    assert set(rows[moved]) <= {t, target_bar} and t in set(rows[moved])
    # a label reading one bar further (t + h + 1) would leave y_t alone and move y_{t-1}
    assert before[i - 1] == after[i - 1]
