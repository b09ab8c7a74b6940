"""What happens around `trainer.fit`: testing the best checkpoint and telling the user where to look."""

from __future__ import annotations

from typing import Any, Optional

import lightning.pytorch as pl
from lightning.pytorch.loggers import MLFlowLogger

from callbacks.redaction import strip_credentials

__all__ = ["test_best_checkpoint", "print_fit_summary", "headline_metrics"]


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


def headline_metrics(trainer: "pl.Trainer") -> dict[str, float]:
    """The metrics a user looks at first: val/test loss and accuracy-like scores, as floats."""
    keys = ("val/loss", "val/acc", "val/auroc", "val/dir_acc", "test/loss", "test/acc", "test/balanced_acc", "test/auroc", "test/mse", "test/dir_acc")
    metrics = trainer.callback_metrics
    return {k: float(metrics[k]) for k in keys if k in metrics}


def print_fit_summary(trainer: "pl.Trainer") -> None:
    """Print the run id, headline metrics and where to look (CLI and scripts only)."""
    if not trainer.is_global_zero:
        return
    print()
    for logger in trainer.loggers:
        if isinstance(logger, MLFlowLogger):
            spool = getattr(logger, "spool_path", None)
            if spool is not None:  # the tracking server is down: asking it anything would fail
                print(f"MLflow run: {logger.run_id}  NOT complete on {logger.tracking_uri} (server unreachable)")
                print(f"  kept in:  {spool}   replay with: tradexp sync {spool}")
                continue
            experiment = logger.experiment.get_experiment(logger.experiment_id)
            print(f"MLflow run: {logger.run_id}  (experiment {experiment.name!r})")
            uri = strip_credentials(logger.experiment.tracking_uri)  # shown, so without a password
            print(f"  store:    {uri}")
            print(f"  look:     mlflow ui --backend-store-uri {uri}   then open http://127.0.0.1:5000")
    for key, value in headline_metrics(trainer).items():
        print(f"  {key:<18} {value:.4f}")
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None and getattr(checkpoint, "best_model_path", ""):
        print(f"  best checkpoint:   {checkpoint.best_model_path}")
