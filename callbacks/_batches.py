"""Read batches of any shape the way the callbacks need them, without disturbing training.

A batch is understood as: a tensor (inputs only); a tuple/list `(x, y, ...)`; or a mapping with the
inputs under one of `x`, `input`, `inputs`, `features` and the target under `y`, `target`, `targets`,
`label`, `labels`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Optional

import numpy as np
import torch

INPUT_KEYS = ("x", "input", "inputs", "features")
TARGET_KEYS = ("y", "target", "targets", "label", "labels")


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Restore the python, numpy and torch (CPU) random states afterwards.

    Iterating a shuffling DataLoader draws its seed from torch's global generator; without this, a
    callback that peeks at one batch would change every later batch order.
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    random.setstate(py_state)
    np.random.set_state(np_state)


def first_loader(loaders: Any) -> Optional[Iterable]:
    """The first DataLoader of what Lightning holds (one loader, a list or a dict of them)."""
    if loaders is None:
        return None
    if isinstance(loaders, Mapping):
        return next(iter(loaders.values()), None)
    if isinstance(loaders, Sequence) and not isinstance(loaders, torch.utils.data.Dataset):
        return loaders[0] if len(loaders) else None
    return loaders


def take_batches(loader: Iterable, max_batches: int) -> list[Any]:
    """Up to `max_batches` batches from `loader`, leaving the global random state untouched."""
    batches: list[Any] = []
    with preserved_rng():
        iterator = iter(loader)
        for _ in range(max_batches):
            try:
                batches.append(next(iterator))
            except StopIteration:
                break
    return batches


def split_batch(batch: Any) -> tuple[Any, Optional[torch.Tensor]]:
    """`(inputs, target or None)` of a batch (see the module docstring for the shapes understood).

    Raises:
        TypeError: For a batch whose inputs cannot be found.
    """
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch:
        target = batch[1] if len(batch) > 1 and isinstance(batch[1], torch.Tensor) else None
        return batch[0], target
    if isinstance(batch, Mapping):
        inputs = next((batch[k] for k in INPUT_KEYS if k in batch), None)
        target = next((batch[k] for k in TARGET_KEYS if k in batch), None)
        if inputs is not None:
            return inputs, target
        raise TypeError(f"batch mapping has keys {sorted(map(str, batch))}; expected the inputs under one of {list(INPUT_KEYS)}")
    raise TypeError(f"cannot find the inputs in a batch of type `{type(batch).__name__}`; expected a tensor, a tuple (x, y) or a mapping")


def last_step_features(x: torch.Tensor) -> np.ndarray:
    """Inputs as a (B, F) float array: windows keep their last step, other trailing dims are flattened."""
    x = x.detach().float().cpu()
    if x.ndim == 1:
        x = x[:, None]  # (B,) -> (B, 1)
    elif x.ndim == 3:
        x = x[:, -1, :]  # (B, W, F) -> (B, F): the bar at the window end
    elif x.ndim > 3:
        x = x.reshape(len(x), -1)  # (B, ...) -> (B, prod(...))
    return x.numpy()
