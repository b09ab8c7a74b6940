"""`EpochLines`: one plain line per epoch (no carriage returns), the epoch's own losses on it."""

from __future__ import annotations

import io

import lightning as L
import pytest
from lightning.pytorch.demos.boring_classes import BoringModel

from callbacks import EpochLines


class _Logged(BoringModel):
    def training_step(self, batch, batch_idx):
        out = super().training_step(batch, batch_idx)
        self.log("train/loss", out["loss"], on_epoch=True, on_step=False)
        return out

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self.step(batch))

    def on_train_epoch_end(self):  # logged after the callbacks' epoch end, as tradexp's module does
        self.log("train/epoch_mark", float(self.current_epoch))


def test_one_line_per_epoch_with_the_module_epoch_end_metrics(tmp_path):
    stream = io.StringIO()
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        max_epochs=3,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[EpochLines(stream=stream)],
    )
    trainer.fit(_Logged())
    trainer.test(_Logged(), verbose=False)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[1] for line in lines[:3]] == ["1/3", "2/3", "3/3"]
    assert [float(line.split("train/epoch_mark ")[1].split()[0]) for line in lines[:3]] == [0.0, 1.0, 2.0]  # its own epoch
    assert all("val/loss" in line for line in lines[:3])
    assert lines[3].startswith("test")


def test_bad_digits_is_refused():
    with pytest.raises(ValueError, match="`digits` must be a positive int, got 0"):
        EpochLines(digits=0)
