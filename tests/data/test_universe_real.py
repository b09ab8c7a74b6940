"""A real 3-symbol universe from ../shared/data (SPY, AAPL, BTC symlinked into one folder): a tiny fit
finishes with per-symbol and cross-sectional results, BTC's weekend calendar differs from the two
equities', and the one-calendar split dates hold for every symbol (skipped when the files are absent)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.conftest import CONFIGS, shared_file
from tradexp.api import fit

pytestmark = pytest.mark.slow

SPLIT_DATES = {"data.train_start": "2023-01-01", "data.val_start": "2025-06-01", "data.test_start": "2026-01-01"}  # BTC starts 2024-10


def test_spy_aapl_btc_fit_as_one_universe_and_every_symbol_keeps_the_split_dates(mlflow_uri, tmp_path, tiny):
    folder = tmp_path / "prices"
    folder.mkdir()
    for symbol in ("SPY", "AAPL", "BTC"):
        (folder / f"{symbol}.csv").symlink_to(shared_file(f"{symbol.lower()}_daily.csv"))
    tiny.update({"data.path": str(folder), "trainer.max_epochs": 1, **SPLIT_DATES})
    result = fit(CONFIGS / "mlp.yaml", tiny)
    client = mlflow.MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and "tradexp.callback_errors" not in run.data.tags
    assert run.data.tags["tradexp.universe.size"] == "3"
    assert {"test/xs/rank_ic_mean", "test/xs/long_short/sharpe", "val/xs/rank_ic_mean"} <= set(run.data.metrics)
    assert {f"test/by_symbol/{s}/acc" for s in ("AAPL", "BTC", "SPY")} <= set(run.data.metrics)
    by_symbol = pd.read_csv(client.download_artifacts(result.run_id, "evaluation/by_symbol.csv", str(tmp_path)))
    assert by_symbol["symbol"].tolist() == ["AAPL", "BTC", "SPY"] and (by_symbol["n"] > 100).all()
    with open(client.download_artifacts(result.run_id, "data/splits.json", str(tmp_path))) as handle:
        splits = json.load(handle)
    assert splits["symbols"] == ["AAPL", "BTC", "SPY"] and splits["absent_symbols"] == {}
    assert splits["split_dates"] == {"val_start": "2025-06-01T00:00:00", "test_start": "2026-01-01T00:00:00"}

    universe = result.built.datamodule.universe
    times, ids, window, horizon = universe.timestamps, universe.symbol_ids, universe.splits.window, universe.splits.horizon
    weekend = {s: bool((times[ids == i].dayofweek >= 5).any()) for i, s in enumerate(universe.symbols)}
    assert weekend == {"AAPL": False, "BTC": True, "SPY": False}  # the calendars differ: BTC trades weekends
    split = {name: getattr(universe.splits, name) for name in ("train", "val", "test")}
    assert max(times[split["train"]]) < pd.Timestamp("2025-06-01") <= min(times[split["val"]])  # every symbol at once
    assert max(times[split["val"]]) < pd.Timestamp("2026-01-01") <= min(times[split["test"]])
    for i, symbol in enumerate(universe.symbols):
        own = {name: np.sort(p[ids[p] == i]) for name, p in split.items()}
        assert all(len(p) > 50 for p in own.values()), symbol
        for earlier, later in (("train", "val"), ("val", "test")):  # the embargo holds within each symbol
            assert own[earlier][-1] + horizon < own[later][0] - window + 1, (symbol, earlier, later)
