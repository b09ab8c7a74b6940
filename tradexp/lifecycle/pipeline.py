"""`BarPipeline`: what a logged model needs to turn raw bars into signals, as plain JSON-able values.

The pipeline reuses the training code path piece by piece, so a logged model cannot drift from
the run that produced it: the loader's column and time rules (`bars_from_frame`), the causal
features (`compute_feature`, `feature_warmup`), the train-only scaler (`Scaler`), the windows
(`window_view`, as `WindowDataset` takes them) and the trading rule (`positions_from_predictions`).

A universe's model (`symbols` set) takes one long frame with a `symbol` column (`long_frame_bars`,
the loader's rule for a long file): features, scaler (the symbol's own, or the pooled one) and
windows are computed per symbol, as in training, and every output row names its `symbol`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from tradexp.data.features import compute_feature, extra_columns, feature_warmup
from tradexp.data.loading import bars_from_frame
from tradexp.data.scalers import Scaler
from tradexp.data.universe import long_frame_bars
from tradexp.data.windows import window_view
from tradexp.errors import DataValidationError
from tradexp.evaluation.backtest import positions_from_predictions

__all__ = ["BarPipeline", "TradingRule", "OUTPUT_COLUMNS", "UNIVERSE_OUTPUT_COLUMNS", "windows_per_pass"]

OUTPUT_COLUMNS = ("timestamp", "pred", "position")
UNIVERSE_OUTPUT_COLUMNS = ("symbol", *OUTPUT_COLUMNS)
# A model runs its net on `windows_per_pass` windows every time: the last pass is zero-padded, so a bar's
# score never depends on how many bars came with it (a GEMM's rounding changes with its row count: 693
# and 893 rows differ in the last bit of some rows). Bounded memory on 1M bars.
_PASS_WINDOWS = 256  # recurrent and convolutional nets: a 256-window LSTM pass already takes ~10 ms on one thread
_MLP_PASS_WINDOWS = 2_048  # 1M bars: 0.45 s of passes (256-window ones: 0.88 s); a 256-bar request pays ~2 ms for the padding
_PASS_BYTES = 16 * 2**20  # cap on the reused input buffer of one pass
_SMALL_REQUEST = 4_096  # windows up to which one thread runs the net


def windows_per_pass(net_name: str, window: int, n_features: int) -> int:
    """Windows per forward pass for a new logged model (fixed with it: its scores never change)."""
    if net_name != "mlp":
        return _PASS_WINDOWS
    fits = _PASS_BYTES // (4 * window * n_features)  # float32 windows in the buffer cap
    return int(min(_MLP_PASS_WINDOWS, max(_PASS_WINDOWS, fits)))


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
        scaler: `Scaler.state_dict()` fitted on the training rows; a universe's per-symbol scalers are
            `{"scope": "per_symbol", "symbols": {symbol: state}}`.
        use_adjusted: The loader's `Adj Close` rule.
        trading: The trading rule.
        bar_seconds: Median spacing of the training bars in seconds.
        periods_per_year: Annualisation of the training bars.
        dataset: Name, digest and time range of the training bars.
        symbols: A universe: its symbols in id order (the ids of a symbol embedding); None for one series.
        symbol_embedding: Width of the model's symbol embedding (None: none).
        windows_per_pass: Windows in every forward pass, the last one zero-padded (`windows_per_pass`;
            256 for a model logged before it was recorded, which is what it was scored with).
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
    symbols: Optional[list[str]] = None
    symbol_embedding: Optional[int] = None
    windows_per_pass: int = _PASS_WINDOWS

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
            raise DataValidationError(f"the model needs at least {self.min_bars} bars ({self.warmup} warm-up bars of the features + window {self.window}); got {len(bars)}")
        values = np.empty((len(bars) - self.warmup, len(self.features)), dtype="float64")  # (N, F), filled a column at a time
        for j, name in enumerate(self.features):
            values[:, j] = compute_feature(bars, name).to_numpy(dtype="float64")[self.warmup :]
        bad = np.isnan(values).any(axis=1)  # (N,)
        if bad.any():
            first_bad = bars.index[self.warmup + int(np.argmax(bad))]
            raise DataValidationError(f"features undefined at {first_bad} after the warm-up; check the bars around that time")
        return bars.index[self.warmup :], values  # (N,), (N, F)

    # -- a universe ---------------------------------------------------------------------------------
    @property
    def is_universe(self) -> bool:
        """True for a model trained on a universe (it takes a long frame with a `symbol` column)."""
        return self.symbols is not None

    def universe_bars(self, frame: pd.DataFrame, source: str = "bars") -> dict[str, pd.DataFrame]:
        """A long frame (a `symbol`/`ticker` column) -> symbol -> validated bars, for the symbols this model knows.

        Raises:
            DataValidationError: Not a DataFrame, no symbol column, invalid bars (the symbol named), or a
                symbol the model cannot score (a per-symbol scaler or a symbol embedding needs a known one).
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(f"the model takes a pandas DataFrame of OHLCV bars, got {type(frame).__name__}")
        bars = long_frame_bars(frame, source, self.use_adjusted, extra_columns(self.features))
        per_symbol = self.scaler.get("scope") == "per_symbol"
        if per_symbol or self.symbol_embedding:
            unknown = sorted(set(bars) - set(self.symbols or ()))
            if unknown:
                why = "a symbol embedding" if self.symbol_embedding else "per-symbol scalers"
                raise DataValidationError(f"the model was trained on symbols {self.symbols} with {why}; it cannot score {unknown}")
        return bars

    def _scaler_of(self, symbol: Optional[str]) -> Scaler:
        if self.scaler.get("scope") == "per_symbol":
            return Scaler.from_state_dict(self.scaler["symbols"][symbol])
        return Scaler.from_state_dict(self.scaler)

    def _universe_signals(self, frame: pd.DataFrame, module: Any, source: str) -> pd.DataFrame:
        parts = []
        for symbol, bars in self.universe_bars(frame, source).items():  # symbols sorted, as in training
            try:
                stamps, raw = self.feature_matrix(bars)
            except DataValidationError as exc:
                raise DataValidationError(f"symbol {symbol}: {exc}") from None
            preds = self.predict_raw(raw, module, symbol)
            part = self._rows(stamps, preds)
            part.insert(0, "symbol", symbol)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _rows(self, stamps: pd.DatetimeIndex, preds: np.ndarray) -> pd.DataFrame:
        positions = positions_from_predictions(
            preds,
            self.task,
            self.trading.long_only,
            self.trading.no_trade_band,
            self.trading.in_band,  # type: ignore[arg-type]
        )
        return pd.DataFrame({"timestamp": stamps[self.window - 1 :], "pred": preds, "position": positions})

    # -- the whole path ----------------------------------------------------------------------------
    def signals(self, frame: pd.DataFrame, module: Any, source: str = "bars") -> pd.DataFrame:
        """One row per bar with a full window: `timestamp`, `pred`, `position` (a universe: `symbol` first).

        Args:
            frame: Bars in any shape the loader accepts; a universe's model: a long frame with a `symbol` column.
            module: A `TradingModule` in eval mode (`predict_scores` maps (B, W, F) to (B,)).
            source: Name shown in error messages.
        """
        if self.is_universe:
            return self._universe_signals(frame, module, source)
        stamps, raw = self.feature_matrix(self.bars(frame, source))
        return self._rows(stamps, self.predict_raw(raw, module))

    def predict_raw(self, raw: np.ndarray, module: Any, symbol: Optional[str] = None) -> np.ndarray:
        """Scores of every full window of a raw feature matrix (N, F) -> (N - W + 1,) float64.

        Args:
            raw: Unscaled features of one series (one symbol of a universe).
            module: The `TradingModule`.
            symbol: A universe: whose bars they are (its scaler; its id for a symbol embedding).
        """
        scaled = self._scaler_of(symbol).transform(raw)  # (N, F) float32
        size = self.windows_per_pass
        ids = None
        if self.symbol_embedding:
            ids = torch.full((size,), self.symbols.index(symbol), dtype=torch.int64)  # (B,) one symbol per call
        windows = window_view(scaled, self.window)  # (N - W + 1, W, F) view, no copy
        out = np.empty(len(windows), dtype="float64")
        batch = np.zeros((size, self.window, scaled.shape[1]), dtype="float32")  # (B, W, F), reused; zero padding
        x = torch.from_numpy(batch)  # shares batch's memory
        threads = torch.get_num_threads()
        # A small request is latency-bound: waking a thread pool costs more than the matmuls (3x the
        # p50 of a 256-bar request on a busy 2-core machine). Process-wide setting, restored after.
        single = len(windows) <= _SMALL_REQUEST and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for start in range(0, len(windows), size):
                    stop = min(start + size, len(windows))
                    np.copyto(batch[: stop - start], windows[start:stop])  # one copy of consecutive windows
                    batch[stop - start :] = 0  # the last batch is zero-padded: every pass has `size` rows
                    out[start:stop] = module.predict_scores(x, ids)[: stop - start].numpy()  # (B,) float32 -> float64
        finally:
            if single:
                torch.set_num_threads(threads)
        return out
