"""python scripts/notebook_callbacks.py [--out DIR] [--mlflow-uri sqlite:///mlflow.db] [--epochs 3]

The reporting callbacks on a plain `L.Trainer`, with a model and data of their own and no tradexp:
what a notebook user pastes into cells. A small regression (next-period return from five factors)
is trained, tested, and every report lands under `DIR/.../version_N/` (CSVLogger) — or, with
`--mlflow-uri`, in an MLflow run as artifacts. The datamodule shows the optional `describe()`
protocol (raw features, targets and timestamps per split), which gives the data plots real feature
names and the test predictions real timestamps; without it the callbacks sample batches instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves  # noqa: E402

FACTORS = ["momentum", "value", "carry", "volatility", "noise"]


class FactorData(L.LightningDataModule):
    """Daily factor exposures (N, 5) and the next day's return; chronological 60/20/20 split."""

    def __init__(self, n_days: int = 1500, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        self.timestamps = pd.bdate_range("2015-01-01", periods=n_days)
        self.features = rng.normal(size=(n_days, len(FACTORS))).astype("float32")  # (N, F)
        self.features[:, 3] = np.abs(self.features[:, 3]) + 0.5 * np.linspace(0, 1, n_days)  # volatility drifts up
        beta = np.array([0.5, 0.2, -0.3, 0.0, 0.0], dtype="float32")
        self.returns = (self.features @ beta + rng.normal(scale=0.8, size=n_days)).astype("float32")  # (N,)
        cut1, cut2 = int(0.6 * n_days), int(0.8 * n_days)
        self.ranges = {"train": slice(0, cut1), "val": slice(cut1, cut2), "test": slice(cut2, n_days)}
        self.batch_size = batch_size

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        part = self.ranges[split]
        dataset = TensorDataset(torch.from_numpy(self.features[part]), torch.from_numpy(self.returns[part]))
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")  # in time order, so predictions line up with `describe()` timestamps

    def describe(self) -> dict:
        """The optional data-description protocol read by `DataDistribution` and `EvaluationPlots`."""
        return {
            "feature_names": FACTORS,
            "task": "regression",
            "splits": {
                name: {"features": self.features[part], "targets": self.returns[part], "timestamps": self.timestamps[part].to_numpy()} for name, part in self.ranges.items()
            },
        }


class FactorModel(L.LightningModule):
    """A two-layer MLP; `test_step` returns `preds` and `target` for `EvaluationPlots`."""

    def __init__(self, hidden: int = 32, lr: float = 3e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(len(FACTORS), hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # (B, 1) -> (B,)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def _evaluate(self, batch, stage: str) -> dict:
        x, y = batch
        preds = self(x)
        self.log(f"{stage}/loss", nn.functional.mse_loss(preds, y))
        self.log(f"{stage}/mae", (preds - y).abs().mean())
        return {"preds": preds, "target": y}

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="notebook_logs", help="folder for the CSVLogger (and checkpoints)")
    parser.add_argument("--mlflow-uri", default=None, help="log to this MLflow store instead, e.g. sqlite:///mlflow.db")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)

    L.seed_everything(0)
    if args.mlflow_uri:
        logger = MLFlowLogger(experiment_name="notebook-callbacks", tracking_uri=args.mlflow_uri, save_dir=args.out)
    else:
        logger = CSVLogger(args.out, name="notebook")
    trainer = L.Trainer(
        max_epochs=args.epochs,
        logger=logger,
        default_root_dir=args.out,
        enable_progress_bar=False,
        log_every_n_steps=5,
        callbacks=[ArchitectureSummary(), EnvironmentCapture(), DataDistribution(), LearningCurves(every_n_epochs=2), EvaluationPlots()],
    )
    data, model = FactorData(), FactorModel()
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)

    if args.mlflow_uri:
        print(f"MLflow run {logger.run_id} in {args.mlflow_uri}: see `mlflow ui --backend-store-uri {args.mlflow_uri}`")
    else:
        folder = Path(trainer.log_dir)
        print(f"reports under {folder}:")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            print(f"  {path.relative_to(folder)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
