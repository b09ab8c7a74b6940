"""python scripts/bench_training.py [--epochs 3] [--models mlp lstm gru cnn_lstm] [--batch-size 128] [--quick]

Training throughput (samples/s) of each architecture through Lightning against a plain PyTorch
loop on the same net, data and batches. The Lightning side is a bare Trainer (no logger, no
checkpoint, no progress bar, no validation) so the figure is the framework's own cost.
Target: Lightning >= 0.9x of the plain loop. Each case runs the same number of optimizer steps
after one warm-up epoch; the median of the timed epochs is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch

from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.models import NETS, TradingModule


def _datamodule(n_bars: int, window: int, batch_size: int = 128) -> BarsDataModule:
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=n_bars), window=window, batch_size=batch_size)
    dm.setup()
    return dm


def plain_loop(name: str, dm: BarsDataModule, epochs: int) -> float:
    """Seconds per epoch of a hand-written loop (the reference)."""
    torch.manual_seed(0)
    model = TradingModule(NETS[name](n_features=dm.n_features, window=dm.window))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = dm.train_dataloader()
    times = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        model.train()
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss_fn(model(x), y)
            loss.backward()
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


def lightning_loop(name: str, dm: BarsDataModule, epochs: int) -> float:
    """Seconds per epoch through a bare Lightning Trainer."""
    torch.manual_seed(0)
    model = TradingModule(NETS[name](n_features=dm.n_features, window=dm.window), scheduler="none")
    timer = _EpochTimer()
    trainer = L.Trainer(
        max_epochs=epochs + 1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=dm)
    return statistics.median(timer.times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-bars", type=int, default=3000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=sorted(NETS), choices=sorted(NETS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="1 timed epoch, 1500 bars")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.n_bars = 1, 1500
    dm = _datamodule(args.n_bars, args.window, args.batch_size)
    samples = len(dm.splits.train)
    print(f"training throughput, {samples} windows/epoch ({args.window} x {dm.n_features}), batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    print(f"{'model':<10}{'plain loop':>14}{'Lightning':>14}{'ratio':>8}  verdict (>= 0.90x)")
    for name in args.models:
        plain = plain_loop(name, dm, args.epochs)
        lightning = lightning_loop(name, dm, args.epochs)
        ratio = plain / lightning
        print(f"{name:<10}{samples / plain:>10.0f} s/s{samples / lightning:>10.0f} s/s{ratio:>7.2f}x  {'PASS' if ratio >= 0.9 else 'MISS'}")


if __name__ == "__main__":
    main()
