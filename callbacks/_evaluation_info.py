"""The numbers behind `EvaluationPlots` (pure functions on numpy arrays; tests assert on these).

ROC, precision-recall, AUC, average precision, the confusion matrix and balanced accuracy are computed
here with numpy, point for point as `torchmetrics.functional` computes them (the library the
LightningModule logs `auroc`/`balanced_acc` with; the tests hold the two equal), so a plot and a
logged metric cannot disagree, and a report reading a run's predictions does not import torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class RocInfo(NamedTuple):
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float


class PrInfo(NamedTuple):
    recall: np.ndarray
    precision: np.ndarray
    average_precision: float
    base_rate: float


class ConfusionInfo(NamedTuple):
    matrix: np.ndarray  # (2, 2): rows actual (down, up), columns predicted
    threshold: float
    accuracy: float
    balanced_accuracy: float


class CalibrationInfo(NamedTuple):
    edges: np.ndarray  # (bins + 1,)
    mean_predicted: np.ndarray  # (bins,), NaN where a bin is empty
    fraction_positive: np.ndarray  # (bins,)
    counts: np.ndarray  # (bins,)
    ece: float  # expected calibration error


class ProbabilityHistInfo(NamedTuple):
    edges: np.ndarray
    counts: dict[int, np.ndarray]  # actual class -> (bins,)


class RegressionInfo(NamedTuple):
    target: np.ndarray  # at most `max_points` samples, evenly spaced
    pred: np.ndarray
    r2: float
    pearson: float
    mae: float
    rmse: float
    directional_accuracy: float
    residual_edges: np.ndarray
    residual_counts: np.ndarray
    residual_mean: float
    residual_std: float


def _curve_counts(target: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positives, true positives) predicting `up` at or above each distinct probability, highest first."""
    order = np.argsort(-np.asarray(probs, dtype="float64"), kind="stable")
    scores, hits = np.asarray(probs, dtype="float64")[order], np.asarray(target)[order] > 0.5
    last = np.append(np.flatnonzero(np.diff(scores)), len(scores) - 1)  # last row of each run of equal scores
    tps = np.cumsum(hits)[last]  # (thresholds,)
    return last + 1 - tps, tps


def _get_roc_info(target: np.ndarray, probs: np.ndarray) -> RocInfo:
    """ROC curve and its area (NaN when only one class is present)."""
    positives = float(np.sum(np.asarray(target) > 0.5))
    if positives == 0 or positives == len(target):
        return RocInfo(np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan"))
    fps, tps = _curve_counts(target, probs)
    fpr, tpr = np.append(0, fps) / fps[-1], np.append(0, tps) / tps[-1]  # from (0, 0) to (1, 1), one point per threshold
    return RocInfo(fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)))  # trapezoids


def _get_pr_info(target: np.ndarray, probs: np.ndarray) -> PrInfo:
    """Precision-recall curve (recall rising from 0, precision 1 there) and average precision."""
    positives = float(np.sum(np.asarray(target) > 0.5))
    base_rate = positives / len(target) if len(target) else float("nan")
    if positives == 0:
        return PrInfo(np.array([0.0, 1.0]), np.array([1.0, 0.0]), float("nan"), base_rate)
    fps, tps = _curve_counts(target, probs)
    recall, precision = np.append(0.0, tps / tps[-1]), np.append(1.0, tps / (tps + fps))
    return PrInfo(recall, precision, float(np.sum(np.diff(recall) * precision[1:])), base_rate)


def _get_confusion_info(target: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> ConfusionInfo:
    """Counts of actual x predicted class with `up` predicted when the probability > threshold."""
    actual, predicted = (np.asarray(target) > 0.5).astype(int), (np.asarray(probs) > threshold).astype(int)
    matrix = np.bincount(2 * actual + predicted, minlength=4).reshape(2, 2)  # (2, 2): rows actual, columns predicted
    recall = matrix[1, 1] / matrix[1].sum() if matrix[1].sum() else 0.0  # torchmetrics: 0 where undefined
    specificity = matrix[0, 0] / matrix[0].sum() if matrix[0].sum() else 0.0
    return ConfusionInfo(matrix, threshold, float(np.trace(matrix) / max(matrix.sum(), 1)), 0.5 * float(recall + specificity))


def _get_calibration_info(target: np.ndarray, probs: np.ndarray, bins: int = 10) -> CalibrationInfo:
    """Mean predicted probability and observed share of `up` per equal-width probability bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges[1:-1], probs, side="left"), 0, bins - 1)  # (lo, hi] like scikit-learn
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(index, weights=probs, minlength=bins) / counts
        fraction_positive = np.bincount(index, weights=target, minlength=bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(mean_predicted[filled] - fraction_positive[filled])) / max(counts.sum(), 1))
    return CalibrationInfo(edges, mean_predicted, fraction_positive, counts, ece)


def _get_probability_hist_info(target: np.ndarray, probs: np.ndarray, bins: int = 25) -> ProbabilityHistInfo:
    """Histogram of predicted probabilities, per actual class."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return ProbabilityHistInfo(edges, {c: np.histogram(probs[(target > 0.5) == bool(c)], bins=edges)[0] for c in (0, 1)})


def _get_regression_info(target: np.ndarray, pred: np.ndarray, max_points: int = 5000, bins: int = 40) -> RegressionInfo:
    """Fit statistics, residual histogram and a bounded sample of points for the scatter."""
    residual = target - pred
    total = np.sum((target - target.mean()) ** 2)
    r2 = float(1 - np.sum(residual**2) / total) if total > 0 else float("nan")
    pearson = float(np.corrcoef(target, pred)[0, 1]) if len(target) > 1 and target.std() > 0 and pred.std() > 0 else float("nan")
    keep = np.linspace(0, len(target) - 1, min(len(target), max_points)).round().astype(int)
    counts, edges = np.histogram(residual, bins=bins)
    return RegressionInfo(
        target=target[keep],
        pred=pred[keep],
        r2=r2,
        pearson=pearson,
        mae=float(np.mean(np.abs(residual))),
        rmse=float(np.sqrt(np.mean(residual**2))),
        directional_accuracy=float(np.mean(np.sign(target) == np.sign(pred))),
        residual_edges=edges,
        residual_counts=counts,
        residual_mean=float(residual.mean()),
        residual_std=float(residual.std()),
    )
