"""What happens after `trainer.fit`: testing the best checkpoint (the console summary is `tradexp.console`)."""

from __future__ import annotations

from typing import Any, Optional

import lightning.pytorch as pl

__all__ = ["test_best_checkpoint"]


def test_best_checkpoint(trainer: "pl.Trainer", model: "pl.LightningModule", datamodule: Any) -> Optional[list[dict]]:
    """Evaluate the best checkpoint (or the current weights without one) on the test split.

    Does nothing when the datamodule has no test samples. Test metrics go to the same run.
    """
    splits = getattr(datamodule, "splits", None)
    if splits is not None and len(splits.test) == 0:
        return None
    checkpoint = trainer.checkpoint_callback
    ckpt_path = "best" if checkpoint is not None and getattr(checkpoint, "best_model_path", "") else None
    return trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)

