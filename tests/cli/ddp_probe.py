"""A test-only callback: what each rank trained on, and its final weights (for `test_ddp.py`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import lightning as L
import torch
from typing_extensions import override


class BatchProbe(L.Callback):
    """Writes `<folder>/rank<r>.json`: a digest of every training sample per epoch, and the weights.

    Args:
        folder: Where each rank writes its file.
    """

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.seen: dict[int, list[str]] = {}

    @override
    def on_train_batch_start(self, trainer: "L.Trainer", pl_module: "L.LightningModule", batch, batch_idx: int) -> None:
        x, _ = batch
        digests = [hashlib.sha1(row.numpy().tobytes()).hexdigest()[:16] for row in x]  # one per sample window
        self.seen.setdefault(trainer.current_epoch, []).extend(digests)

    @override
    def on_train_end(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
        weights = torch.cat([p.detach().flatten() for p in pl_module.parameters()]).double().tolist()
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"world_size": trainer.world_size, "seen": self.seen, "weights": weights}
        (self.folder / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
