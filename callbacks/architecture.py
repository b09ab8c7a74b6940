"""`ArchitectureSummary`: what the model is, as text (torchinfo), numbers (params) and a picture.

Writes `model/summary.txt` (layers, output shapes, parameter counts, mult-adds for the real input
shape), `model/architecture.json` (the same per layer), `model/architecture.png` (layers as boxes with
output shapes and parameter counts, drawn with matplotlib: no graphviz needed) and the params
`model.params.total`, `model.params.trainable`, `model.params.non_trainable`, `model.mult_adds`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import move_data_to_device
from matplotlib.patches import FancyBboxPatch
from torchinfo import summary
from typing_extensions import override

from callbacks._batches import first_loader, split_batch, take_batches
from callbacks._figures import subplots
from callbacks._run_output import ReportingCallback

__all__ = ["ArchitectureSummary"]


class LayerRow(NamedTuple):
    name: str  # dotted path, e.g. `net.lstm`
    type: str
    depth: int
    input_shape: list[int]
    output_shape: list[int]
    params: int
    trainable_params: int
    leaf: bool
    executed: bool


class ArchitectureInfo(NamedTuple):
    model: str
    input_shape: list[int]
    input_source: str
    output_shape: list[int]
    total_params: int
    trainable_params: int
    mult_adds: int
    layers: list[LayerRow]


class DiagramInfo(NamedTuple):
    boxes: list[tuple[str, str]]  # (title, detail) from input to output
    hidden: int  # layers left out to keep the picture readable


def _layer_path(layer: Any) -> str:
    names = []
    while layer is not None and layer.depth > 0:
        names.append(str(layer.var_name))
        layer = layer.parent_info
    return ".".join(reversed(names))


def _shape(size: Any) -> list[int]:
    if isinstance(size, (list, tuple)) and size and all(isinstance(s, int) for s in size):
        return list(size)
    if isinstance(size, (list, tuple)) and size and isinstance(size[0], (list, tuple)):
        return _shape(size[0])  # several outputs (e.g. an LSTM's (out, state)): the first
    return []


def _get_architecture_info(stats: Any, model: torch.nn.Module, input_shape: list[int], input_source: str) -> ArchitectureInfo:
    """Per-layer rows and totals from a torchinfo `ModelStatistics`."""
    rows = [
        LayerRow(
            name=_layer_path(layer),
            type=layer.class_name,
            depth=int(layer.depth),
            input_shape=_shape(layer.input_size),
            output_shape=_shape(layer.output_size),
            params=int(layer.num_params),
            trainable_params=int(layer.trainable_params),
            leaf=bool(layer.is_leaf_layer),
            executed=bool(layer.executed),
        )
        for layer in stats.summary_list
        if layer.depth > 0
    ]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    output_shape = _shape(stats.summary_list[0].output_size) if stats.summary_list else []
    return ArchitectureInfo(type(model).__name__, input_shape, input_source, output_shape, total, trainable, int(stats.total_mult_adds), rows)


def _get_diagram_info(info: ArchitectureInfo, depth: int, max_boxes: int) -> DiagramInfo:
    """Boxes in execution order: executed layers that are leaves or sit at the depth limit."""
    shown = [r for r in info.layers if r.executed and r.depth <= depth and (r.leaf or r.depth == depth)]
    hidden = max(0, len(shown) - max_boxes)
    if hidden:
        shown = shown[: max_boxes - 1] + shown[-1:]
    boxes = [("input", f"{info.input_shape}  ({info.input_source})")]
    for row in shown:
        boxes.append((f"{row.name}: {row.type}", f"out {row.output_shape}   {row.params:,} params"))
    boxes.append(("output", f"{info.output_shape}   {info.total_params:,} params in total, {info.trainable_params:,} trainable"))
    return DiagramInfo(boxes, hidden)


def _draw_diagram(diagram: DiagramInfo, title: str) -> Any:
    n = len(diagram.boxes)
    fig, ax = subplots(figsize=(7.5, 0.9 + 0.85 * n))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.6, n - 0.2)
    ax.axis("off")
    for i, (name, detail) in enumerate(diagram.boxes):
        y = n - 1 - i
        edge = i in (0, n - 1)
        color = "#e8eef7" if edge else "#fdf3e1"
        ax.add_patch(FancyBboxPatch((1.0, y - 0.3), 8.0, 0.6, boxstyle="round,pad=0.02,rounding_size=0.12", fc=color, ec="#33475b", lw=1.2))
        ax.text(5, y + 0.09, name, ha="center", va="center", fontsize=10, weight="bold")
        ax.text(5, y - 0.15, detail, ha="center", va="center", fontsize=8.5, color="#333333")
        if i < n - 1:
            ax.annotate("", xy=(5, y - 0.55), xytext=(5, y - 0.31), arrowprops={"arrowstyle": "-|>", "color": "#33475b", "lw": 1.2})
    if diagram.hidden:
        ax.text(9.6, 0.5, f"{diagram.hidden} more layers\nin summary.txt", ha="right", fontsize=8, color="#aa3333")
    ax.set_title(title, fontsize=11)
    return fig


class ArchitectureSummary(ReportingCallback):
    """Summarises the model for its real input shape when training starts (once per run).

    The input comes from `input_shape` if given, else the module's `example_input_array`, else the
    inputs of one training batch (fetched without disturbing the random state). Runs on global rank
    zero only; the summary's forward pass is made in eval mode under `no_grad`.

    Args:
        input_shape: Shape of one input batch, e.g. `[32, 64, 9]`; default: taken from the data.
        depth: Nesting depth shown in the summary and the diagram (>= 1).
        max_boxes: At most this many layer boxes in the diagram (>= 2); the rest are named in text.
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(self, input_shape: Optional[Sequence[int]] = None, depth: int = 4, max_boxes: int = 30, strict: bool = False) -> None:
        super().__init__(strict=strict)
        if input_shape is not None and (not input_shape or any(not isinstance(s, int) or s < 1 for s in input_shape)):
            raise ValueError(f"`input_shape` must be a list of positive ints such as [32, 64, 9], got {input_shape!r}")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"`depth` must be an int >= 1, got {depth!r}")
        if not isinstance(max_boxes, int) or max_boxes < 2:
            raise ValueError(f"`max_boxes` must be an int >= 2, got {max_boxes!r}")
        self.input_shape = list(input_shape) if input_shape is not None else None
        self.depth = depth
        self.max_boxes = max_boxes
        self._done: set[str] = set()

    @override
    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._summarize(trainer, pl_module, "on_train_start", trainer.train_dataloader)

    @override
    def on_test_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._summarize(trainer, pl_module, "on_test_start", trainer.test_dataloaders)

    def _summarize(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", hook: str, loaders: Any) -> None:
        if not trainer.is_global_zero or self.output is None or self.output.key in self._done:
            return
        with self.reporting_errors(trainer, hook):
            self._done.add(self.output.key)
            example, source = self._example_input(pl_module, loaders)
            modes = {module: module.training for module in pl_module.modules()}
            try:
                stats = summary(
                    pl_module,
                    input_data=[example] if isinstance(example, torch.Tensor) else example,
                    depth=self.depth,
                    device=pl_module.device,
                    mode="eval",
                    verbose=0,
                    col_names=("input_size", "output_size", "num_params", "mult_adds", "trainable"),
                    row_settings=("var_names",),
                )
            finally:
                for module, training in modes.items():
                    module.training = training  # torchinfo restores one mode for all; keep each module's own
            shape = list(example.shape) if isinstance(example, torch.Tensor) else []
            info = _get_architecture_info(stats, pl_module, shape, source)
            self.output.write_text(f"# input {shape} ({source})\n{stats}\n", "model/summary.txt")
            self.output.write_text(json.dumps({**info._asdict(), "layers": [r._asdict() for r in info.layers]}, indent=2), "model/architecture.json")
            self.output.log_params(
                {
                    "model.params.total": info.total_params,
                    "model.params.trainable": info.trainable_params,
                    "model.params.non_trainable": info.total_params - info.trainable_params,
                    "model.mult_adds": info.mult_adds,
                }
            )
            top = [r.type for r in info.layers if r.depth == 1 and r.executed]
            title = f"{info.model} ({top[0]}) architecture" if len(top) == 1 else f"{info.model} architecture"
            fig = _draw_diagram(_get_diagram_info(info, self.depth, self.max_boxes), title)
            self.output.write_figure(fig, "model/architecture.png")

    def _example_input(self, pl_module: "pl.LightningModule", loaders: Any) -> tuple[Any, str]:
        if self.input_shape is not None:
            return torch.zeros(self.input_shape, device=pl_module.device), "input_shape argument"
        if pl_module.example_input_array is not None:
            return move_data_to_device(pl_module.example_input_array, pl_module.device), "example_input_array"
        loader = first_loader(loaders)
        batches = take_batches(loader, 1) if loader is not None else []
        if not batches:
            raise RuntimeError("no input to summarise: give `input_shape`, set `example_input_array` or provide a non-empty dataloader")
        inputs, _ = split_batch(batches[0])
        return move_data_to_device(inputs, pl_module.device), "one training batch" if loaders is not None else "one batch"
