"""The LightningDataModule that turns bars into leak-free windowed train/val/test loaders.

About 420 lines, on purpose: one datamodule serves a single series and a universe (the same splits,
scaler, windows and `describe()` protocol); a universe's own work lives in `universe.py` and
`universe_prep.py`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import lightning as L
import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from tradexp.data.features import DEFAULT_FEATURES, compute_feature, extra_columns, feature_warmup, parse_feature
from tradexp.data.labels import Task, forward_log_returns, make_labels
from tradexp.data.loading import bars_digest, load_bars
from tradexp.data.scalers import Scaler, ScalerKind, fit_scaler
from tradexp.data.splits import SplitPositions, SplitSettings, chronological_split, embargo_bars
from tradexp.data.synthetic import SyntheticMarket, synthetic_bars
from tradexp.data.validation import require_rows
from tradexp.errors import ConfigError
from tradexp.data.universe import is_universe_path, load_universe, universe_digest
from tradexp.data.universe_prep import PreparedUniverse, ScalerScope, prepare_universe, unscaled_features
from tradexp.data.windows import BatchIndexSampler, WindowDataset
from tradexp.ranges import HalfOpenUnitInterval, NonNegativeFloat, NonNegativeInt, OpenUnitInterval, PositiveInt, check_ranges, plain

__all__ = ["BarsDataModule", "SplitData", "dataset_name_for"]

log = logging.getLogger(__name__)


def dataset_name_for(path: Optional[str], dataset_name: Optional[str] = None) -> str:
    """The name a run records for its data: `dataset_name`, else the folder name (a universe), the file
    stem, or `synthetic`."""
    if dataset_name:
        return dataset_name
    if not path:
        return "synthetic"
    text = str(path).rstrip("/")
    if Path(text).is_dir():
        return Path(text).resolve().name
    if any(c in text for c in "*?["):
        return Path(text).parent.resolve().name
    return Path(text).stem


class SplitData(dict):
    """What one split holds, for callbacks and evaluation (the `describe()` protocol).

    Keys: `features` raw (unscaled) features at the window ends, float32 (S, F) (the datamodule
    keeps only the scaled float32 matrix; this is its inverse); `targets` (S,);
    `forward_returns` forward log returns over the horizon (S,); `timestamps` (S,) datetime64;
    for a universe also `symbols` (S,) str.
    """


class BarsDataModule(L.LightningDataModule):
    """Bars -> features -> labels -> chronological split with embargo -> train-only scaler -> windows.

    With no `path`, trains on the built-in synthetic market.

    Args:
        path: CSV or Parquet file of OHLCV bars; a folder or glob of files (one symbol each, symbol =
            file stem) or one long file with a `symbol`/`ticker` column is a universe; None uses the
            synthetic market (a universe when `synthetic.n_symbols > 1`).
        dataset_name: Name recorded on the run; default the file stem or `synthetic`.
        synthetic: Parameters of the synthetic market (used when `path` is None).
        features: Feature names, e.g. `log_return_5`, `rsi_14`, `macd`, `col_<extra column>`.
        task: `classification` (direction) or `regression` (forward log return).
        horizon: Label horizon in bars (>= 1).
        dead_zone: Classification: leave out bars whose |forward log return| <= this.
        window: Bars per input window (>= 1).
        val_fraction: Share of samples for validation (when no `val_start`).
        test_fraction: Share of samples for test (when no `test_start`).
        val_start: ISO date where validation starts (overrides fractions).
        test_start: ISO date where test starts (overrides fractions).
        train_start: ISO date: no window may end before it (walk-forward rolling windows).
        test_end: ISO date: no window may end at or after it (exclusive end of the test split).
        embargo: Bars purged between splits; default and minimum horizon + window - 1.
        scaler: `standard` (mean/std) or `robust` (median/IQR), fitted on train rows only.
        scaler_scope: A universe: `per_symbol` (each symbol by its own training rows) or `pooled`.
        symbols: A universe: keep only these symbols.
        min_bars: A universe: drop symbols with fewer bars (one warning lists them).
        drop_short_symbols: A universe: False refuses short symbols instead of dropping them.
        use_adjusted: Scale OHLC by `Adj Close / Close` when the file has `Adj Close`.
        batch_size: Samples per batch.
        num_workers: DataLoader worker processes (0 = load in the main process).
        seed: Seed of the training-batch shuffle.
    """

    def __init__(
        self,
        path: Optional[str] = None,
        dataset_name: Optional[str] = None,
        synthetic: SyntheticMarket = SyntheticMarket(),
        features: list[str] = list(DEFAULT_FEATURES),
        task: Task = "classification",
        horizon: PositiveInt = 1,
        dead_zone: NonNegativeFloat = 0.0,
        window: PositiveInt = 32,
        val_fraction: OpenUnitInterval = 0.15,
        test_fraction: HalfOpenUnitInterval = 0.15,
        val_start: Optional[str] = None,
        test_start: Optional[str] = None,
        train_start: Optional[str] = None,
        test_end: Optional[str] = None,
        embargo: Optional[NonNegativeInt] = None,
        scaler: ScalerKind = "standard",
        scaler_scope: ScalerScope = "per_symbol",
        symbols: Optional[list[str]] = None,
        min_bars: NonNegativeInt = 0,
        drop_short_symbols: bool = True,
        use_adjusted: bool = True,
        batch_size: PositiveInt = 256,
        num_workers: NonNegativeInt = 0,
        seed: int = 0,
    ) -> None:
        check_ranges(BarsDataModule.__init__, locals(), "data.")
        super().__init__()
        if val_fraction + test_fraction >= 1:
            raise ValueError(f"`data.val_fraction` ({val_fraction}) + `data.test_fraction` ({test_fraction}) must be below 1")
        if not features:
            raise ValueError("`data.features` must name at least one feature")
        for name in features:
            parse_feature(name)
        embargo_bars(window, horizon, embargo)
        self.save_hyperparameters(ignore=["synthetic"])
        self.hparams.update(plain(dict(self.hparams)))  # parsed values are PositiveInt & co.: plain for weights_only
        self.hparams["synthetic"] = asdict(synthetic)  # plain dict: checkpoints load with weights_only
        self.path = path
        self.synthetic = synthetic
        self.features = list(features)
        self.task = task
        self.horizon = horizon
        self.dead_zone = dead_zone
        self.window = window
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.dataset_name = dataset_name_for(path, dataset_name)
        self.symbols: Optional[list[str]] = None  # a universe's symbols once set up; None for one series
        self.universe: Optional[PreparedUniverse] = None
        self.scalers: dict[str, Scaler] = {}  # a universe's: per symbol, or {"*": pooled}
        self.dropped_symbols: dict[str, int] = {}  # symbol -> bars, shorter than `min_bars`
        self.symbol_sources: dict[str, str] = {}
        self.symbol_digests: dict[str, str] = {}
        self.scaler_kind = scaler
        self.bars: Optional[pd.DataFrame] = None
        self.head_bars: Optional[pd.DataFrame] = None  # a universe: the first bars of two symbols, one long frame
        self.splits: Optional[SplitPositions] = None
        self.scaler: Optional[Scaler] = None
        self.digest: Optional[str] = None
        self._datasets: dict[str, WindowDataset] = {}
        self._symbol_ids_in_batches = False

    # -- what the model and the tracking need, known before setup ------------------------------
    @property
    def n_features(self) -> int:
        """Number of input features per bar."""
        return len(self.features)

    @property
    def source(self) -> str:
        """Where the bars come from: the absolute file path, or `synthetic(seed=..)`."""
        if self.path:
            return str(Path(self.path).resolve())
        return self.synthetic.source

    # -- Lightning hooks ----------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Fail early (on rank 0, before any process forks) when the file is missing or malformed."""
        if self.is_universe:
            self._load_universe()
        elif self.path:
            load_bars(self.path, use_adjusted=self.hparams.use_adjusted, extra_columns=extra_columns(self.features))

    @property
    def is_universe(self) -> bool:
        """True for a folder, glob or long file of many symbols, or a synthetic market of several."""
        if self.path:
            return is_universe_path(self.path)
        return getattr(self.synthetic, "n_symbols", 1) > 1

    def _load_universe(self) -> dict[str, pd.DataFrame]:
        hp = self.hparams
        if self.path:
            loaded = load_universe(self.path, hp.symbols, hp.min_bars, hp.drop_short_symbols, hp.use_adjusted, extra_columns(self.features))
            if loaded.dropped:
                self.dropped_symbols = dict(loaded.dropped)
            self.symbol_sources = dict(loaded.sources)
            return loaded.bars
        from tradexp.data.synthetic_universe import synthetic_universe

        bars = synthetic_universe(self.synthetic)
        if hp.symbols:
            bars = {s: bars[s] for s in hp.symbols if s in bars}
        self.symbol_sources = {s: f"{self.source}:{s}" for s in bars}
        return bars

    def _setup_universe(self) -> None:
        hp = self.hparams
        bars = self._load_universe()
        prep = prepare_universe(
            bars, self.features, self.task, self.horizon, self.window, SplitSettings.of(hp),
            dead_zone=self.dead_zone, scaler=self.scaler_kind, scaler_scope=hp.scaler_scope,
        )  # fmt: skip
        self.universe = prep
        self.symbols = list(prep.symbols)
        self.symbol_digests = {s: bars_digest(f) for s, f in bars.items()}
        self.digest = universe_digest(bars)
        self.bars = None  # one frame per symbol: kept in `prepare_universe`'s stacked arrays only
        head = feature_warmup(self.features) + self.window + 8  # what a logged model's input example needs
        self.head_bars = pd.concat([bars[s].iloc[:head].assign(symbol=s) for s in self.symbols[:2]])
        self.scaled_features = prep.scaled
        self.timestamps = prep.timestamps
        self.forward_returns = prep.forward_returns
        self.targets = prep.targets
        self.splits = prep.splits
        self.scalers = prep.scalers
        self.scaler = prep.scalers.get("*") or _PerSymbolScalers(prep.scalers)
        for name, positions in self.splits.items():
            self._datasets[name] = WindowDataset(prep.scaled, self.targets, positions, self.window)
        log.info(
            "universe %s: %d symbols, %d features, train/val/test = %d/%d/%d samples, embargo %d bars per symbol",
            self.dataset_name, len(self.symbols), self.n_features,
            len(self.splits.train), len(self.splits.val), len(self.splits.test), self.splits.embargo,
        )  # fmt: skip

    def setup(self, stage: Optional[str] = None) -> None:
        """Load bars, compute features and labels, split, fit the scaler on train rows; once."""
        if self._datasets:
            return
        if self.is_universe:
            self._setup_universe()
            return
        if self.path:
            bars = load_bars(self.path, use_adjusted=self.hparams.use_adjusted, extra_columns=extra_columns(self.features))
        else:
            bars = synthetic_bars(self.synthetic)
        self.bars = bars
        self.digest = bars_digest(bars)
        warmup = feature_warmup(self.features)
        hp = self.hparams
        needed_min = self.window + self.horizon + 2 * embargo_bars(self.window, self.horizon, hp.embargo) + 20
        require_rows(
            len(bars) - warmup,
            needed_min,
            self.dataset_name,
            f"{warmup} warm-up bars of the features removed; window {self.window} + horizon {self.horizon} + 2 embargoes + 20 samples",
        )
        close = bars["close"].to_numpy()[warmup:]
        self.timestamps = bars.index[warmup:]
        n_rows = len(self.timestamps)
        self.forward_returns = forward_log_returns(close, self.horizon)  # (N,)
        self.targets, usable = make_labels(self.forward_returns, self.task, self.dead_zone)
        self.splits = chronological_split(n_rows, self.window, self.horizon, SplitSettings.of(hp), index=self.timestamps, usable=usable)
        # The scaler sees exactly the rows the training windows read: none after the last train window end.
        first_row, last_row = max(int(self.splits.train[0]) - self.window + 1, 0), int(self.splits.train[-1])
        self.scaler, scaled = self._scaled_features(bars, warmup, first_row, last_row)
        for name, positions in self.splits.items():
            self._datasets[name] = WindowDataset(scaled, self.targets, positions, self.window)
        self.scaled_features = scaled
        log.info(
            "data %s: %d bars, %d features, train/val/test = %d/%d/%d samples, embargo %d bars",
            self.dataset_name,
            len(bars),
            self.n_features,
            len(self.splits.train),
            len(self.splits.val),
            len(self.splits.test),
            self.splits.embargo,
        )

    def _scaled_features(self, bars: pd.DataFrame, warmup: int, first_row: int, last_row: int) -> tuple[Scaler, np.ndarray]:
        """Compute, check and scale one feature column at a time into the one float32 (N, F) matrix.

        The only full copy of the features the datamodule keeps: a float64 column (N,) is computed,
        its scaler statistics taken from the training rows, and it is written scaled into place, so
        no float64 (N, F) matrix or feature frame ever exists (1M bars x 32 features: 128 MB in all
        rather than ~640 MB at the peak).
        """
        scaled = np.empty((len(bars) - warmup, self.n_features), dtype="float32")  # (N, F)
        centers, spreads, first_bad = [], [], None
        for j, name in enumerate(self.features):
            column = compute_feature(bars, name).to_numpy(dtype="float64")[warmup:, None]  # (N, 1)
            bad = np.flatnonzero(np.isnan(column[:, 0]))
            if len(bad) and (first_bad is None or bad[0] < first_bad[0]):
                first_bad = (int(bad[0]), name)
            fitted = fit_scaler(column, self.scaler_kind, first_row, last_row)
            scaled[:, j] = fitted.transform(column)[:, 0]
            centers.append(fitted.center)
            spreads.append(fitted.scale)
        if first_bad is not None:
            raise ValueError(f"features undefined at {self.timestamps[first_bad[0]]} (`{first_bad[1]}`) after the warm-up; check the lookbacks in `data.features`")
        scaler = Scaler(self.scaler_kind, np.concatenate(centers), np.concatenate(spreads), (first_row, last_row))
        return scaler, scaled

    def include_symbol_ids(self) -> None:
        """Batches become `(x, y, symbol_id)` (a universe; what a model with a symbol embedding asks in `setup`).

        Raises:
            ConfigError: For a single series (it has no symbols).
        """
        if not self._datasets:
            self.setup()
        if self.universe is None:
            raise ConfigError(f"data {self.dataset_name!r} is a single series: its batches have no symbol ids")
        self._symbol_ids_in_batches = True

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        if not self._datasets:
            self.setup()
        dataset = self._datasets[name]
        if self._symbol_ids_in_batches:
            dataset = dataset.with_symbol_ids(self.universe.symbol_ids)  # same windows, (x, y, symbol_id) batches
        sampler = BatchIndexSampler(len(dataset), self.batch_size, shuffle=shuffle, seed=self.seed)
        return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test" if len(self.splits.test) else "val", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    # -- what callbacks, evaluation and tracking read -------------------------------------------
    @property
    def raw_features(self) -> np.ndarray:
        """Unscaled features of every row, float32 (N, F): the scaler's inverse of the one matrix kept.

        A new (N, F) array each call (the datamodule holds only the scaled copy); prefer
        `split_data(name)["features"]` for one split.
        """
        if self.universe is not None:
            return unscaled_features(self.universe, np.arange(len(self.timestamps)))
        return self.scaler.inverse_transform(self.scaled_features)

    def split_boundaries(self) -> dict[str, str]:
        """ISO timestamps of the first and last window end of each split (over every symbol of a universe)."""
        if self.universe is None:
            return self.splits.boundaries(self.timestamps)
        out = {}
        for name, positions in self.splits.items():
            if len(positions):
                times = self.timestamps[positions]
                out[f"{name}_start"], out[f"{name}_end"] = times.min().isoformat(), times.max().isoformat()
        return out

    def split_data(self, name: str) -> SplitData:
        """Raw features, targets, forward returns and timestamps of one split's samples."""
        positions = getattr(self.splits, name)
        data = SplitData(
            features=unscaled_features(self.universe, positions)
            if self.universe is not None
            else self.scaler.inverse_transform(self.scaled_features[positions]),  # (S, F) float32, unscaled
            targets=self.targets[positions],
            forward_returns=self.forward_returns[positions],
            timestamps=self.timestamps[positions].to_numpy(),
        )
        if self.universe is not None:
            data["symbols"] = np.asarray(self.universe.symbols, dtype=object)[self.universe.symbol_ids[positions]]
        return data

    def describe(self) -> dict[str, Any]:
        """The data-description protocol the generic callbacks use when a datamodule offers it.

        Returns:
            `feature_names`, `task`, `splits` ({name: SplitData} for non-empty splits), `scaler`
            (state dict), `boundaries`, `digest`, `source`, `dataset_name`.
        """
        if not self._datasets:
            self.setup()
        return {
            "feature_names": list(self.features),
            "task": self.task,
            "splits": {name: self.split_data(name) for name, p in self.splits.items() if len(p)},
            "scaler": self.scaler.state_dict(),
            "boundaries": self.split_boundaries(),
            "digest": self.digest,
            "source": self.source,
            "dataset_name": self.dataset_name,
        }

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint so the fitted scaler travels with the model.

        Read it back for inference with
        `Scaler.from_state_dict(torch.load(ckpt, weights_only=True)["BarsDataModule"]["scaler"])`;
        `setup()` itself refits the same scaler from the same training rows.
        """
        if self.scaler is None:
            return {}
        state = {"scaler": self.scaler.state_dict(), "digest": self.digest, "features": list(self.features)}
        if self.symbols is not None:
            state["symbols"] = list(self.symbols)
        return state


class _PerSymbolScalers:
    """The per-symbol scalers of a universe behind the one-scaler `state_dict()` the callbacks read."""

    def __init__(self, scalers: dict[str, Scaler]) -> None:
        self.scalers = scalers

    def state_dict(self) -> dict:
        return {"scope": "per_symbol", "symbols": {s: scaler.state_dict() for s, scaler in self.scalers.items()}}
