"""ArchitectureSummary: the per-layer numbers, the diagram's boxes, the input it chooses."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torchinfo import summary

from callbacks import ArchitectureSummary
from callbacks.architecture import _get_architecture_info, _get_diagram_info
from tests.callbacks.tiny import TinyClassifier


def _info(model: TinyClassifier):
    stats = summary(model, input_data=[torch.zeros(5, 6, 4)], depth=4, mode="eval", verbose=0)
    return _get_architecture_info(stats, model, [5, 6, 4], "test")


def test_layer_rows_have_real_shapes_and_counts():
    model = TinyClassifier()
    info = _info(model)
    rows = {row.name: row for row in info.layers}
    assert rows["net.1"].type == "Linear" and rows["net.1"].output_shape == [5, 16] and rows["net.1"].params == 24 * 16 + 16
    assert rows["net.0"].output_shape == [5, 24]  # Flatten (5, 6, 4) -> (5, 24)
    assert info.total_params == info.trainable_params == sum(p.numel() for p in model.parameters())
    assert info.output_shape == [5]
    assert info.mult_adds == 5 * (24 * 16 + 16 + 16 * 1 + 1)  # per sample: weights and biases of both Linears


def test_diagram_boxes_follow_execution_order_and_cap():
    info = _info(TinyClassifier())
    diagram = _get_diagram_info(info, depth=4, max_boxes=30)
    assert [title for title, _ in diagram.boxes] == ["input", "net.0: Flatten", "net.1: Linear", "net.2: ReLU", "net.3: Linear", "output"]
    assert diagram.hidden == 0
    capped = _get_diagram_info(info, depth=4, max_boxes=2)
    assert capped.hidden == 2 and [t for t, _ in capped.boxes] == ["input", "net.0: Flatten", "net.3: Linear", "output"]


def test_given_input_shape_is_used_and_training_mode_is_kept(tmp_path: Path):
    model = TinyClassifier()
    model.net[2].eval()  # a sub-module the user froze in eval mode must stay so
    trainer = L.Trainer(logger=CSVLogger(tmp_path), default_root_dir=str(tmp_path), enable_progress_bar=False)
    callback = ArchitectureSummary(input_shape=[3, 6, 4], strict=True)
    callback.setup(trainer, model, "fit")
    callback.on_train_start(trainer, model)
    folder = Path(trainer.log_dir) / "model"
    assert (folder / "summary.txt").read_text().startswith("# input [3, 6, 4] (input_shape argument)")
    assert json.loads((folder / "architecture.json").read_text())["layers"][0]["output_shape"] == [3, 1]
    assert model.training and model.net[1].training and not model.net[2].training


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": [32, 0, 9]}, r"`input_shape` must be a list of positive ints such as \[32, 64, 9\], got \[32, 0, 9\]"),
        ({"depth": 0}, r"`depth` must be an int >= 1, got 0"),
        ({"max_boxes": 1}, r"`max_boxes` must be an int >= 2, got 1"),
    ],
)
def test_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArchitectureSummary(**kwargs)
