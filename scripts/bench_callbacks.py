"""python scripts/bench_callbacks.py [--model lstm] [--epochs 2 6] [--n-bars 3000] [--repeats 2] [--quick]

What the five reporting callbacks cost in a run: `fit` + `test` of a tradexp model on the synthetic
market, logged to a temporary MLflow sqlite store (artifacts really written), with all callbacks
against none. As in `tradexp fit`, the callbacks are told the test follows (`announce_test`), so
`EvaluationPlots` draws on the test only. Two measurements:

1. Attributed (steady): Lightning's SimpleProfiler times every callback hook. Hooks that run every
   epoch or batch (`on_train_epoch_*`, `on_validation_*`, ...) give the per-epoch overhead, as a
   share of the bare run's `run_training_epoch` time; the others (setup, train start, fit end,
   test) give the fixed cost of a run.
2. End to end (noisy): wall time of the whole fit + test at two epoch counts; the slope and
   intercept differences are the per-epoch and fixed costs. Runs are interleaved and the minimum
   over repeats is kept, but on a shared machine these figures swing by seconds.

The end of fit is the part of the fixed cost a user waits for after the last epoch: the callbacks'
`on_train_end`, `on_fit_end`, test and `teardown` hooks (`teardown` joins the figures drawn in the
callbacks' background threads, so work still running there is counted), measured on a fit as long
as the default config's (`--end-epochs 20`, 3000 bars; `--quick`: the longer of the two fits above).

Targets: per-epoch overhead under 3 %, fixed cost under 5 s, end of fit <= 2 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import lightning as L
from lightning.pytorch.profilers import SimpleProfiler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves  # noqa: E402
from tradexp.data import BarsDataModule, SyntheticMarket  # noqa: E402
from tradexp.models import NETS, TradingModule  # noqa: E402
from tradexp.tracking.logger import TradexpLogger  # noqa: E402
from tradexp.training import announce_test  # noqa: E402

from _bench_common import fresh_store  # noqa: E402

CALLBACKS = (ArchitectureSummary, EnvironmentCapture, DataDistribution, LearningCurves, EvaluationPlots)
PER_EPOCH_HOOKS = ("on_train_epoch", "on_train_batch", "on_validation", "on_before_", "on_after_")
END_OF_FIT_HOOKS = ("on_train_end", "on_fit_end", "on_test", "teardown")
END_OF_FIT_TARGET_S = 2.0


def timed_fit(model_name: str, epochs: int, n_bars: int, callbacks: list, folder: Path) -> tuple[float, dict[str, list[float]]]:
    """Wall seconds of trainer.fit + trainer.test (data set up beforehand) and the profiler's durations."""
    L.seed_everything(0, verbose=False)
    data = BarsDataModule(synthetic=SyntheticMarket(n_bars=n_bars), window=32, batch_size=128)
    data.setup()
    model = TradingModule(NETS[model_name](n_features=data.n_features, window=data.window))
    logger = TradexpLogger(experiment_name="bench-callbacks", save_dir=str(folder / "logs"), log_checkpoints=False)
    profiler = SimpleProfiler(dirpath=str(folder), filename="profile")
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        callbacks=callbacks,
        profiler=profiler,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(folder),
        log_every_n_steps=10,
    )
    announce_test(trainer, data, test=True)  # as `tradexp fit` does: the test below replaces the validation plots
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)
    wall = time.perf_counter() - start
    return wall, {name: list(values) for name, values in profiler.recorded_durations.items()}  # fit and test together


