"""python scripts/bench_training.py [--epochs 3] [--rounds 3] [--threads N] [--models mlp lstm gru cnn_lstm] [--quick]

Training throughput (samples/s) of each architecture at its default config (`configs/<model>.yaml`:
net, window, batch size, optimizer, gradient clipping, deterministic) through tradexp, against the
loop a user would write: a plain PyTorch loop over a standard
`DataLoader(TensorDataset(windows, targets), batch_size, shuffle=True)` on the same net, data,
batch size and flags (the optimizer as a user writes it, `torch.optim.AdamW(params, lr,
weight_decay)`; tradexp's module asks torch for the fused kernel of the same update). tradexp's side is its own data path (`BarsDataModule`: one indexing call per
batch over the zero-copy window view) and its `TradingModule` under a Lightning `Trainer` without
logger, checkpointing or progress bar (what those cost is `bench_tracking.py`'s figure).
Target: tradexp >= 1.0x the plain loop for every net. Both sides run in this one process, alternating
(plain, tradexp, plain, tradexp, ... `--rounds`), the same number of optimizer steps after one
warm-up epoch; each side's fastest round (median of its timed epochs) is reported, which keeps a
neighbour's load spike on a shared machine from deciding the verdict. Each net trains on 20000 synthetic
bars (cnn_lstm on 8000, its step being ~7x an MLP's, so the suite stays in its time budget; `--n-bars` sets one size for all).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader, TensorDataset

from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.models import TradingModule

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MODELS = ("mlp", "lstm", "gru", "cnn_lstm")
BARS = 20000
# cnn_lstm's step costs ~7x an MLP's: fewer bars keep its 24 timed and warm-up epochs (both sides) near the
# others' time, so the whole suite stays within its budget on a loaded machine (~45 steps an epoch)
BARS_FOR = {"cnn_lstm": 8000}


class Case:
    """One net at its default config: data, net factory, optimizer and trainer flags."""

    def __init__(self, name: str, n_bars: int) -> None:
        config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        data, model, trainer = config["data"], config["model"], config["trainer"]
        self.name = name
        self.batch_size = int(data["batch_size"])
        self.clip = trainer.get("gradient_clip_val")
        self.deterministic = bool(trainer.get("deterministic", False))
        self.model_args = {k: model[k] for k in ("lr", "weight_decay", "optimizer") if k in model}
        module, _, cls = model["net"]["class_path"].rpartition(".")
        self.net_class = getattr(importlib.import_module(module), cls)
        self.net_args = dict(model["net"].get("init_args") or {})
        self.dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=n_bars), features=data["features"], window=int(data["window"]), batch_size=self.batch_size)
        self.dm.setup()

    def module(self) -> TradingModule:
        torch.manual_seed(0)
        net = self.net_class(n_features=self.dm.n_features, window=self.dm.window, **self.net_args)
        return TradingModule(net, scheduler="none", **self.model_args)

    def user_optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        """The optimizer as a user writes it: the config's class, lr and weight decay, torch's defaults otherwise."""
        kind = self.model_args.get("optimizer", "adamw")
        lr, decay = self.model_args.get("lr", 1e-3), self.model_args.get("weight_decay", 0.0)
        if kind == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
        return (torch.optim.Adam if kind == "adam" else torch.optim.AdamW)(model.parameters(), lr=lr, weight_decay=decay)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What a user would build for a `TensorDataset`: every training window materialised, (S, W, F)."""
        train = self.dm._datasets["train"]
        every = np.arange(len(train))
        return torch.from_numpy(train.windows(every)), torch.from_numpy(train.targets[train.positions].astype("float32"))


def plain_loop(case: Case, epochs: int) -> float:
    """Seconds per epoch of the hand-written loop over a standard DataLoader (the reference)."""
    model = case.module()
    optimizer = case.user_optimizer(model)
    loader = DataLoader(TensorDataset(*case.tensors()), batch_size=case.batch_size, shuffle=True)
    times = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        model.train()
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss_fn(model(x), y)
            loss.backward()
            if case.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), case.clip)
            optimizer.step()
        if epoch:  # epoch 0 warms up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


class _EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.times.append(time.perf_counter() - self._start)


def tradexp_loop(case: Case, epochs: int) -> float:
    """Seconds per epoch of tradexp's data path and module under a Trainer with the config's flags."""
    model = case.module()
    timer = _EpochTimer()
    trainer = L.Trainer(
        max_epochs=epochs + 1,
        accelerator="cpu",
        devices=1,
        gradient_clip_val=case.clip,
        deterministic=case.deterministic,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=case.dm)
    return statistics.median(timer.times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-bars", type=int, help=f"synthetic bars for every net (default {BARS}, ~110 steps an epoch; cnn_lstm {BARS_FOR['cnn_lstm']})")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side; the fastest counts")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: on a shared 2-core machine two threads make both sides' times noise)")
    parser.add_argument("--quick", action="store_true", help="1 timed epoch, 3000 bars, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.n_bars, args.rounds = 1, args.n_bars or 3000, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    bars = f"{args.n_bars} synthetic bars" if args.n_bars else f"{BARS} synthetic bars (cnn_lstm {BARS_FOR['cnn_lstm']})"
    print(f"training throughput at each default config, {bars}, torch threads {torch.get_num_threads()}, best of {args.rounds} alternating rounds")
    print(f"{'model':<10}{'batch':>6}{'plain loop':>14}{'tradexp':>14}{'ratio':>8}  verdict (target >= 1.00x)")
    for name in args.models:
        case = Case(name, args.n_bars or BARS_FOR.get(name, BARS))
        samples = len(case.dm.splits.train)
        torch.use_deterministic_algorithms(case.deterministic)
        plain = plain_loop(case, args.epochs)
        ours = tradexp_loop(case, args.epochs)
        for _ in range(args.rounds - 1):
            plain = min(plain, plain_loop(case, args.epochs))
            ours = min(ours, tradexp_loop(case, args.epochs))
        ratio = plain / ours
        print(
            f"{name:<10}{case.batch_size:>6}{samples / plain:>10.0f} s/s{samples / ours:>10.0f} s/s{ratio:>7.2f}x  "
            f"{'PASS' if ratio >= 1.0 else 'MISS'}  target: tradexp {name} >= 1.00x a plain DataLoader loop"
        )


if __name__ == "__main__":
    main()
