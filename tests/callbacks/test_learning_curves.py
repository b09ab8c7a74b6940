"""LearningCurves: grouping of the numbers, redraw interval, validation-only epochs, checkpoint state."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from callbacks import LearningCurves
from callbacks.learning_curves import _get_learning_curve_info
from tests.callbacks.conftest import tiny_fit


def test_train_and_val_of_a_metric_share_a_panel_and_lr_comes_last():
    history = [{"epoch": e, "train/loss": 1.0 / (e + 1), "val/loss": 1.2 / (e + 1), "val/acc": 0.5 + e / 10, "lr": 0.1 / (e + 1)} for e in range(3)]
    info = _get_learning_curve_info(history)
    assert [p.title for p in info.panels] == ["loss", "acc", "learning rate"]
    assert set(info.panels[0].series) == {"train/loss", "val/loss"}
    epochs, values = info.panels[0].series["val/loss"]
    assert epochs == [0, 1, 2] and values == pytest.approx([1.2, 0.6, 0.4])
    assert info.panels[2].log_scale and info.epochs == 3


class _SeesPlot(L.Callback):
    """Notes, at each epoch end (after LearningCurves), whether the figure exists yet."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.seen.append((Path(trainer.log_dir) / "plots/learning_curves.png").is_file())


def test_redrawn_every_n_epochs_and_history_kept_in_checkpoints(plain_cwd: Path):
    curves, probe = LearningCurves(every_n_epochs=2, max_time_share=None, strict=True), _SeesPlot()
    checkpoint = ModelCheckpoint(dirpath=plain_cwd / "ckpt", save_last=True, save_on_train_epoch_end=True)
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [curves, probe, checkpoint], epochs=3, test=False, enable_checkpointing=True, check_val_every_n_epoch=2)
    assert probe.seen == [False, True, True]
    table = pd.read_csv(Path(trainer.log_dir) / "plots/learning_curves.csv")
    assert table["epoch"].tolist() == [0, 1, 2]
    assert table["val_loss"].isna().tolist() == [True, False, True]  # validation ran in epoch 1 only
    assert table["lr"].tolist() == [0.02, 0.01, 0.005]
    state = torch.load(checkpoint.last_model_path, weights_only=True)["callbacks"]
    (saved,) = [v for k, v in state.items() if k.startswith("LearningCurves")]
    assert [row["epoch"] for row in saved["history"]] == [0, 1, 2]


def test_interim_redraws_are_skipped_while_they_would_cost_over_the_time_share(plain_cwd: Path):
    probe = _SeesPlot()
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [LearningCurves(every_n_epochs=1, max_time_share=0.02), probe], epochs=2, test=False)
    assert probe.seen == [False, False]  # a ~1 s fit cannot afford a ~0.5 s redraw at 2 %
    assert (Path(trainer.log_dir) / "plots/learning_curves.png").is_file()  # the final figure is always drawn


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_n_epochs": -1}, r"`every_n_epochs` must be an int >= 0 \(0 = only at the end\), got -1"),
        ({"max_time_share": 0}, r"`max_time_share` must be in \(0, 1\] or None \(never skip\), got 0"),
        ({"metrics": "loss"}, r"`metrics` must be a list of name patterns"),
    ],
)
def test_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LearningCurves(**kwargs)
