"""Loading a universe: a folder, a glob or a long file; per-symbol validation, subsets, short and mixed symbols."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_file
from tradexp.data.synthetic import SyntheticMarket, synthetic_bars
from tradexp.data.universe import is_universe_path, load_universe
from tradexp.errors import DataValidationError


def _bars(seed: int, n: int = 300, freq: str = "B") -> pd.DataFrame:
    frame = synthetic_bars(SyntheticMarket(n_bars=max(n, 100), seed=seed)).iloc[:n]
    frame.index = pd.date_range("2020-01-01", periods=n, freq=freq, name="timestamp")
    return frame


def _write_folder(folder, symbols=("AAA", "BBB", "CCC"), n=300):
    folder.mkdir(exist_ok=True)
    for i, symbol in enumerate(symbols):
        _bars(i, n).reset_index().rename(columns={"timestamp": "Date"}).to_csv(folder / f"{symbol}.csv", index=False)
    return folder


def test_a_folder_a_glob_and_a_long_file_give_the_same_universe(tmp_path):
    folder = _write_folder(tmp_path / "prices")
    long = pd.concat([pd.read_csv(folder / f"{s}.csv").assign(ticker=s) for s in ("CCC", "AAA", "BBB")], ignore_index=True)
    long.to_csv(tmp_path / "long.csv", index=False)
    from_folder = load_universe(folder)
    from_glob = load_universe(str(folder / "*.csv"))
    from_long = load_universe(tmp_path / "long.csv")
    assert from_folder.symbols == from_glob.symbols == from_long.symbols == ["AAA", "BBB", "CCC"]
    assert from_folder.name == "prices" and from_long.name == "long"
    assert from_folder.digest == from_glob.digest == from_long.digest
    for symbol in from_folder.symbols:
        pd.testing.assert_frame_equal(from_folder.bars[symbol], from_long.bars[symbol])
    assert is_universe_path(folder) and is_universe_path(tmp_path / "long.csv")
    assert not is_universe_path(folder / "AAA.csv")


def test_symbols_picks_a_subset_and_names_an_absent_one(tmp_path):
    folder = _write_folder(tmp_path / "prices")
    assert load_universe(folder, symbols=["CCC", "AAA"]).symbols == ["AAA", "CCC"]
    with pytest.raises(DataValidationError, match=r"`data.symbols` names \['ZZZ'\]"):
        load_universe(folder, symbols=["AAA", "ZZZ"])


def test_validation_names_the_symbol_and_rows(tmp_path):
    folder = _write_folder(tmp_path / "prices")
    frame = pd.read_csv(folder / "BBB.csv")
    frame.loc[9, "close"] = -1.0
    frame.to_csv(folder / "BBB.csv", index=False)
    with pytest.raises(DataValidationError, match=r"symbol BBB: .*prices must be > 0; rows 10 "):
        load_universe(folder)
    long = frame.assign(symbol="BBB")
    long.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(DataValidationError, match=r"symbol BBB in long.csv: prices must be > 0; rows 10 "):
        load_universe(tmp_path / "long.csv")


def test_short_symbols_are_dropped_with_one_warning_or_refused(tmp_path, caplog):
    folder = _write_folder(tmp_path / "prices")
    _bars(9, 120).reset_index().to_csv(folder / "TINY.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="tradexp.data.universe"):
        universe = load_universe(folder, min_bars=200)
    assert universe.symbols == ["AAA", "BBB", "CCC"] and universe.dropped == {"TINY": 120}
    assert [r.getMessage() for r in caplog.records] == ["dropped 1 symbol(s) shorter than data.min_bars=200: TINY (120 bars)"]
    with pytest.raises(DataValidationError, match=r"shorter than `data.min_bars` 200: TINY \(120 bars\)"):
        load_universe(folder, min_bars=200, drop_short_symbols=False)


def test_mixed_bar_frequencies_are_refused_naming_them(tmp_path):
    folder = _write_folder(tmp_path / "prices")
    _bars(5, 300, freq="h").reset_index().to_csv(folder / "HOURLY.csv", index=False)
    with pytest.raises(DataValidationError, match=r"most symbols have 1d bars, but HOURLY \(1h\)"):
        load_universe(folder)


def test_an_empty_folder_says_what_it_expects(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataValidationError, match="holds no bar files"):
        load_universe(tmp_path / "empty")


def test_the_shared_daily_files_form_a_three_symbol_universe(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    for name, symbol in (("spy_daily.csv", "SPY"), ("aapl_daily.csv", "AAPL"), ("btc_daily.csv", "BTC")):
        (folder / f"{symbol}.csv").symlink_to(shared_file(name))
    universe = load_universe(folder)
    assert universe.symbols == ["AAPL", "BTC", "SPY"]
    weekend = {s: bool((f.index.dayofweek >= 5).any()) for s, f in universe.bars.items()}
    assert weekend == {"AAPL": False, "BTC": True, "SPY": False}  # calendars differ
    assert all(np.isfinite(f.to_numpy()).all() for f in universe.bars.values())
