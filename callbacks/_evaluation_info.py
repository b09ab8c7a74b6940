"""The numbers behind `EvaluationPlots` (pure functions on numpy arrays; tests assert on these)."""

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


def _ranked_counts(target: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, highest score first."""
    order = np.argsort(-probs, kind="mergesort")
    scores, actual = probs[order], target[order]
    last_of_ties = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(actual)[last_of_ties]
    fps = last_of_ties + 1 - tps
    return tps.astype(float), fps.astype(float)


def _get_roc_info(target: np.ndarray, probs: np.ndarray) -> RocInfo:
    """ROC curve and its area (NaN when only one class is present)."""
    positives, negatives = float(target.sum()), float(len(target) - target.sum())
    if positives == 0 or negatives == 0:
        return RocInfo(np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan"))
    tps, fps = _ranked_counts(target, probs)
    tpr, fpr = np.r_[0.0, tps / positives], np.r_[0.0, fps / negatives]
    return RocInfo(fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)))  # trapezoid rule


def _get_pr_info(target: np.ndarray, probs: np.ndarray) -> PrInfo:
    """Precision-recall curve and average precision (sum over thresholds of recall step x precision)."""
    positives = float(target.sum())
    base_rate = positives / len(target) if len(target) else float("nan")
    if positives == 0:
        return PrInfo(np.array([0.0, 1.0]), np.array([1.0, 0.0]), float("nan"), base_rate)
    tps, fps = _ranked_counts(target, probs)
    precision, recall = tps / (tps + fps), tps / positives
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return PrInfo(np.r_[0.0, recall], np.r_[1.0, precision], average_precision, base_rate)


def _get_confusion_info(target: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> ConfusionInfo:
    """Counts of actual x predicted class with `up` predicted when the probability > threshold."""
    predicted, actual = probs > threshold, target > 0.5
    matrix = np.array([[np.sum(~actual & ~predicted), np.sum(~actual & predicted)], [np.sum(actual & ~predicted), np.sum(actual & predicted)]])
    rates = [matrix[i, i] / matrix[i].sum() if matrix[i].sum() else np.nan for i in range(2)]
    return ConfusionInfo(matrix, threshold, float(np.trace(matrix) / max(matrix.sum(), 1)), float(np.nanmean(rates)))


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
