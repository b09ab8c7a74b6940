"""Walk-forward on a universe: folds cut on the one calendar, each fold FINISHED with cross-sectional
test metrics, the parent aggregating them and pooling every test date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import override_args
from tradexp.cli import main

pytestmark = pytest.mark.slow


def test_a_universe_walk_forward_leaves_folds_with_xs_metrics_and_a_parent_that_pools_them(mlflow_uri, tmp_path, capsys):
    overrides = {**TINY, "trainer.max_epochs": 1, "data.synthetic.n_symbols": 3, "data.synthetic.n_bars": 400}
    assert main(["walkforward", "--config", str(CONFIGS / "mlp.yaml"), "--folds", "2", *override_args(overrides)]) == 0
    assert "pooled out-of-sample rank IC" in capsys.readouterr().out
    client = MlflowClient(mlflow_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    (parent,) = [r for r in runs if r.data.tags["tradexp.type"] == "walk_forward"]
    folds = sorted((r for r in runs if r.data.tags["tradexp.type"] == "fold"), key=lambda r: int(r.data.tags["tradexp.fold"]))
    assert parent.info.status == "FINISHED" and [f.info.status for f in folds] == ["FINISHED", "FINISHED"]
    assert {f.data.tags["mlflow.parentRunId"] for f in folds} == {parent.info.run_id}
    assert {f.data.tags["tradexp.universe.size"] for f in folds} == {"3"}
    rank_ic = [f.data.metrics["test/xs/rank_ic_mean"] for f in folds]
    assert parent.data.metrics["test/xs/rank_ic_mean_mean"] == pytest.approx(np.mean(rank_ic))
    assert parent.data.metrics["test/xs/rank_ic_mean_std"] == pytest.approx(np.std(rank_ic, ddof=1))
    n_dates = [f.data.metrics["test/xs/n_dates"] for f in folds]
    assert parent.data.metrics["oos/xs/n_dates"] == sum(n_dates) and min(n_dates) > 20
    weighted = sum(r * n for r, n in zip(rank_ic, n_dates)) / sum(n_dates)  # the pooled mean is over every test date
    assert parent.data.metrics["oos/xs/rank_ic_mean"] == pytest.approx(weighted)
    assert "oos/xs/long_short/sharpe" in parent.data.metrics
    # the folds' test dates tile the later calendar without overlap, for every symbol at once
    dates = [pd.read_csv(client.download_artifacts(f.info.run_id, "evaluation/xs_by_date.csv", str(tmp_path / str(i))))["timestamp"]
             for i, f in enumerate(folds)]  # fmt: skip
    assert pd.Timestamp(dates[0].max()) < pd.Timestamp(dates[1].min())
