"""`BarPipeline`: what a logged model needs to turn raw bars into signals, as plain JSON-able values.

The pipeline reuses the training code path piece by piece, so a logged model cannot drift from
the run that produced it: the loader's column and time rules (`bars_from_frame`), the causal
features (`compute_features`, `feature_warmup`), the train-only scaler (`Scaler`), the windows
(`WindowDataset`) and the trading rule (`positions_from_predictions`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from tradexp.data.features import compute_features, extra_columns, feature_warmup
from tradexp.data.loading import bars_from_frame
from tradexp.data.scalers import Scaler
from tradexp.data.windows import WindowDataset
from tradexp.errors import DataValidationError
from tradexp.evaluation.backtest import positions_from_predictions

__all__ = ["BarPipeline", "TradingRule", "OUTPUT_COLUMNS"]

OUTPUT_COLUMNS = ("timestamp", "pred", "position")
# Windows per forward pass, always: the last chunk is zero-padded, so a bar's score never depends on how
# many bars came with it (a GEMM's rounding changes with its row count: 693 and 893 rows differ in the
# last bit of some rows). Bounded memory on 1M bars.
_CHUNK = 256
_SMALL_REQUEST = 4_096  # windows up to which one thread runs the net


@dataclass
class TradingRule:
    """The run's trading settings (from its `TradingEvaluation` callback)."""

    cost_bps: float = 1.0
    no_trade_band: float = 0.0
    long_only: bool = False
    in_band: str = "flat"


@dataclass
class BarPipeline:
    """Everything between raw bars and the net, and between the net and a position.

    Attributes:
        net: `{"name": "mlp", "init_args": {...}}` (a net of `tradexp.models.NETS`).
        features: Feature names, in column order.
        window: Bars per input window.
        horizon: Label horizon in bars.
        task: `classification` (pred = P(up)) or `regression` (pred = predicted log return).
        scaler: `Scaler.state_dict()` fitted on the training rows.
        use_adjusted: The loader's `Adj Close` rule.
        trading: The trading rule.
        bar_seconds: Median spacing of the training bars in seconds.
        periods_per_year: Annualisation of the training bars.
        dataset: Name, digest and time range of the training bars.
    """

    net: dict
    features: list[str]
    window: int
    horizon: int
    task: str
    scaler: dict
    use_adjusted: bool = True
    trading: TradingRule = field(default_factory=TradingRule)
    bar_seconds: Optional[float] = None
    periods_per_year: Optional[float] = None
    dataset: dict = field(default_factory=dict)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "BarPipeline":
        values = dict(values)
        values["trading"] = TradingRule(**values.get("trading", {}))
        return cls(**values)

    # -- what a caller must supply --------------------------------------------------------------
    @property
    def warmup(self) -> int:
        """Bars at the start for which some feature is undefined."""
        return feature_warmup(self.features)

    @property
    def min_bars(self) -> int:
        """Fewest bars that give one output row: the features' warm-up plus one window."""
        return self.warmup + self.window

    def bars(self, frame: pd.DataFrame, source: str = "bars") -> pd.DataFrame:
        """Bars in any shape the loader accepts -> the loader's canonical frame (validated)."""
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(f"the model takes a pandas DataFrame of OHLCV bars, got {type(frame).__name__}")
        return bars_from_frame(frame, source, use_adjusted=self.use_adjusted, extra_columns=extra_columns(self.features))

    def feature_matrix(self, bars: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """Raw (unscaled) features of the bars past the warm-up: (timestamps (N,), values (N, F))."""
        if len(bars) < self.min_bars:
            raise DataValidationError(
                f"the model needs at least {self.min_bars} bars ({self.warmup} warm-up bars of the features + window "
                f"{self.window}); got {len(bars)}"
            )
        frame = compute_features(bars, self.features).iloc[self.warmup :]
        if frame.isna().any().any():
            first_bad = frame.index[frame.isna().any(axis=1).to_numpy()][0]
            raise DataValidationError(f"features undefined at {first_bad} after the warm-up; check the bars around that time")
        return frame.index, frame.to_numpy(dtype="float64")  # (N,), (N, F)

    # -- the whole path ----------------------------------------------------------------------------
    def signals(self, frame: pd.DataFrame, module: Any, source: str = "bars") -> pd.DataFrame:
        """One row per bar with a full window: `timestamp`, `pred`, `position`.

        Args:
            frame: Bars in any shape the loader accepts.
            module: A `TradingModule` in eval mode (`predict_scores` maps (B, W, F) to (B,)).
            source: Name shown in error messages.
        """
        stamps, raw = self.feature_matrix(self.bars(frame, source))
        preds = self.predict_raw(raw, module)
        positions = positions_from_predictions(
            preds, self.task, self.trading.long_only, self.trading.no_trade_band, self.trading.in_band  # type: ignore[arg-type]
        )
        return pd.DataFrame({"timestamp": stamps[self.window - 1 :], "pred": preds, "position": positions})

    def predict_raw(self, raw: np.ndarray, module: Any) -> np.ndarray:
        """Scores of every full window of a raw feature matrix (N, F) -> (N - W + 1,) float64."""
        scaled = Scaler.from_state_dict(self.scaler).transform(raw)  # (N, F) float32
        ends = np.arange(self.window - 1, len(scaled))  # window-end rows
        dataset = WindowDataset(scaled, np.zeros(len(scaled), dtype="float32"), ends, self.window)
        out = np.empty(len(ends), dtype="float64")
        threads = torch.get_num_threads()
        # A small request is latency-bound: waking a thread pool costs more than the matmuls (3x the
        # p50 of a 256-bar request on a busy 2-core machine). Process-wide setting, restored after.
        single = len(ends) <= _SMALL_REQUEST and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for start in range(0, len(ends), _CHUNK):
                    index = np.arange(start, min(start + _CHUNK, len(ends)))
                    x = torch.from_numpy(dataset.windows(index))  # (B, W, F), B <= _CHUNK
                    if len(index) < _CHUNK:
                        x = torch.cat([x, x.new_zeros((_CHUNK - len(index), *x.shape[1:]))])
                    out[index] = module.predict_scores(x)[: len(index)].double().numpy()  # (B,)
        finally:
            if single:
                torch.set_num_threads(threads)
        return out
