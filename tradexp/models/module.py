"""One LightningModule for every net: loss, metrics, optimizer and scheduler live here once."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any, Literal, Optional

import lightning as L
import torch
import torchmetrics
from torch import nn
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC, BinaryF1Score, BinaryRecall, BinarySpecificity
from torchmetrics.regression import MeanAbsoluteError, MeanSquaredError

from tradexp.errors import ConfigError
from tradexp.models.nets import NETS
from tradexp.models.symbol_embedding import SymbolEmbedding
from tradexp.ranges import LearningRate, NonNegativeFloat, PositiveFloat, PositiveInt, check_ranges, plain

__all__ = ["TradingModule", "DirectionalAccuracy", "load_trading_module", "net_name", "net_class_name", "net_class_paths", "net_spec"]


def net_class_name(net_class: type) -> str:
    """Short model name of a net class (`mlp`, `lstm`, `gru`, `cnn_lstm`), else the class name."""
    for name, cls in NETS.items():
        if net_class is cls:
            return name
    return net_class.__name__


def net_name(net: nn.Module) -> str:
    """Short model name (`mlp`, `lstm`, `gru`, `cnn_lstm`) or the class name for other nets."""
    return net_class_name(type(net))


def net_class_paths(net_class: type) -> tuple[str, str]:
    """How a config names the class (`tradexp.models.MLPNet`: its package when that re-exports it, as
    jsonargparse prints it), then its defining module's path (`tradexp.models.nets.MLPNet`)."""
    full = f"{net_class.__module__}.{net_class.__qualname__}"
    package = net_class.__module__.rpartition(".")[0]
    exported = package and getattr(sys.modules.get(package), net_class.__name__, None) is net_class
    return (f"{package}.{net_class.__qualname__}" if exported else full), full


def net_spec(net: nn.Module) -> dict[str, Any]:
    """`{"class_path", "init_args"}` of a net, as `model.net` is written in a config: the checkpoint's
    hyperparameters hold it so LightningCLI can parse them back (`--ckpt_path FILE`)."""
    return {"class_path": net_class_paths(type(net))[0], "init_args": dict(getattr(net, "init_args", {}))}


