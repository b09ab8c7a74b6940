"""What happens after `trainer.fit`: testing the best checkpoint (the console summary is `tradexp.console`)."""

from __future__ import annotations

from typing import Any, Optional

import lightning.pytorch as pl

__all__ = ["announce_test", "has_test_split", "test_best_checkpoint"]


def has_test_split(datamodule: Any) -> bool:
    """False when the datamodule's splits are known and the test split is empty (no test runs)."""
    splits = getattr(datamodule, "splits", None)
    return splits is None or len(splits.test) > 0


def announce_test(trainer: "pl.Trainer", datamodule: Any, test: bool) -> None:
    """Before `trainer.fit`: tell the callbacks that take `test_follows_fit` whether `test_best_checkpoint`
    runs after the fit (`test` and, asked at the end of fit, a non-empty test split), so work the test
    replaces (the validation plots, the fit-end report) is not done twice; without a test it is kept."""
    follows = (lambda: has_test_split(datamodule)) if test else None
    for callback in trainer.callbacks:
        if hasattr(callback, "test_follows_fit"):
            callback.test_follows_fit = follows


def test_best_checkpoint(trainer: "pl.Trainer", model: "pl.LightningModule", datamodule: Any) -> Optional[list[dict]]:
    """Evaluate the best checkpoint (or the current weights without one) on the test split.

    Does nothing when the datamodule has no test samples. Test metrics go to the same run.
    """
    if not has_test_split(datamodule):
        return None
    checkpoint = trainer.checkpoint_callback
    ckpt_path = "best" if checkpoint is not None and getattr(checkpoint, "best_model_path", "") else None
    return trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)
