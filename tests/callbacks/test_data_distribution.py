"""DataDistribution: drift numbers, the describe() protocol, bounded metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightning.pytorch.loggers import CSVLogger

from callbacks import DataDistribution
from callbacks._distribution_info import _get_correlation_info, _get_drift_info, _get_histogram_info, _get_label_info, infer_task, population_stability_index
from tests.callbacks.conftest import tiny_fit
from tests.callbacks.tiny import TinyWindows


def test_psi_and_ks_see_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(5000, 2))
    same, shifted = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)) + [0.0, 1.0]
    rows = {(r.split, r.feature): r for r in _get_drift_info({"train": train, "val": same, "test": shifted}, ["a", "b"])}
    assert len(rows) == 4
    assert rows["val", "a"].psi < 0.02 and rows["val", "b"].psi < 0.02 and rows["test", "a"].psi < 0.02
    assert rows["test", "b"].psi > 0.5  # a one-sd shift is a large PSI
    assert rows["test", "b"].ks_stat == pytest.approx(0.38, abs=0.04)  # 2 * Phi(0.5) - 1
    assert rows["test", "b"].ks_pvalue < 1e-10 < rows["val", "a"].ks_pvalue
    assert rows["test", "b"].mean_split == pytest.approx(1.0, abs=0.1)


def test_psi_of_identical_samples_is_zero_and_constant_features_do_not_break():
    x = np.arange(100.0)
    assert population_stability_index(x, x) == pytest.approx(0.0)
    assert population_stability_index(np.ones(50), np.ones(20)) == pytest.approx(0.0)


def test_labels_histograms_and_correlation():
    assert infer_task(np.array([0.0, 1.0, 1.0])) == "classification" and infer_task(np.array([0.1, -0.2])) == "regression"
    balance = _get_label_info(np.array([0.0, 1.0, 1.0, 1.0]), "classification")
    assert balance["counts"] == {"0": 1, "1": 3} and balance["shares"]["1"] == 0.75
    x = np.column_stack([np.arange(10.0), 2 * np.arange(10.0), -np.arange(10.0)])
    assert np.allclose(_get_correlation_info(x, ["a", "b", "c"]).matrix, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]])
    hist = _get_histogram_info({"train": x, "val": x + 1}, ["a", "b", "c"], bins=5)
    assert len(hist.edges[0]) == 6 and set(hist.densities) == {"train", "val"}
    width = np.diff(hist.edges[0])
    assert np.sum(hist.densities["train"][0] * width) == pytest.approx(1.0)


class DescribedWindows(TinyWindows):
    """TinyWindows offering the describe() protocol with names and a scaler."""

    def describe(self) -> dict:
        last = self.x[:, -1, :].numpy()  # (N, 6, 4) -> (N, 4)
        cut1, cut2 = self.cuts
        splits = {"train": slice(0, cut1), "val": slice(cut1, cut2), "test": slice(cut2, None)}
        return {
            "feature_names": ["mom", "val", "carry", "vol"],
            "task": "classification",
            "scaler": {"kind": "standard", "mean": [0.0] * 4, "scale": [1.0] * 4},
            "splits": {name: {"features": last[part], "targets": self.y[part].numpy()} for name, part in splits.items()},
        }


def test_describe_protocol_is_used_and_metrics_are_bounded(plain_cwd: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("tests.callbacks.conftest.TinyWindows", DescribedWindows)
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [DataDistribution(max_metric_features=1, strict=True)], epochs=1, test=False)
    folder = Path(trainer.log_dir)
    description = json.loads((folder / "data/distribution.json").read_text())
    assert description["source"] == "describe()"
    assert description["feature_names"] == ["mom", "val", "carry", "vol"]
    assert description["scaler"]["kind"] == "standard"
    assert description["labels"]["train"]["counts"] == {"0": 115, "1": 115}
    assert set(description["summary"]["test"]["mom"]) >= {"mean", "std", "p01", "median", "p99", "nan"}
    drift = pd.read_csv(folder / "data/drift.csv")
    assert len(drift) == 8 and set(drift["feature"]) == {"mom", "val", "carry", "vol"}
    metrics = [c for c in pd.read_csv(folder / "metrics.csv").columns if c.startswith("data/drift/")]
    worst = drift.groupby("feature")["psi"].max().idxmax()
    assert sorted(metrics) == sorted(
        [f"data/drift/{s}/{k}_max" for s in ("val", "test") for k in ("psi", "ks")] + [f"data/drift/{s}/{k}/{worst}" for s in ("val", "test") for k in ("psi", "ks")]
    )


@pytest.mark.parametrize(("kwargs", "message"), [({"max_batches": 0}, r"`max_batches` must be an int >= 1, got 0"), ({"bins": 2}, r"`bins` must be an int >= 5, got 2")])
def test_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataDistribution(**kwargs)