class DirectionalAccuracy(torchmetrics.Metric):
    """Share of samples whose predicted and actual value have the same sign (regression)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_state("correct", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.correct += (torch.sign(preds) == torch.sign(target)).float().sum()
        self.total += target.numel()

    def compute(self) -> torch.Tensor:
        return self.correct / self.total.clamp(min=1)


def _metrics(task: str, prefix: str) -> torchmetrics.MetricCollection:
    if task == "classification":
        metrics = {
            "acc": BinaryAccuracy(),
            "balanced_acc": (BinaryRecall() + BinarySpecificity()) / 2,  # mean of the true-positive and true-negative rates
            "f1": BinaryF1Score(),
            "auroc": BinaryAUROC(),
        }
    else:
        metrics = {"mse": MeanSquaredError(), "mae": MeanAbsoluteError(), "dir_acc": DirectionalAccuracy()}
    return torchmetrics.MetricCollection(metrics, prefix=prefix)


class TradingModule(L.LightningModule):
    """Trains any net on windows for direction classification or return regression.

    Logs `train/loss` and `val/loss` every epoch, plus `val/*` and `test/*` metrics: `acc`,
    `balanced_acc`, `f1`, `auroc` (classification) or `mse`, `mae`, `dir_acc` (regression).
    `validation_step` and `test_step` return `{"preds", "target"}` (probability of up, or the
    predicted return) so generic callbacks can collect predictions.

    With `symbol_embedding: N` (a universe only) a `SymbolEmbedding` appends a learned vector of the
    sample's symbol to every bar before the net, so the net takes `n_features = features + N`
    (linked by the CLI); batches are then `(x, y, symbol_id)` (the datamodule is asked for them in `setup`).

    Args:
        net: The architecture, an `nn.Module` mapping (B, W, F) to (B,).
        task: `classification` or `regression` (set from the data).
        lr: Learning rate, in (0, 1].
        weight_decay: L2 penalty (decoupled for AdamW), >= 0.
        optimizer: `adamw`, `adam` or `sgd` (momentum 0.9).
        scheduler: `none`, `cosine` (to zero over max_epochs) or `plateau` (halve on flat val/loss).
        pos_weight: Classification: weight of the up class in the loss (1 = none), > 0.
        symbol_embedding: A universe: width N of a learned per-symbol vector appended to every bar
            (null = off).
        symbols: The universe's symbols the embedding was built for (set from the data in `setup` and
            recorded in the checkpoint; leave null).
    """

    def __init__(
        self,
        net: nn.Module,
        task: Literal["classification", "regression"] = "classification",
        lr: LearningRate = 1e-3,
        weight_decay: NonNegativeFloat = 0.0,
        optimizer: Literal["adamw", "adam", "sgd"] = "adamw",
        scheduler: Literal["none", "cosine", "plateau"] = "none",
        pos_weight: PositiveFloat = 1.0,
        symbol_embedding: Optional[PositiveInt] = None,
        symbols: Optional[list[str]] = None,
    ) -> None:
        check_ranges(TradingModule.__init__, locals(), "model.")
        if symbol_embedding is not None and (isinstance(symbol_embedding, bool) or not isinstance(symbol_embedding, int)):
            raise ValueError(f"`model.symbol_embedding` must be a whole number >= 1 (the vector width) or null, got {symbol_embedding!r}")
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.hparams.update(plain(dict(self.hparams)))  # parsed values are PositiveInt & co.: plain for weights_only
        # Plain types only, so checkpoints load with `weights_only=True` and can rebuild the net.
        self.hparams["net"] = net_spec(net)
        self.net = net
        self.task = task
        self.symbol_encoder: Optional[SymbolEmbedding] = None
        if symbol_embedding is not None and symbols is not None:
            self._build_symbol_encoder(symbols)
        if task == "classification":
            self.loss_fn: nn.Module = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
        else:
            self.loss_fn = nn.MSELoss()
        self._train_loss_sum, self._train_samples = torch.zeros(()), 0
        self.val_metrics = _metrics(task, "val/")
        self.test_metrics = _metrics(task, "test/")

    # Plain attributes set on every step: Lightning names the running hook in `_current_fx_name`
    # before and after each hook (~40 times a step), and the epoch's loss sum is updated. nn.Module's
    # `__setattr__` looks each name up among parameters, submodules and buffers (~1.5 us, 2-3 % of
    # a small net's CPU step); these names are never any of those, so they are set directly.
    _PLAIN_ATTRIBUTES = frozenset({"_current_fx_name", "_train_loss_sum", "_train_samples"})

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TradingModule._PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def _build_symbol_encoder(self, symbols: list[str]) -> None:
        self.symbol_encoder = SymbolEmbedding(symbols, int(self.hparams.symbol_embedding))
        self.hparams["symbols"] = list(self.symbol_encoder.symbols)  # in the checkpoint: the reload rebuilds it

    def setup(self, stage: str) -> None:
        """With `symbol_embedding`: build it from the datamodule's symbols (once) and ask for symbol ids in the batches.

        Raises:
            ConfigError: For a single series, or a universe other than the one a restored embedding was built for.
        """
        if self.hparams.symbol_embedding is None:
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        symbols = getattr(datamodule, "symbols", None)
        if symbols is None:
            raise ConfigError(
                f"`model.symbol_embedding` ({self.hparams.symbol_embedding}) needs a universe (a folder, glob or long file of "
                "symbols, or `data.synthetic.n_symbols` > 1); this data is a single series: set it to null"
            )
        width, needed = dict(getattr(self.net, "init_args", {})).get("n_features"), datamodule.n_features + self.hparams.symbol_embedding
        if width is not None and width != needed:
            raise ConfigError(
                f"`model.symbol_embedding` {self.hparams.symbol_embedding} needs `model.net.init_args.n_features` = "
                f"{datamodule.n_features} features + {self.hparams.symbol_embedding} = {needed}, got {width} (the CLI links it)"
            )
        if self.symbol_encoder is None:
            self._build_symbol_encoder(list(symbols))
        elif list(symbols) != self.symbol_encoder.symbols:
            raise ConfigError(f"`model.symbol_embedding` was built for symbols {self.symbol_encoder.symbols}; the data has {list(symbols)}")
        # what summaries run the model on (its forward takes the symbol ids too): two windows of the first symbol
        self.example_input_array = (torch.zeros(2, datamodule.window, datamodule.n_features), torch.zeros(2, dtype=torch.int64))
        datamodule.include_symbol_ids()

    def forward(self, x: torch.Tensor, symbol_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Raw output (B,): a logit for classification, a return for regression.

        Args:
            x: Windows (B, W, F).
            symbol_ids: (B,) ids into `hparams.symbols`; required with a symbol embedding, else ignored.
        """
        if self.symbol_encoder is not None:
            if symbol_ids is None:
                raise ValueError(f"this model has a symbol embedding: pass the symbol ids (B,) of the windows (symbols {self.symbol_encoder.symbols})")
            x = self.symbol_encoder(x, symbol_ids)  # (B, W, F) -> (B, W, F + N)
        elif self.hparams.symbol_embedding is not None:
            raise RuntimeError("`model.symbol_embedding` is set but not built yet: it is built from the datamodule's symbols in `setup`")
        return self.net(x)

    def predict_scores(self, x: torch.Tensor, symbol_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Probability of an up move (classification) or the predicted return (regression), (B,)."""
        out = self(x, symbol_ids)
        return torch.sigmoid(out) if self.task == "classification" else out

    def _step(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y, *rest = batch  # (x, y) or (x, y, symbol_id)
        out = self(x, rest[0] if rest else None)
        return self.loss_fn(out, y), out, y

    def on_train_start(self) -> None:
        # A resumed fit restores the scheduler with the T_max of the first run; stretch the cosine
        # to the current `max_epochs` so raising it on resume does not restart the learning rate.
        if self.hparams.scheduler == "cosine":
            for config in self.trainer.lr_scheduler_configs:
                if isinstance(config.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
                    config.scheduler.T_max = max(int(self.trainer.max_epochs or 1), 1)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, _, y = self._step(batch)
        # Summed here and logged once per epoch: `self.log` on every step costs ~0.5 ms, as much as
        # a small net's whole step on a CPU. (A fit resumed mid-epoch starts without an epoch-start
        # hook, so the sum is reset after each epoch's log rather than at the start.)
        self._train_loss_sum = self._train_loss_sum + loss.detach() * len(y)
        self._train_samples += len(y)
        return loss

    def on_train_epoch_end(self) -> None:
        if self._train_samples:
            self.log("train/loss", self._train_loss_sum / self._train_samples, sync_dist=True)
        self._train_loss_sum, self._train_samples = torch.zeros(()), 0

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str, metrics: torchmetrics.MetricCollection) -> dict[str, torch.Tensor]:
        loss, out, y = self._step(batch)
        preds = torch.sigmoid(out) if self.task == "classification" else out
        target = y.long() if self.task == "classification" else y
        metrics.update(preds, target)
        # sync_dist: under DDP each rank holds a shard of the split; without it the logged (and monitored)
        # loss is rank 0's shard only
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        return {"loss": loss, "preds": preds.detach(), "target": y.detach()}

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._eval_step(batch, "val", self.val_metrics)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute())
        self.val_metrics.reset()

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._eval_step(batch, "test", self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def predict_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        if isinstance(batch, (tuple, list)):
            return self.predict_scores(batch[0], batch[2] if len(batch) > 2 else None)
        return self.predict_scores(batch)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        # One fused kernel per step instead of a Python loop over the parameters (same update rule):
        # ~0.15 ms a step saved on a CPU, as much as a small net's optimizer step costs.
        fused = {"fused": True} if all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in self.parameters()) else {}
        if hp.optimizer == "sgd":
            optimizer = torch.optim.SGD(self.parameters(), lr=hp.lr, momentum=0.9, weight_decay=hp.weight_decay)
        elif hp.optimizer == "adam":
            optimizer = torch.optim.Adam(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay, **fused)
        else:
            optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay, **fused)
        if hp.scheduler == "cosine":
            epochs = max(int(self.trainer.max_epochs or 1), 1)
            return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)}
        if hp.scheduler == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": plateau, "monitor": "val/loss"}}
        return optimizer


def load_trading_module(checkpoint_path: str | Path, map_location: Optional[str] = "cpu") -> TradingModule:
    """Rebuild a TradingModule and its net from a checkpoint, loading with `weights_only=True`.

    Only the nets tradexp ships (`NETS`) can be rebuilt: a checkpoint cannot name arbitrary code.

    Raises:
        ValueError: When the checkpoint names an unknown net.
    """
    checkpoint = torch.load(checkpoint_path, map_location=map_location, weights_only=True)
    spec = checkpoint["hyper_parameters"]["net"]
    by_path = {path: name for name, cls in NETS.items() for path in net_class_paths(cls)}
    name = spec.get("name") or by_path.get(spec.get("class_path"), spec.get("class_path"))  # `name`: older checkpoints
    if name not in NETS:
        raise ValueError(f"checkpoint `{checkpoint_path}` names net `{name}`; known: {sorted(NETS)}")
    net = NETS[name](**spec["init_args"])
    accepted = set(inspect.signature(TradingModule.__init__).parameters) - {"self", "net"}
    hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if k in accepted}
    module = TradingModule(net=net, **hparams)  # `symbols` rebuilds a symbol embedding before the weights load
    module.load_state_dict(checkpoint["state_dict"])
    module.eval()
    return module
