"""EvaluationPlots: the curve numbers against torchmetrics, regression stats, the validation fallback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_average_precision,
    binary_calibration_error,
    binary_confusion_matrix,
    binary_precision_recall_curve,
    binary_recall,
    binary_roc,
    binary_specificity,
)

from callbacks import EvaluationPlots
from callbacks._evaluation_info import _get_calibration_info, _get_confusion_info, _get_pr_info, _get_probability_hist_info, _get_regression_info, _get_roc_info
from tests.callbacks.conftest import local_files, tiny_fit


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    target = (rng.random(400) < 0.4).astype(float)
    probs = np.clip(0.3 * target + 0.7 * rng.random(400), 0, 1).round(2)  # rounded: many ties
    return target, probs


def test_roc_pr_and_calibration_match_torchmetrics(scored):
    target, probs = scored
    t, p = torch.tensor(target).long(), torch.tensor(probs)
    assert _get_roc_info(target, probs).auc == pytest.approx(binary_auroc(p, t).item(), abs=1e-6)
    assert _get_pr_info(target, probs).average_precision == pytest.approx(binary_average_precision(p, t).item(), abs=1e-6)
    jittered = np.clip(probs + 0.001 * np.sin(np.arange(400)), 0, 1)  # off the bin edges, where float rounding decides
    assert _get_calibration_info(target, jittered, bins=10).ece == pytest.approx(binary_calibration_error(torch.tensor(jittered), t, n_bins=10).item(), abs=1e-5)
    roc = _get_roc_info(target, probs)
    assert roc.fpr[0] == roc.tpr[0] == 0 and roc.fpr[-1] == roc.tpr[-1] == 1


@pytest.mark.parametrize("ties", [True, False], ids=["tied scores", "distinct scores"])
def test_numpy_curves_and_confusion_are_torchmetrics_point_for_point(scored, ties):
    target, probs = scored
    probs = probs if ties else np.clip(probs + 1e-4 * np.arange(400) / 400, 0, 1)
    t, p = torch.tensor(target).long(), torch.tensor(probs)
    fpr, tpr, _ = binary_roc(p, t)
    roc = _get_roc_info(target, probs)
    np.testing.assert_allclose(roc.fpr, fpr.numpy(), atol=1e-12)
    np.testing.assert_allclose(roc.tpr, tpr.numpy(), atol=1e-12)
    precision, recall, _ = binary_precision_recall_curve(p, t)
    pr = _get_pr_info(target, probs)
    np.testing.assert_allclose(pr.recall, recall.numpy()[::-1], atol=1e-12)
    np.testing.assert_allclose(pr.precision, precision.numpy()[::-1], atol=1e-12)
    for threshold in (0.3, 0.5, 0.99):
        confusion = _get_confusion_info(target, probs, threshold=threshold)
        np.testing.assert_array_equal(confusion.matrix, binary_confusion_matrix(p, t, threshold=threshold).numpy())
        balanced = 0.5 * (binary_recall(p, t, threshold=threshold) + binary_specificity(p, t, threshold=threshold)).item()
        assert confusion.balanced_accuracy == pytest.approx(balanced, abs=1e-6)


def test_confusion_and_probability_histogram(scored):
    target, probs = scored
    confusion = _get_confusion_info(target, probs, threshold=0.5)
    predicted = probs > 0.5
    assert confusion.matrix[1, 1] == np.sum(predicted & (target == 1)) and confusion.matrix.sum() == 400
    assert confusion.accuracy == pytest.approx(np.mean(predicted == (target == 1)))
    hist = _get_probability_hist_info(target, probs)
    assert hist.counts[0].sum() + hist.counts[1].sum() == 400 and hist.counts[1].sum() == target.sum()


def test_one_class_only_gives_nan_auc_not_an_error():
    assert np.isnan(_get_roc_info(np.ones(5), np.linspace(0, 1, 5)).auc)


def test_regression_stats():
    target = np.linspace(-1, 1, 101)
    perfect = _get_regression_info(target, target)
    assert perfect.r2 == pytest.approx(1.0) and perfect.rmse == 0 and perfect.directional_accuracy == 1.0
    biased = _get_regression_info(target, target + 0.5, max_points=10)
    assert biased.residual_mean == pytest.approx(-0.5) and biased.mae == pytest.approx(0.5) and len(biased.target) == 10


def test_without_a_test_run_the_last_validation_epoch_is_plotted(plain_cwd: Path):
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [EvaluationPlots(strict=True)], test=False)
    folder = Path(trainer.log_dir)
    summary = json.loads((folder / "predictions/val_summary.json").read_text())
    assert summary["split"] == "val" and summary["n"] == 77 and summary["source"] == "step outputs"
    assert {"plots/roc.png", "plots/calibration.png", "predictions/val_predictions.csv"} <= local_files(folder)
    assert "predictions/test_predictions.csv" not in local_files(folder)


def test_validation_fallback_can_be_switched_off(plain_cwd: Path):
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [EvaluationPlots(validation_fallback=False, strict=True)], epochs=1, test=False)
    assert not any(name.startswith(("plots/", "predictions/")) for name in local_files(Path(trainer.log_dir)))


def test_a_runner_that_announces_a_test_gets_no_validation_plots(plain_cwd: Path):
    announced = EvaluationPlots(strict=True)
    announced.test_follows_fit = lambda: True  # what tradexp.training.announce_test sets
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [announced], epochs=1, test=False)
    assert not any(name.startswith(("plots/", "predictions/")) for name in local_files(Path(trainer.log_dir)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking"}, r"`task` must be one of \['auto', 'classification', 'regression'\], got 'ranking'"),
        ({"threshold": 1.0}, r"`threshold` must be in \(0, 1\), got 1.0"),
        ({"calibration_bins": 1}, r"`calibration_bins` must be an int >= 2, got 1"),
    ],
)
def test_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvaluationPlots(**kwargs)
