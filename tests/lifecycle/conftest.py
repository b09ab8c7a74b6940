"""One tiny fitted run (MLP, 2 epochs, 1500 synthetic bars) shared by every lifecycle test.

Each test gets its own copy of the run's sqlite store (artifact paths are absolute, so a copy of the
database file is a full, isolated store) with `MLFLOW_TRACKING_URI` set and cwd in `tmp_path`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from tests.conftest import CONFIGS, TINY, store_copy

N_BARS = 1500


class FittedRun(NamedTuple):
    root: Path
    db: Path
    run_id: str
    bars: pd.DataFrame  # the training bars as the loader returns them
    bars_csv: Path  # the same bars as a file in a different shape (Date/Open/... columns)


@pytest.fixture(scope="session")
def fitted_run(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> FittedRun:
    from tradexp.api import fit

    root = tmp_path_factory.mktemp("lifecycle-run")
    with store_copy(_migrated_store, root):
        result = fit(CONFIGS / "mlp.yaml", {**TINY, "data.synthetic.n_bars": N_BARS, "model.net.init_args.hidden_sizes": [32]})
    bars = result.built.datamodule.bars
    shaped = bars.reset_index().rename(columns={"timestamp": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"})
    bars_csv = root / "bars.csv"
    shaped.to_csv(bars_csv, index=False)
    return FittedRun(root, root / "mlflow.db", result.run_id, bars, bars_csv)


@pytest.fixture
def store(fitted_run: FittedRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the fitted run's store, as MLFLOW_TRACKING_URI; cwd is `tmp_path`."""
    return _private_store(fitted_run.db, tmp_path, monkeypatch)


class FittedUniverse(NamedTuple):
    root: Path
    db: Path
    run_id: str
    bars: pd.DataFrame  # every symbol's training bars, one long frame with a `symbol` column


@pytest.fixture(scope="session")
def fitted_universe(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> FittedUniverse:
    """A tiny synthetic universe (3 symbols, per-symbol scalers, a symbol embedding of 2) fitted once."""
    from tradexp.api import fit
    from tradexp.data.synthetic_universe import synthetic_universe

    root = tmp_path_factory.mktemp("lifecycle-universe")
    db = root / "mlflow.db"
    shutil.copyfile(_migrated_store, db)
    overrides = {**TINY, "data.synthetic.n_symbols": 3, "model.symbol_embedding": 2, "model.net.init_args.hidden_sizes": [32]}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
        result = fit(CONFIGS / "mlp.yaml", overrides)
    bars = synthetic_universe(result.built.datamodule.synthetic)
    long = pd.concat([frame.assign(symbol=symbol) for symbol, frame in bars.items()]).reset_index()
    return FittedUniverse(root, db, result.run_id, long)


@pytest.fixture
def universe_store(fitted_universe: FittedUniverse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the fitted universe's store, as MLFLOW_TRACKING_URI; cwd is `tmp_path`."""
    return _private_store(fitted_universe.db, tmp_path, monkeypatch)


def _private_store(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db = tmp_path / "mlflow.db"
    shutil.copyfile(source, db)
    uri = f"sqlite:///{db}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
