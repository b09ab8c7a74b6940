"""Zero-copy sliding windows over a feature matrix; only the rows of one batch are ever copied."""

from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch.utils.data import Dataset, Sampler

__all__ = ["WindowDataset", "BatchIndexSampler", "window_view"]


def window_view(features: np.ndarray, window: int) -> np.ndarray:
    """Every full window of a (N, F) matrix as a strided view, no copy: (N - W + 1, W, F); row i ends at row i + W - 1."""
    return sliding_window_view(features, window, axis=0).transpose(0, 2, 1)  # (N - W + 1, F, W) -> (N - W + 1, W, F) view


class WindowDataset(Dataset):
    """Windows ending at given positions of a (N, F) feature matrix, fetched a whole batch at a time.

    The dataset holds one float32 feature matrix and a strided view of it; indexing with a list of
    sample indices copies just those windows, (B, W, F).

    Args:
        features: Scaled features, float32 (N, F). Not copied.
        targets: Targets aligned with the rows, float32 (N,).
        positions: Window-end rows of this split, int (S,).
        window: Bars per window.
        symbol_ids: A universe: the symbol id of every row, int (N,); when given, batches are
            `(x, y, symbol_id)` (what a model with a symbol embedding takes), else `(x, y)`.
    """

    def __init__(self, features: np.ndarray, targets: np.ndarray, positions: np.ndarray, window: int, symbol_ids: Optional[np.ndarray] = None) -> None:
        self.features = features
        self.targets = targets
        self.positions = np.asarray(positions, dtype=np.int64)
        self.window = window
        self.symbol_ids = symbol_ids
        self._view = window_view(features, window)  # (N - W + 1, W, F) strided view, no copy

    def __len__(self) -> int:
        return len(self.positions)

    def windows(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Copy the windows of the given sample indices: float32 (B, W, F); one index: (W, F).

        Advanced indexing gathers just those rows of the view. (`np.take` would first copy the whole
        strided view into a contiguous array: W x the feature matrix, 16 GB on 1M bars x 32 features x 128.)
        """
        rows = self.positions[np.atleast_1d(np.asarray(indices, dtype=np.int64))] - (self.window - 1)
        batch = self._view[rows]  # (B, W, F): a new C-contiguous array (an index array never returns a view)
        return batch[0] if np.ndim(indices) == 0 else batch

    def __getitem__(self, indices: int | Sequence[int]) -> tuple[torch.Tensor, ...]:
        batch = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        x = torch.from_numpy(self.windows(batch))  # (B, W, F)
        y = torch.from_numpy(self.targets[self.positions[batch]].astype("float32", copy=True))  # (B,)
        if self.symbol_ids is not None:
            ids = torch.from_numpy(self.symbol_ids[self.positions[batch]].astype("int64", copy=True))  # (B,)
            return (x[0], y[0], ids[0]) if np.ndim(indices) == 0 else (x, y, ids)
        if np.ndim(indices) == 0:
            return x[0], y[0]
        return x, y

    def with_symbol_ids(self, symbol_ids: np.ndarray) -> "WindowDataset":
        """The same windows (no copy) whose batches also carry each sample's symbol id."""
        return WindowDataset(self.features, self.targets, self.positions, self.window, symbol_ids)


class BatchIndexSampler(Sampler[np.ndarray]):
    """Yields the sample indices of a whole batch (an int64 array), shuffled with a seeded generator when asked.

    Arrays, not lists: `WindowDataset` indexes with them as they are (a list costs ~10 us a batch to
    build and convert back, ~0.5 % of a small net's CPU step)."""

    def __init__(self, length: int, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False) -> None:
        self.length = length
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        full, rest = divmod(self.length, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(self.length)
            self.epoch += 1
        else:
            order = np.arange(self.length)
        for start in range(0, len(self), 1):
            chunk = order[start * self.batch_size : (start + 1) * self.batch_size]
            yield chunk
