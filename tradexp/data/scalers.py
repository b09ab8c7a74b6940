"""Feature scalers fitted on training rows only, serialisable to plain JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Scaler", "fit_scaler", "ScalerKind"]

ScalerKind = Literal["standard", "robust"]


@dataclass
class Scaler:
    """`(x - center) / scale` per feature column."""

    kind: str
    center: np.ndarray
    scale: np.ndarray
    fitted_rows: tuple[int, int]  # first and last row (inclusive) the statistics were computed from

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale a (N, F) array; returns float32 (N, F)."""
        shifted = values - self.center  # (N, F) float64, the one temporary
        np.divide(shifted, self.scale, out=shifted)
        return shifted.astype("float32")

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo `transform` on a (N, F) float32 array; returns float32 (N, F) at float32 precision."""
        return (values * self.scale.astype("float32") + self.center.astype("float32")).astype("float32", copy=False)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "center": self.center.tolist(), "scale": self.scale.tolist(), "fitted_rows": list(self.fitted_rows)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "Scaler":
        return cls(
            kind=state["kind"], center=np.asarray(state["center"], dtype="float64"), scale=np.asarray(state["scale"], dtype="float64"), fitted_rows=tuple(state["fitted_rows"])
        )


def fit_scaler(values: np.ndarray, kind: ScalerKind, first_row: int, last_row: int) -> Scaler:
    """Fit a scaler on rows `first_row..last_row` (inclusive) of a (N, F) array and nothing else.

    Args:
        values: Feature matrix (N, F).
        kind: `standard` (mean/std) or `robust` (median/IQR).
        first_row: First row of the training range.
        last_row: Last row of the training range (inclusive).

    Returns:
        The fitted Scaler; a zero spread is replaced by 1.
    """
    fit_rows = values[first_row : last_row + 1]  # (n_train_rows, F) view
    if kind == "robust":
        q25, center, q75 = np.percentile(fit_rows, [25, 50, 75], axis=0)
        scale = q75 - q25
    else:
        center = fit_rows.mean(axis=0)
        scale = fit_rows.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    return Scaler(kind=kind, center=center, scale=scale, fitted_rows=(first_row, last_row))
