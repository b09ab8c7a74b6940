"""python scripts/bench_tracking.py [--epochs 5] [--n-bars 3000] [--quick]

What tracking costs a training run. The same LSTM fit (same data, epochs, batches, seed) five ways:
a plain PyTorch loop, bare Lightning, Lightning with its own `MLFlowLogger`, bare Lightning under
`mlflow.pytorch.autolog()`, and tradexp (`tradexp.api.fit`: TradexpLogger, config, recorder and all
default callbacks). Every Lightning case has the same Trainer flags: Lightning's default
checkpointing (a checkpoint each epoch; tradexp keeps best + last), `deterministic=False` (tradexp's
configs turn it on for bit-exact reproduction, which costs ~15 % on these small LSTM epochs, tracking
or not), no gradient clipping, no progress bar. Per-epoch time is the median of the epochs after the first (train + validation
+ logging + per-epoch callback work); the fixed cost is wall time minus the epochs (set-up, end-of-
fit plots, reports, artifacts). Then the cost of logging itself on a sqlite store: one `log_metric`
per metric vs one `log_batch` per step, and asynchronous logging on/off.

Targets (2 cores, CPU): tradexp per epoch within 1.10x of bare Lightning and no slower than
MLFlowLogger or autolog; Lightning >= 0.9x of the plain loop.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

from _bench_common import bench_args

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "lstm.yaml"


class EpochClock(L.Callback):
    """Times from one epoch start to the next (train + validation + logging + callbacks)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.end = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer, pl_module) -> None:
        self.end = time.perf_counter()

    def epoch_times(self) -> list[float]:
        marks = [*self.starts, self.end]
        return [b - a for a, b in zip(marks, marks[1:])]


def _data(n_bars: int):
    from tradexp.data import BarsDataModule, SyntheticMarket

    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=n_bars), window=32, batch_size=128)
    dm.setup()
    return dm


def _module(dm):
    from tradexp.models import LSTMNet, TradingModule

    torch.manual_seed(0)
    return TradingModule(LSTMNet(n_features=dm.n_features, window=dm.window), scheduler="none")


def plain_loop(dm, epochs: int) -> tuple[float, float]:
    model = _module(dm)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for x, y in dm.train_dataloader():
            optimizer.zero_grad(set_to_none=True)
            model.loss_fn(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for x, y in dm.val_dataloader():
                model.loss_fn(model(x), y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:]), time.perf_counter() - start - sum(times)


def lightning_fit(dm, epochs: int, logger=False, root: str = ".") -> tuple[float, float]:
    model = _module(dm)
    clock = EpochClock()
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        enable_checkpointing=True,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[clock],
        default_root_dir=root,
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    epochs_s = clock.epoch_times()
    return statistics.median(epochs_s[1:]), time.perf_counter() - start - sum(epochs_s)


def tradexp_fit(epochs: int, n_bars: int) -> tuple[float, float]:
    from tradexp.api import fit

    clock = EpochClock()
    start = time.perf_counter()
    fit(
        CONFIG,
        {
            "trainer.max_epochs": epochs,
            "trainer.enable_progress_bar": False,
            "trainer.enable_model_summary": False,
            "trainer.num_sanity_val_steps": 0,
            "data.synthetic.n_bars": n_bars,
            "model.scheduler": "none",
            "data.batch_size": 128,
            "trainer.gradient_clip_val": None,
            "trainer.deterministic": False,
        },
        callbacks=[clock],
    )
    epochs_s = clock.epoch_times()
    return statistics.median(epochs_s[1:]), time.perf_counter() - start - sum(epochs_s)


def logging_cost(steps: int, metrics: int, uri: str) -> dict[str, float]:
    """Seconds per logging step: `log_metric` per metric, `log_batch` per step, and async `log_batch`."""
    import mlflow
    from mlflow.entities import Metric

    from tradexp.tracking.store import open_store

    client = open_store(uri)
    experiment = client.create_experiment(f"bench-{time.time_ns()}")
    out = {}
    for mode in ("log_metric", "log_batch", "log_batch_async"):
        run = client.create_run(experiment).info.run_id
        start = time.perf_counter()
        for step in range(steps):
            values = [Metric(f"m{i}", float(step + i), int(time.time() * 1000), step) for i in range(metrics)]
            if mode == "log_metric":
                for m in values:
                    client.log_metric(run, m.key, m.value, m.timestamp, m.step)
            else:
                client.log_batch(run, metrics=values, synchronous=mode == "log_batch")
        if mode == "log_batch_async":
            mlflow.flush_async_logging()
        out[mode] = (time.perf_counter() - start) / steps
        assert len(client.get_metric_history(run, "m0")) == steps  # nothing lost
        client.set_terminated(run)
    return out


def main() -> None:
    args = bench_args(__doc__, {"epochs": 3, "n_bars": 1500}, "3 epochs on 1500 bars, fewer logging steps", epochs=5, n_bars=3000)
    work = tempfile.mkdtemp(prefix="tradexp-bench-")
    os.chdir(work)
    uri = f"sqlite:///{work}/mlflow.db"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    from lightning.pytorch.loggers import MLFlowLogger

    from tradexp.tracking.store import open_store

    open_store(uri)  # migrate once, outside every timing
    dm = _data(args.n_bars)
    rows = {}
    rows["plain PyTorch loop"] = plain_loop(dm, args.epochs)
    rows["bare Lightning"] = lightning_fit(dm, args.epochs, root=work)
    rows["Lightning + MLFlowLogger"] = lightning_fit(dm, args.epochs, MLFlowLogger(tracking_uri=uri, experiment_name="bench-mlflowlogger"), work)
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-autolog")
    mlflow.pytorch.autolog(log_models=True, silent=True)
    rows["Lightning + mlflow autolog"] = lightning_fit(dm, args.epochs, root=work)
    mlflow.pytorch.autolog(disable=True)
    if mlflow.active_run():
        mlflow.end_run()
    rows["tradexp, all callbacks"] = tradexp_fit(args.epochs, args.n_bars)

    bare = rows["bare Lightning"][0]
    print(f"\nsame LSTM fit, {args.epochs} epochs, {len(dm.splits.train)} train windows, 2 cores; command: python scripts/bench_tracking.py{' --quick' if args.quick else ''}")
    print(f"{'case':<30}{'s/epoch':>9}{'vs bare':>9}{'fixed s':>9}   (fixed = wall - epochs: set-up + end of fit)")
    for name, (per_epoch, fixed) in rows.items():
        print(f"{name:<30}{per_epoch:>9.3f}{per_epoch / bare:>8.2f}x{fixed:>9.2f}")
    tradexp_epoch = rows["tradexp, all callbacks"][0]
    checks = [
        ("tradexp within 1.10x of bare Lightning per epoch", tradexp_epoch <= 1.10 * bare),
        ("tradexp no slower than MLFlowLogger per epoch", tradexp_epoch <= rows["Lightning + MLFlowLogger"][0] * 1.02),
        ("tradexp no slower than autolog per epoch", tradexp_epoch <= rows["Lightning + mlflow autolog"][0] * 1.02),
        ("Lightning >= 0.9x of the plain loop", rows["plain PyTorch loop"][0] / bare >= 0.9),
    ]
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")

    steps = 50 if args.quick else 200
    cost = logging_cost(steps, 20, uri)
    print(f"\nlogging cost on sqlite, {steps} steps x 20 metrics (ms per step)")
    for mode, seconds in cost.items():
        print(f"  {mode:<18}{seconds * 1000:>8.1f} ms   ({cost['log_metric'] / seconds:.1f}x faster than log_metric)")


if __name__ == "__main__":
    main()
