"""Loader tests on the shapes real bar files come in, and bad files answered with one clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_file
from tradexp.data import load_bars, synthetic_bars
from tradexp.data.synthetic import SyntheticMarket
from tradexp.errors import DataValidationError


@pytest.fixture
def bars() -> pd.DataFrame:
    return synthetic_bars(SyntheticMarket(n_bars=200, seed=3))


def _write(path, text: str, newline: str = "\n") -> str:
    path.write_bytes(text.replace("\n", newline).encode())
    return str(path)


def test_yahoo_export_with_adj_close_and_crlf(tmp_path, bars):
    frame = bars.reset_index().rename(columns={"timestamp": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"})
    frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
    frame["Adj Close"] = frame["Close"] * 0.5
    path = _write(tmp_path / "yahoo.csv", frame[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(index=False), "\r\n")
    loaded = load_bars(path)
    assert len(loaded) == 200
    np.testing.assert_allclose(loaded["close"].to_numpy(), bars["close"].to_numpy() * 0.5)
    np.testing.assert_allclose(loaded["high"].to_numpy(), bars["high"].to_numpy() * 0.5)
    raw = load_bars(path, use_adjusted=False)
    np.testing.assert_allclose(raw["close"].to_numpy(), bars["close"].to_numpy())


@pytest.mark.parametrize("column, scale", [("timestamp", 1), ("open_time", 1000)])
def test_epoch_seconds_and_milliseconds(tmp_path, bars, column, scale):
    frame = bars.reset_index()
    frame[column] = ((frame.pop("timestamp") - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s")) * scale
    frame["taker_buy_volume"] = 1.0
    path = _write(tmp_path / "epoch.csv", frame.to_csv(index=False).rstrip("\n"))  # no final newline
    loaded = load_bars(path, extra_columns=("taker_buy_volume",))
    assert loaded.index[0] == bars.index[0]
    assert list(loaded.columns) == ["open", "high", "low", "close", "volume", "taker_buy_volume"]


def test_parquet_and_uppercase_datetime(tmp_path, bars):
    frame = bars.reset_index().rename(columns=str.upper).rename(columns={"TIMESTAMP": "Datetime"})
    frame.to_parquet(tmp_path / "bars.parquet")
    loaded = load_bars(tmp_path / "bars.parquet")
    pd.testing.assert_index_equal(loaded.index, bars.index, check_names=False)


@pytest.mark.parametrize("name", ["spy_daily.csv", "aapl_daily.csv", "btc_daily.csv"])
def test_shared_real_files(name):
    loaded = load_bars(shared_file(name))
    assert len(loaded) > 700 and loaded.index.is_monotonic_increasing


def _bad(tmp_path, bars, mutate) -> str:
    frame = bars.reset_index()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    frame = mutate(frame)
    return _write(tmp_path / "bad.csv", frame.to_csv(index=False))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.iloc[[0, 2, 1, *range(3, len(f))]], r"not sorted ascending at rows 3"),
        (lambda f: f.assign(timestamp=f["timestamp"].where(f.index != 5, f["timestamp"][4])), r"duplicated timestamps at rows 6"),
        (lambda f: f.assign(close=f["close"].where(f.index != 7, np.nan)), r"non-finite values \(NaN/inf\) at rows 8 .*close"),
        (lambda f: f.assign(low=f["low"].where(f.index != 9, -1.0)), r"prices must be > 0; rows 10"),
        (lambda f: f.assign(high=f["high"].where(f.index != 11, f["low"] / 2)), r"`high` below `low` at rows 12"),
        (lambda f: f.assign(close=f["close"].astype(str).where(f.index != 3, "abc")), r"column `close` has non-numeric values at rows 4"),
        (lambda f: f.assign(timestamp=f["timestamp"].where(f.index != 2, "yesterday")), r"not dates at rows 3"),
        (lambda f: f.drop(columns=["volume"]), r"lacks columns \['volume'\]"),
    ],
    ids=["unsorted", "duplicated", "nan", "non-positive", "high<low", "text", "bad-date", "missing-column"],
)
def test_bad_files_name_rule_and_rows(tmp_path, bars, mutate, message):
    with pytest.raises(DataValidationError, match=message):
        load_bars(_bad(tmp_path, bars, mutate))


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        load_bars(tmp_path / "nope.csv")
    (tmp_path / "bars.xlsx").write_text("x")
    with pytest.raises(DataValidationError, match=r"suffix `.xlsx`"):
        load_bars(tmp_path / "bars.xlsx")


def test_too_short_file_is_refused_by_the_datamodule(tmp_path, bars):
    from tradexp.data import BarsDataModule

    path = _bad(tmp_path, bars.iloc[:60], lambda f: f)
    dm = BarsDataModule(path=path, window=16)
    with pytest.raises(DataValidationError, match=r"too short: \d+ usable rows, at least \d+ needed"):
        dm.setup()
