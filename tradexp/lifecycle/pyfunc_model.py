"""`TradexpPyfuncModel`: the `python_function` model every tradexp fit logs (models from code).

MLflow loads it by running `model_code.py` (which only calls `mlflow.models.set_model`), then
`load_context` reads the model folder: the artifact `pipeline.json` (the `BarPipeline`) and the
artifact `weights.pt`, a plain state dict loaded with `torch.load(..., weights_only=True)`. Nothing
is unpickled; the code that runs is the installed tradexp.

    model = mlflow.pyfunc.load_model("models:/spy-mlp@champion")
    signals = model.predict(bars)          # timestamp, pred, position
    signals = model.predict(long_bars)     # a universe's model: one frame with a `symbol` column in and out
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import mlflow.pyfunc
import pandas as pd
import torch

from tradexp.lifecycle.pipeline import BarPipeline

__all__ = ["TradexpPyfuncModel", "build_module", "WEIGHTS_ARTIFACT", "PIPELINE_ARTIFACT", "SYMBOL_ENCODER_PREFIX", "read_spec"]

WEIGHTS_ARTIFACT = "weights"  # artifact key of the net's state dict (`weights.pt`)
SYMBOL_ENCODER_PREFIX = "symbol_encoder."  # keys of a symbol embedding's weights in `weights.pt` (beside the net's)
PIPELINE_ARTIFACT = "pipeline"  # artifact key of `pipeline.json`: the BarPipeline and the backtest's test values


def build_module(pipeline: BarPipeline, state_dict: Optional[dict] = None) -> Any:
    """The `TradingModule` the run tested, rebuilt from the pipeline's net spec (eval mode).

    Only nets of `tradexp.models.NETS` can be rebuilt: a model folder cannot name arbitrary code.

    Raises:
        ValueError: When the pipeline names an unknown net.
    """
    from tradexp.models.module import TradingModule
    from tradexp.models.nets import NETS

    name = pipeline.net["name"]
    if name not in NETS:
        raise ValueError(f"the model names net `{name}`; known: {sorted(NETS)}")
    net = NETS[name](**pipeline.net["init_args"])
    state_dict = dict(state_dict or {})
    encoder = {k[len(SYMBOL_ENCODER_PREFIX) :]: state_dict.pop(k) for k in list(state_dict) if k.startswith(SYMBOL_ENCODER_PREFIX)}
    if state_dict:
        net.load_state_dict(state_dict)
    embedding = pipeline.symbol_embedding
    module = TradingModule(net=net, task=pipeline.task, symbol_embedding=embedding, symbols=pipeline.symbols if embedding else None)
    if encoder:
        module.symbol_encoder.load_state_dict(encoder)
    return module.eval()


def read_spec(path: str) -> dict[str, Any]:
    """`pipeline.json` of a model folder: `pipeline` (BarPipeline values), `backtest` (test values)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


class TradexpPyfuncModel(mlflow.pyfunc.PythonModel):
    """Raw OHLCV bars in, one row per bar with a full window out: `timestamp`, `pred`, `position`.

    A universe's model takes one long frame with a `symbol` column and gives `symbol` first.
    """

    def __init__(self) -> None:
        self.pipeline: Optional[BarPipeline] = None
        self.module: Any = None
        self.spec: dict[str, Any] = {}
        self.artifact_paths: dict[str, str] = {}

    def load_context(self, context: Any) -> None:
        self.artifact_paths = dict(context.artifacts)  # local files of the model folder (reference data)
        self.spec = read_spec(context.artifacts[PIPELINE_ARTIFACT])
        self.pipeline = BarPipeline.from_dict(self.spec["pipeline"])
        state = torch.load(context.artifacts[WEIGHTS_ARTIFACT], map_location="cpu", weights_only=True)
        self.module = build_module(self.pipeline, state)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Optional[dict[str, Any]] = None) -> pd.DataFrame:
        """Signals of the bars (see `BarPipeline.signals`); too few bars raise one message naming how many are needed."""
        return self.pipeline.signals(model_input, self.module, source="model input")
