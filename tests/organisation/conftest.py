"""Real runs shared by the organisation tests: two tiny fits and one failed run in one sqlite store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY, store_copy
from tradexp.api import FitResult, fit
from tradexp.data import SyntheticMarket, synthetic_bars

FAST = {**TINY, "trainer.callbacks": []}  # no reporting callbacks: ~2 s per fit


@dataclass
class Store:
    uri: str
    root: Path
    csv: Path
    mlp_csv: FitResult  # mlp on bars.csv, tag team=alpha, purpose csv, dataset version v1
    gru: FitResult  # gru on the synthetic market, stage staging, lr 0.003
    failed_id: str

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.uri)


@pytest.fixture(scope="package")
def store(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> Store:
    root = tmp_path_factory.mktemp("organisation")
    with store_copy(_migrated_store, root) as uri:
        csv = root / "bars.csv"
        synthetic_bars(SyntheticMarket(n_bars=600)).to_csv(csv)
        mlp_csv = fit(CONFIGS / "mlp.yaml", {**FAST, "data.path": "bars.csv", "tracking.tags": {"team": "alpha"}, "tracking.purpose": "csv", "tracking.dataset_version": "v1"})
        gru = fit(CONFIGS / "gru.yaml", {**FAST, "model.lr": 0.003, "tracking.stage": "staging", "model.net.init_args.hidden_size": 8})
        client = MlflowClient(uri)
        experiment = client.get_run(mlp_csv.run_id).info.experiment_id
        failed = client.create_run(experiment, tags={"tradexp.model": "lstm", "tradexp.type": "training", "tradexp.stage": "development", "tradexp.dataset": "synthetic"})
        client.set_terminated(failed.info.run_id, "FAILED")
        yield Store(uri, root, csv, mlp_csv, gru, failed.info.run_id)
