"""`tradexp fit` on a universe: a folder of files and a long file each leave one FINISHED run with
per-symbol and cross-sectional results, per-symbol lineage and the universe tags."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest

from tests.conftest import CONFIGS
from tradexp.api import fit
from tradexp.data.synthetic import SyntheticMarket
from tradexp.data.synthetic_universe import synthetic_universe

pytestmark = pytest.mark.slow


def _write(tmp_path):
    bars = synthetic_universe(SyntheticMarket(n_symbols=3, n_bars=500, seed=2, annual_vol=0.25))
    folder = tmp_path / "prices"
    folder.mkdir()
    for symbol, frame in bars.items():
        frame.reset_index().to_csv(folder / f"{symbol}.csv", index=False)
    long = pd.concat([f.reset_index().assign(symbol=s) for s, f in bars.items()])
    long.to_csv(tmp_path / "long.csv", index=False)
    return folder, tmp_path / "long.csv"


@pytest.mark.parametrize("shape", ["folder", "long"])
def test_a_universe_fit_records_per_symbol_and_cross_sectional_results(mlflow_uri, tmp_path, tiny, shape):
    folder, long = _write(tmp_path)
    tiny.update({"data.path": str(folder if shape == "folder" else long), "trainer.max_epochs": 1})
    result = fit(CONFIGS / "mlp.yaml", tiny)
    client = mlflow.MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and "tradexp.callback_errors" not in run.data.tags
    assert run.data.tags["tradexp.universe.size"] == "3"
    assert run.data.tags["tradexp.dataset"] == ("prices" if shape == "folder" else "long")
    assert run.data.tags["tradexp.universe.digest"] == run.data.tags["tradexp.dataset.digest"]
    metrics = run.data.metrics
    for key in ("test/xs/ic_mean", "test/xs/rank_ic_mean", "test/xs/icir", "test/xs/long_short/sharpe", "val/xs/rank_ic_mean"):
        assert key in metrics, key
    assert {f"test/by_symbol/SYN00{i}/acc" for i in range(3)} <= set(metrics)
    by_symbol = pd.read_csv(client.download_artifacts(result.run_id, "evaluation/by_symbol.csv", str(tmp_path)))
    assert by_symbol["symbol"].tolist() == ["SYN000", "SYN001", "SYN002"]
    assert (by_symbol["n"] > 20).all()
    with open(client.download_artifacts(result.run_id, "data/splits.json", str(tmp_path))) as handle:
        splits = json.load(handle)
    assert splits["symbols"] == ["SYN000", "SYN001", "SYN002"] and splits["absent_symbols"] == {}
    names = sorted(d.dataset.name for d in run.inputs.dataset_inputs)
    assert len(names) == 3 and all(n.endswith(("/SYN000", "/SYN001", "/SYN002")) for n in names)
    html = open(client.download_artifacts(result.run_id, "report/run_report.html", str(tmp_path)), encoding="utf-8").read()
    assert 'id="by-symbol"' in html and "Rank IC per date" in html and "test/xs/rank_ic_mean" in html
    assert all(symbol in html for symbol in ("SYN000", "SYN001", "SYN002"))


def test_only_the_planted_symbol_beats_chance(mlflow_uri, tmp_path, tiny):
    """Four random walks and one symbol with a planted one-bar signal, pooled in one fit."""
    from tradexp.data.synthetic import SyntheticMarket, synthetic_bars

    folder = tmp_path / "mixed"
    folder.mkdir()
    strengths = {"RW1": 0.0, "RW2": 0.0, "RW3": 0.0, "RW4": 0.0, "SIG": 0.6}
    for i, (symbol, rho) in enumerate(strengths.items()):
        synthetic_bars(SyntheticMarket(n_bars=3000, seed=100 + i, signal_strength=rho)).reset_index().to_csv(folder / f"{symbol}.csv", index=False)
    tiny.update({"data.path": str(folder), "data.features": ["log_return_1"], "trainer.max_epochs": 4, "data.batch_size": 128})
    result = fit(CONFIGS / "mlp.yaml", tiny)
    client = mlflow.MlflowClient(mlflow_uri)
    table = pd.read_csv(client.download_artifacts(result.run_id, "evaluation/by_symbol.csv", str(tmp_path))).set_index("symbol")
    assert table.loc["SIG", "acc"] > 0.6 and table.loc["SIG", "acc_pvalue"] < 1e-3
    for symbol in ("RW1", "RW2", "RW3", "RW4"):
        assert table.loc[symbol, "acc_pvalue"] > 0.001, (symbol, table.loc[symbol].to_dict())
