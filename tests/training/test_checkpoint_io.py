"""Checkpoints written off the training thread: complete, ordered, synchronous once interrupted."""

from __future__ import annotations

import threading
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.demos.boring_classes import BoringModel

from tradexp.checkpoint_io import BackgroundCheckpointIO, with_background_checkpointing


class _LossDown(BoringModel):
    def validation_step(self, batch, batch_idx):
        loss = torch.tensor(1.0 / (self.current_epoch + 1))  # improves every epoch: a new best each time
        self.log("val/loss", loss)
        return loss


class _StopAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch:  # mid-epoch: a step no checkpoint has saved yet
            raise RuntimeError("stopped on purpose")


def _trainer(tmp_path: Path, *extra: Callback, epochs: int = 4) -> tuple[L.Trainer, ModelCheckpoint, BackgroundCheckpointIO]:
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/loss", save_top_k=1, save_last=True, save_on_exception=True)
    kwargs = with_background_checkpointing({"callbacks": [checkpoint, *extra]})
    (plugin,) = kwargs["plugins"]
    trainer = L.Trainer(
        max_epochs=epochs, limit_train_batches=2, limit_val_batches=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path, **kwargs,
    )  # fmt: skip
    return trainer, checkpoint, plugin


def test_checkpoints_are_complete_and_old_bests_removed_in_order(tmp_path: Path) -> None:
    trainer, checkpoint, plugin = _trainer(tmp_path)
    trainer.fit(_LossDown())
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == sorted([Path(checkpoint.best_model_path).name, "last.ckpt"])  # older bests removed, none left behind
    state = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert state["epoch"] == 3 and "state_dict" in state
    assert plugin.trainer is trainer and isinstance(plugin, BackgroundCheckpointIO)


class _RecordingIO(TorchCheckpointIO):
    """Writes with torch.save and notes, per file, whether it ran on the training (main) thread."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[str, bool]] = []

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        super().save_checkpoint(checkpoint, path, storage_options)
        self.saves.append((Path(path).name, threading.current_thread() is threading.main_thread()))


def test_a_checkpoint_saved_on_an_exception_is_written_synchronously(tmp_path: Path) -> None:
    io = _RecordingIO()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/loss", save_last=True, save_on_exception=True)
    kwargs = with_background_checkpointing({"callbacks": [checkpoint, _StopAt(2)]}, checkpoint_io=io)
    trainer = L.Trainer(
        max_epochs=4, limit_train_batches=2, limit_val_batches=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path, **kwargs,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="stopped on purpose"):
        trainer.fit(_LossDown())
    # The exception checkpoint and last.ckpt: on the training thread, on disk before any logger's finalize.
    assert io.saves[-2:] == [("epoch=2-step=5.ckpt", True), ("last.ckpt", True)]
    assert io.saves[:-2] and not any(on_main for _, on_main in io.saves[:-2])  # the epoch checkpoints: on the writer thread
    assert torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["global_step"] == 5


def test_a_configured_checkpoint_plugin_is_kept() -> None:
    mine = TorchCheckpointIO()
    assert with_background_checkpointing({"callbacks": []}, [mine]) == {"callbacks": []}
    kwargs = with_background_checkpointing({"callbacks": []}, None)
    assert isinstance(kwargs["plugins"][0], BackgroundCheckpointIO) and len(kwargs["callbacks"]) == 1
