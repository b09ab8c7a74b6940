"""python scripts/train.py --model lstm --epochs 5 [--data prices.csv] [--window 32] [--lr 1e-3]

The same fit as `tradexp fit`, assembled in plain Python (Trainer, model, datamodule, logger,
callbacks) for users who do not want LightningCLI: read it top to bottom to see every piece.
"""

from __future__ import annotations

import argparse
import sys

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from tradexp.callback_defaults import default_callbacks
from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.errors import TradexpError
from tradexp.models import NETS, TradingModule
from tradexp.tracking import RunIdentity, RunRecorder, TradexpLogger, experiment_name, identity_tags, run_name
from tradexp.console import print_fit_summary
from tradexp.training import test_best_checkpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", choices=sorted(NETS), default="lstm", help="architecture")
    parser.add_argument("--data", default=None, help="CSV/Parquet of OHLCV bars; default: the synthetic market")
    parser.add_argument("--epochs", type=int, default=10, help="max epochs")
    parser.add_argument("--window", type=int, default=32, help="bars per window")
    parser.add_argument("--horizon", type=int, default=1, help="label horizon in bars")
    parser.add_argument("--task", choices=["classification", "regression"], default="classification")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-bars", type=int, default=3000, help="synthetic market length")
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--devices", default="auto")
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--no-mlflow", action="store_true", help="train without recording a run")
    parser.add_argument("--no-callbacks", action="store_true", help="leave out the reporting callbacks")
    parser.add_argument("--purpose", default="script")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    L.seed_everything(args.seed, workers=True)
    datamodule = BarsDataModule(
        path=args.data, synthetic=SyntheticMarket(n_bars=args.n_bars), window=args.window, horizon=args.horizon, task=args.task, batch_size=args.batch_size, seed=args.seed
    )
    net = NETS[args.model](n_features=datamodule.n_features, window=args.window)
    model = TradingModule(net=net, task=args.task, lr=args.lr)

    callbacks: list = [
        ModelCheckpoint(monitor="val/loss", mode="min", save_last=True, filename="epoch{epoch:03d}-step{step}", auto_insert_metric_name=False, save_on_exception=True)
    ]
    if not args.no_callbacks:
        callbacks += default_callbacks()
    logger = False
    if not args.no_mlflow:
        identity = RunIdentity(model=args.model, dataset=datamodule.dataset_name, purpose=args.purpose)
        tags = identity_tags(identity)
        logger = TradexpLogger(experiment_name=experiment_name(identity), run_name=run_name(identity), tags=tags)
        logger.log_hyperparams({"script": vars(args)})
        callbacks.append(RunRecorder(tags=tags))

    trainer = L.Trainer(
        max_epochs=args.epochs,
        accelerator=args.accelerator,
        devices=args.devices,
        strategy=args.strategy,
        logger=logger,
        callbacks=callbacks,
        deterministic=True,
        gradient_clip_val=1.0,
    )
    trainer.fit(model, datamodule=datamodule)
    test_best_checkpoint(trainer, model, datamodule)
    print_fit_summary(trainer)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (TradexpError, ValueError) as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        sys.exit(2)
