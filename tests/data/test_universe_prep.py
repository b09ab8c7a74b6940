"""A universe's windows, labels and rolling features never cross symbols; one calendar; train-only scalers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_file
from tradexp.data.features import compute_features, feature_warmup
from tradexp.data.splits import SplitSettings
from tradexp.data.synthetic import SyntheticMarket
from tradexp.data.synthetic_universe import synthetic_universe
from tradexp.data.universe import load_universe
from tradexp.data.universe_prep import prepare_universe, unscaled_features
from tradexp.data.windows import WindowDataset

FEATURES = ["log_return_1", "volatility_10", "rsi_14"]
WINDOW, HORIZON = 8, 3


def _universe(n=400):
    bars = synthetic_universe(SyntheticMarket(n_symbols=3, n_bars=n, seed=1, annual_vol=0.25))
    bars["SYN001"] = bars["SYN001"] * 100.0  # a planted discontinuity: the next symbol's prices are 100x
    return bars


def _prep(bars, scaler_scope="per_symbol", **split):
    return prepare_universe(bars, FEATURES, "classification", HORIZON, WINDOW, SplitSettings(**split), scaler_scope=scaler_scope)


def test_no_window_label_or_rolling_feature_crosses_symbols():
    bars = _universe()
    prep = _prep(bars)
    for name, positions in prep.splits.items():
        first_row = positions - WINDOW + 1
        assert (prep.symbol_ids[first_row] == prep.symbol_ids[positions]).all(), name
        label_row = positions + HORIZON
        assert (prep.symbol_ids[label_row] == prep.symbol_ids[positions]).all(), name
        assert np.isfinite(prep.forward_returns[positions]).all()
    warmup = feature_warmup(FEATURES)
    for i, symbol in enumerate(prep.symbols):  # each block equals the features of that symbol alone
        alone = compute_features(bars[symbol], FEATURES).iloc[warmup:].to_numpy()
        rows = np.arange(prep.offsets[i], prep.offsets[i + 1])
        np.testing.assert_allclose(unscaled_features(prep, rows), alone, rtol=1e-5, atol=1e-5)  # float32 round trip
        close = bars[symbol]["close"].to_numpy()[warmup:]
        expected = np.log(close[HORIZON:] / close[:-HORIZON])
        np.testing.assert_allclose(prep.forward_returns[prep.offsets[i] : prep.offsets[i + 1]][:-HORIZON], expected)
    windows = WindowDataset(prep.scaled, prep.targets, prep.splits.train, WINDOW).windows(np.arange(len(prep.splits.train)))
    assert np.abs(windows).max() < 50  # a window mixing the 100x symbol with another would explode after scaling


def test_one_calendar_and_the_embargo_within_each_symbol():
    prep = _prep(_universe(), val_fraction=0.2, test_fraction=0.2)
    times = {name: prep.timestamps[p] for name, p in prep.splits.items()}
    assert times["train"].max() < times["val"].min() and times["val"].max() < times["test"].min()
    assert times["val"].min() >= pd.Timestamp(prep.split_dates["val_start"])
    for i in range(len(prep.symbols)):
        mine = {n: p[prep.symbol_ids[p] == i] for n, p in prep.splits.items()}
        assert mine["val"][0] - mine["train"][-1] > prep.splits.embargo >= HORIZON + WINDOW - 1
        assert mine["test"][0] - mine["val"][-1] > prep.splits.embargo


@pytest.mark.parametrize("scope", ["per_symbol", "pooled"])
def test_scalers_see_training_rows_only(scope):
    bars = _universe()
    prep = _prep(bars, scaler_scope=scope)
    wild = {s: f.copy() for s, f in bars.items()}
    val_start = pd.Timestamp(prep.split_dates["val_start"])
    for frame in wild.values():  # change every bar from the validation start on
        late = frame.index >= val_start - pd.Timedelta(days=1)
        frame.loc[late, ["open", "high", "low", "close"]] *= np.linspace(1, 50, late.sum())[:, None]
    changed = _prep(wild, scaler_scope=scope)
    for key in prep.scalers:
        np.testing.assert_allclose(prep.scalers[key].center, changed.scalers[key].center)
        np.testing.assert_allclose(prep.scalers[key].scale, changed.scalers[key].scale)
    np.testing.assert_array_equal(prep.splits.train, changed.splits.train)
    train_rows = np.unique(np.concatenate([np.arange(p - WINDOW + 1, p + 1) for p in prep.splits.train]))
    np.testing.assert_allclose(prep.scaled[train_rows], changed.scaled[train_rows])
    assert set(prep.scalers) == ({"*"} if scope == "pooled" else set(prep.symbols))


def test_a_symbol_that_ends_early_is_listed_as_absent():
    bars = _universe()
    bars["SYN002"] = bars["SYN002"].iloc[:200]  # ends before validation starts
    prep = _prep(bars)
    assert prep.absent == {"val": ["SYN002"], "test": ["SYN002"]}
    assert (prep.symbol_ids[prep.splits.test] != 2).all()


def test_the_real_three_symbol_universe_keeps_the_split_dates_for_all(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    for name, symbol in (("spy_daily.csv", "SPY"), ("aapl_daily.csv", "AAPL"), ("btc_daily.csv", "BTC")):
        (folder / f"{symbol}.csv").symlink_to(shared_file(name))
    bars = load_universe(folder).bars
    by_fraction = _prep(bars)  # the union calendar starts in 1980: BTC (from 2024) is only in test
    assert by_fraction.absent == {"train": ["BTC"], "val": ["BTC"]}
    by_date = _prep(bars, val_start="2025-06-02", test_start="2026-01-05")
    assert by_date.absent == {}
    for prep in (by_fraction, by_date):
        val_at, test_at = (pd.Timestamp(prep.split_dates[k]) for k in ("val_start", "test_start"))
        for i, symbol in enumerate(prep.symbols):
            mine = {n: prep.timestamps[p[prep.symbol_ids[p] == i]] for n, p in prep.splits.items()}
            if len(mine["train"]):
                assert mine["train"].max() < val_at, symbol
            if len(mine["val"]):
                assert val_at <= mine["val"].min() and mine["val"].max() < test_at, symbol
            assert test_at <= mine["test"].min(), symbol
