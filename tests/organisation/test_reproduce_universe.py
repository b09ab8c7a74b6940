"""`tradexp reproduce` of a universe run: the same config and universe digest, the same test metrics."""

from __future__ import annotations

import re

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS
from tradexp.api import fit
from tradexp.cli import main
from tradexp.data.synthetic import SyntheticMarket
from tradexp.data.synthetic_universe import synthetic_universe

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("shape", ["folder", "synthetic"])
def test_reproducing_a_universe_run_reads_the_same_universe_and_matches_its_metrics(mlflow_uri, tmp_path, tiny, capsys, shape):
    if shape == "folder":
        folder = tmp_path / "prices"
        folder.mkdir()
        for symbol, frame in synthetic_universe(SyntheticMarket(n_symbols=3, n_bars=400, seed=5)).items():
            frame.reset_index().to_csv(folder / f"{symbol}.csv", index=False)
        tiny["data.path"] = str(folder)
    else:
        tiny.update({"data.synthetic.n_symbols": 3, "data.synthetic.n_bars": 400})
    tiny.update({"trainer.max_epochs": 1, "seed_everything": 7})
    original = fit(CONFIGS / "mlp.yaml", tiny).run_id
    capsys.readouterr()
    assert main(["reproduce", original]) == 0
    out = capsys.readouterr().out
    assert "difference(s) from the original run" not in out, out
    new_id = re.search(r"Reproduction run: ([0-9a-f]{32})", out).group(1)
    client = MlflowClient(mlflow_uri)
    old, new = client.get_run(original), client.get_run(new_id)
    assert new.info.status == "FINISHED" and new.data.tags["tradexp.type"] == "reproduction"
    for tag in ("tradexp.dataset.digest", "tradexp.universe.digest", "tradexp.universe.size", "tradexp.dataset.source"):
        assert new.data.tags[tag] == old.data.tags[tag], tag
    assert {k: v for k, v in new.data.params.items() if not k.startswith("tracking.")} == {k: v for k, v in old.data.params.items() if not k.startswith("tracking.")}
    tested = {k: v for k, v in old.data.metrics.items() if k.startswith("test/xs/") or k.startswith("test/by_symbol/")}
    assert "test/xs/rank_ic_mean" in tested and "test/by_symbol/SYN000/acc" in tested
    assert {k: new.data.metrics[k] for k in tested} == pytest.approx(tested, abs=1e-9)