def attributed(durations: dict[str, list[float]], epochs: int) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """({callback: seconds per epoch}, {callback: fixed seconds}, {callback: end-of-fit seconds}) from
    `[Callback]Name.hook` records; the end of fit is part of the fixed cost."""
    per_epoch, fixed, end = defaultdict(float), defaultdict(float), defaultdict(float)
    for name, values in durations.items():
        if not name.startswith("[Callback]"):
            continue
        callback, _, hook = name[len("[Callback]") :].partition(".")
        if callback.split("{")[0] not in {cls.__name__ for cls in CALLBACKS}:
            continue
        if hook.startswith(PER_EPOCH_HOOKS):
            per_epoch[callback] += sum(values) / epochs
        else:
            fixed[callback] += sum(values)
            if hook.startswith(END_OF_FIT_HOOKS):
                end[callback] += sum(values)
    return dict(per_epoch), dict(fixed), dict(end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(NETS), default="lstm")
    parser.add_argument("--epochs", type=int, nargs=2, default=[2, 6], metavar=("FEW", "MANY"))
    parser.add_argument("--n-bars", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--end-epochs", type=int, default=20, help="epochs of the fit whose end is timed (configs/*.yaml: 20)")
    parser.add_argument("--quick", action="store_true", help="epochs 1 and 3, 1500 bars, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.n_bars, args.repeats = [1, 3], 1500, 1
    few, many = args.epochs
    if not 1 <= few < many:
        parser.error(f"--epochs needs 1 <= FEW < MANY, got {few} {many}")

    wall: dict[tuple[str, int], float] = {}
    profiles: dict[tuple[str, int], dict] = {}
    with fresh_store() as folder:  # the store and ./mlartifacts live in the temporary folder
        timed_fit(args.model, 1, args.n_bars, [cls() for cls in CALLBACKS], folder)  # warm-up: store, kernels, font cache
        for _ in range(args.repeats):
            for epochs in (few, many):
                for label in ("none", "all"):
                    seconds, durations = timed_fit(args.model, epochs, args.n_bars, [cls() for cls in CALLBACKS] if label == "all" else [], folder)
                    if seconds < wall.get((label, epochs), float("inf")):
                        wall[label, epochs], profiles[label, epochs] = seconds, durations
        end_epochs = many if args.quick else args.end_epochs
        end_profile = profiles["all", many] if args.quick else timed_fit(args.model, end_epochs, 3000, [cls() for cls in CALLBACKS], folder)[1]

    epoch_seconds = statistics.median(profiles["none", many]["run_training_epoch"])
    per_epoch, fixed, _ = attributed(profiles["all", many], many)
    end = attributed(end_profile, end_epochs)[2]
    print(f"\ncallback cost: {args.model}, {args.n_bars} synthetic bars, window 32, fit + test, {os.cpu_count()} CPUs, best of {args.repeats}")
    print("\n1. attributed to the callbacks' hooks (SimpleProfiler)")
    print(f"   bare epoch (train + validation): {epoch_seconds:.2f} s")
    total = sum(per_epoch.values())
    print(f"   callback hooks per epoch:        {total * 1000:.1f} ms  = {100 * total / epoch_seconds:.2f} % per epoch   (target < 3 %)")
    print(f"   fixed cost of a run:             {sum(fixed.values()):.2f} s   (target < 5 s)")
    end_s = sum(end.values())
    print(f"   end of fit ({end_epochs} epochs):          {end_s:.2f} s   (target <= {END_OF_FIT_TARGET_S:.0f} s: fit-end, test and teardown hooks)")
    print(f"   {'':<24}{'ms / epoch':>12}{'fixed s':>10}{'end of fit s':>14}")
    for name in sorted(fixed, key=lambda n: -fixed[n]):
        print(f"   {name:<24}{1000 * per_epoch.get(name, 0.0):>12.1f}{fixed[name]:>10.2f}{end.get(name, 0.0):>14.2f}")
    slope = {k: (wall[k, many] - wall[k, few]) / (many - few) for k in ("none", "all")}
    intercept = {k: wall[k, few] - slope[k] * few for k in ("none", "all")}
    print("\n2. end to end, wall-clock (noisy on a shared machine)")
    print(f"   {'callbacks':<10}{f'{few} epochs s':>14}{f'{many} epochs s':>14}{'s / epoch':>12}{'fixed s':>10}")
    for label in ("none", "all"):
        print(f"   {label:<10}{wall[label, few]:>14.2f}{wall[label, many]:>14.2f}{slope[label]:>12.2f}{intercept[label]:>10.2f}")
    print(f"   per-epoch overhead {100 * (slope['all'] - slope['none']) / slope['none']:+.1f} %, fixed cost {intercept['all'] - intercept['none']:+.2f} s")
    print(
        f"\n{'PASS' if end_s <= END_OF_FIT_TARGET_S else 'MISS'}  target: end of fit <= {END_OF_FIT_TARGET_S:.0f} s for the five callbacks ({end_s:.2f} s after {end_epochs} epochs; load average {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
