"""Bars in, leak-free windows out: loading, validation, features, labels, splits, scalers, windows."""

from tradexp.data.datamodule import BarsDataModule, SplitData
from tradexp.data.features import DEFAULT_FEATURES, compute_features, feature_warmup, parse_feature
from tradexp.data.labels import forward_log_returns, make_labels
from tradexp.data.loading import bars_digest, load_bars
from tradexp.data.scalers import Scaler, fit_scaler
from tradexp.data.splits import SplitPositions, SplitSettings, chronological_split, embargo_bars
from tradexp.data.synthetic import SyntheticMarket, best_direction_accuracy, synthetic_bars
from tradexp.data.validation import validate_bars
from tradexp.data.windows import BatchIndexSampler, WindowDataset

__all__ = [
    "BarsDataModule",
    "BatchIndexSampler",
    "DEFAULT_FEATURES",
    "Scaler",
    "SplitData",
    "SplitPositions",
    "SplitSettings",
    "SyntheticMarket",
    "WindowDataset",
    "bars_digest",
    "best_direction_accuracy",
    "chronological_split",
    "compute_features",
    "embargo_bars",
    "feature_warmup",
    "fit_scaler",
    "forward_log_returns",
    "load_bars",
    "make_labels",
    "parse_feature",
    "synthetic_bars",
    "validate_bars",
]
