"""A 20-line LightningModule and datamodule that know nothing of tradexp (for the callback tests)."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ALL_FILES = [
    "model/summary.txt",
    "model/architecture.png",
    "model/architecture.json",
    "environment/environment.json",
    "environment/packages.txt",
    "environment/git.json",
    "data/distribution.json",
    "data/drift.csv",
    "plots/feature_histograms.png",
    "plots/label_balance.png",
    "plots/correlation.png",
    "plots/drift.png",
    "plots/learning_curves.png",
    "plots/learning_curves.csv",
    "plots/roc.png",
    "plots/pr.png",
    "plots/confusion_matrix.png",
    "plots/calibration.png",
    "plots/probability_hist.png",
    "predictions/test_predictions.csv",
    "predictions/test_summary.json",
]


class TinyWindows(L.LightningDataModule):
    """Windows (B, 6, 4) of noise; the label is whether the last bar's first feature is positive."""

    def __init__(self, n: int = 384, batch_size: int = 32, shift_test: float = 0.0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 6, 4, generator=generator)
        self.x[int(0.8 * n) :] += shift_test  # a drifted test split
        self.y = (self.x[:, -1, 0] + 0.5 * torch.randn(n, generator=generator) > 0).float()
        self.batch_size = batch_size
        self.cuts = (int(0.6 * n), int(0.8 * n))

    def _loader(self, start: int, stop: int, shuffle: bool = False) -> DataLoader:
        return DataLoader(TensorDataset(self.x[start:stop], self.y[start:stop]), batch_size=self.batch_size, shuffle=shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader(0, self.cuts[0], shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(*self.cuts)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.cuts[1], len(self.x))


class TinyClassifier(L.LightningModule):
    """Flatten -> Linear -> ReLU -> Linear; eval steps return `preds` and `target` unless told not to."""

    def __init__(self, return_outputs: bool = True) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 1))
        self.return_outputs = return_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # (B, 1) -> (B,)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.binary_cross_entropy_with_logits(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def _eval(self, batch, stage):
        x, y = batch
        logits = self(x)
        self.log(f"{stage}_loss", nn.functional.binary_cross_entropy_with_logits(logits, y))
        self.log(f"{stage}_acc", ((logits > 0).float() == y).float().mean())
        return {"preds": torch.sigmoid(logits), "target": y} if self.return_outputs else None

    def validation_step(self, batch, batch_idx):
        return self._eval(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._eval(batch, "test")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=0.02)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)}
