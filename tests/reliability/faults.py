"""Models that fail on purpose, for the fault-injection tests (importable by `tradexp fit` subprocesses)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import lightning as L
import torch
from torch import nn

from tradexp.models.nets import MLPNet

__all__ = ["FailingNet", "StepModel", "FAULT_MESSAGE"]

FAULT_MESSAGE = "injected fault: training_step blew up at call"


class FailingNet(MLPNet):
    """`MLPNet` whose forward pass raises `RuntimeError` on its `fail_at`-th training call.

    Args:
        fail_at: 1-based number of the training forward call that raises.
        n_features, window, hidden_sizes, dropout, activation, input_mode: As for `MLPNet`.
    """

    def __init__(
        self,
        n_features: int = 1,
        window: int = 1,
        hidden_sizes: list[int] = [8],
        dropout: float = 0.0,
        activation: Literal["relu", "gelu", "tanh"] = "relu",
        input_mode: Literal["flatten", "last"] = "flatten",
        fail_at: int = 3,
    ) -> None:
        super().__init__(n_features, window, hidden_sizes, dropout, activation, input_mode)
        self.fail_at = fail_at
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls >= self.fail_at:
                raise RuntimeError(f"{FAULT_MESSAGE} {self.calls}")
        return super().forward(x)


class StepModel(L.LightningModule):
    """A 1-parameter regression that logs `train/step_loss` every step; raises at step `fail_at` if set."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)
        self.fail_at = fail_at

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.fail_at is not None and self.global_step >= self.fail_at:
            raise RuntimeError(f"{FAULT_MESSAGE} {self.global_step}")
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x).squeeze(-1), y)
        self.log("train/step_loss", loss, on_step=True, on_epoch=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(64, 4, generator=generator)  # (N, 4)
        y = x.sum(dim=1)  # (N,)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)


class Payload:
    """Unpickling this runs `touch <marker>`: the classic malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def exit_code(args: list[str]) -> int:
    """`tradexp.cli.main(args)`'s exit status, also when argparse/jsonargparse exits."""
    from tradexp.cli import main

    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
