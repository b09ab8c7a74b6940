"""The numbers behind `DataDistribution`'s files and plots (pure functions; tests assert on these)."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
from scipy import stats

PSI_EPSILON = 1e-4  # floor of a bin's share, so an empty bin does not make PSI infinite


class HistogramInfo(NamedTuple):
    features: list[str]
    edges: list[np.ndarray]  # per feature, (bins + 1,)
    densities: dict[str, list[np.ndarray]]  # split -> per feature, (bins,)


class CorrelationInfo(NamedTuple):
    features: list[str]
    matrix: np.ndarray  # (F, F) Pearson correlation on the train split


class DriftRow(NamedTuple):
    feature: str
    split: str
    psi: float
    ks_stat: float
    ks_pvalue: float
    mean_train: float
    mean_split: float
    std_train: float
    std_split: float


def infer_task(targets: Optional[np.ndarray]) -> Optional[str]:
    """`classification` for integer-valued targets with at most 20 values, else `regression`."""
    if targets is None or targets.size == 0:
        return None
    finite = targets[np.isfinite(targets)]
    if finite.size and np.all(finite == np.round(finite)) and np.unique(finite).size <= 20:
        return "classification"
    return "regression"


def _get_summary_info(features: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per feature: count, NaNs, mean, std, min, quantiles, max of a (S, F) array."""
    summary = {}
    for j, name in enumerate(names):
        column = features[:, j]
        finite = column[np.isfinite(column)]
        if finite.size == 0:
            summary[name] = {"count": int(column.size), "nan": int(column.size)}
            continue
        q01, q25, q50, q75, q99 = np.quantile(finite, [0.01, 0.25, 0.5, 0.75, 0.99])
        summary[name] = {
            "count": int(column.size),
            "nan": int(column.size - finite.size),
            "mean": float(finite.mean()),
            "std": float(finite.std()),
            "min": float(finite.min()),
            "p01": float(q01),
            "p25": float(q25),
            "median": float(q50),
            "p75": float(q75),
            "p99": float(q99),
            "max": float(finite.max()),
        }
    return summary


def _get_label_info(targets: Optional[np.ndarray], task: Optional[str]) -> dict:
    """Class counts and shares (classification) or the target's distribution (regression)."""
    if targets is None or targets.size == 0:
        return {"available": False}
    if task == "classification":
        values, counts = np.unique(targets[np.isfinite(targets)], return_counts=True)
        total = int(counts.sum())
        return {"available": True, "counts": {str(int(v)): int(c) for v, c in zip(values, counts)}, "shares": {str(int(v)): float(c / total) for v, c in zip(values, counts)}}
    finite = targets[np.isfinite(targets)]
    return {
        "available": True,
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "share_positive": float((finite > 0).mean()),
        "quantiles": {f"p{int(q * 100):02d}": float(v) for q, v in zip((0.01, 0.25, 0.5, 0.75, 0.99), np.quantile(finite, [0.01, 0.25, 0.5, 0.75, 0.99]))},
    }


def _get_histogram_info(splits: dict[str, np.ndarray], names: Sequence[str], bins: int = 30) -> HistogramInfo:
    """Shared bin edges per feature (0.5%-99.5% of all splits pooled) and each split's density."""
    edges, densities = [], {split: [] for split in splits}
    for j, _ in enumerate(names):
        pooled = np.concatenate([x[:, j] for x in splits.values()])
        pooled = pooled[np.isfinite(pooled)]
        low, high = np.quantile(pooled, [0.005, 0.995]) if pooled.size else (0.0, 1.0)
        if high <= low:
            low, high = low - 0.5, high + 0.5
        feature_edges = np.linspace(low, high, bins + 1)
        edges.append(feature_edges)
        for split, x in splits.items():
            column = np.clip(x[:, j], low, high)
            density, _ = np.histogram(column[np.isfinite(column)], bins=feature_edges, density=True)
            densities[split].append(np.nan_to_num(density))
    return HistogramInfo(list(names), edges, densities)


def _get_correlation_info(features: np.ndarray, names: Sequence[str]) -> CorrelationInfo:
    """Pearson correlation between features (rows with a NaN left out; constant features give 0)."""
    rows = features[np.all(np.isfinite(features), axis=1)]
    if len(rows) < 2:
        return CorrelationInfo(list(names), np.full((len(names), len(names)), np.nan))
    std = rows.std(axis=0)
    centred = (rows - rows.mean(axis=0)) / np.where(std > 0, std, 1.0)
    matrix = centred.T @ centred / len(rows)  # (F, F)
    np.fill_diagonal(matrix, 1.0)
    return CorrelationInfo(list(names), np.clip(matrix, -1.0, 1.0))


def population_stability_index(reference: np.ndarray, compared: np.ndarray, bins: int = 10) -> float:
    """PSI of `compared` against `reference`, on the reference's quantile bins.

    Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
    """
    reference, compared = reference[np.isfinite(reference)], compared[np.isfinite(compared)]
    if reference.size == 0 or compared.size == 0:
        return float("nan")
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(inner, reference, side="right"), minlength=len(inner) + 1) / reference.size
    cmp_share = np.bincount(np.searchsorted(inner, compared, side="right"), minlength=len(inner) + 1) / compared.size
    ref_share, cmp_share = np.maximum(ref_share, PSI_EPSILON), np.maximum(cmp_share, PSI_EPSILON)
    return float(np.sum((cmp_share - ref_share) * np.log(cmp_share / ref_share)))


def _get_drift_info(splits: dict[str, np.ndarray], names: Sequence[str], reference: str = "train", bins: int = 10) -> list[DriftRow]:
    """PSI and the two-sample Kolmogorov-Smirnov test of every feature, each split against `reference`."""
    rows = []
    ref = splits[reference]
    for split, x in splits.items():
        if split == reference:
            continue
        for j, name in enumerate(names):
            a, b = ref[:, j][np.isfinite(ref[:, j])], x[:, j][np.isfinite(x[:, j])]
            if a.size and b.size:
                ks = stats.ks_2samp(a, b)
                ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)
            else:
                ks_stat = ks_p = float("nan")
            rows.append(
                DriftRow(
                    feature=name,
                    split=split,
                    psi=population_stability_index(a, b, bins),
                    ks_stat=ks_stat,
                    ks_pvalue=ks_p,
                    mean_train=float(a.mean()) if a.size else float("nan"),
                    mean_split=float(b.mean()) if b.size else float("nan"),
                    std_train=float(a.std()) if a.size else float("nan"),
                    std_split=float(b.std()) if b.size else float("nan"),
                )
            )
    return rows
