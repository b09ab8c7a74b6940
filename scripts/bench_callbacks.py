"""python scripts/bench_callbacks.py [--model lstm] [--epochs 2 6] [--n-bars 3000] [--repeats 1] [--no-per-callback]

What the reporting callbacks cost: wall time of `fit` + `test` with all five callbacks against the
same fit with none, on the same model, data and MLflow store (a temporary sqlite store; artifacts
are really written). Fitting at two epoch counts separates the cost per epoch (the slope) from the
fixed cost at the start and end of a run (the intercept):
    per-epoch overhead % = (slope_all - slope_none) / slope_none
    fixed seconds        = intercept_all - intercept_none
Targets: per-epoch overhead under 3 %, fixed cost under 5 s on 2 CPU cores. Each callback alone is
also timed at the smaller epoch count (its cost over the bare fit). Timings on a shared machine are
noisy: use `--repeats 3` (the minimum is kept) before drawing conclusions.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import lightning as L

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves  # noqa: E402
from tradexp.data import BarsDataModule, SyntheticMarket  # noqa: E402
from tradexp.models import NETS, TradingModule  # noqa: E402
from tradexp.tracking.logger import TradexpLogger  # noqa: E402

CALLBACKS = {
    "ArchitectureSummary": ArchitectureSummary,
    "EnvironmentCapture": EnvironmentCapture,
    "DataDistribution": DataDistribution,
    "LearningCurves": LearningCurves,
    "EvaluationPlots": EvaluationPlots,
}


def timed_fit(model_name: str, epochs: int, n_bars: int, callbacks: list, folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of trainer.fit + trainer.test (data set up beforehand, not timed)."""
    L.seed_everything(0, verbose=False)
    data = BarsDataModule(synthetic=SyntheticMarket(n_bars=n_bars), window=32, batch_size=128)
    data.setup()
    model = TradingModule(NETS[model_name](n_features=data.n_features, window=data.window))
    logger = TradexpLogger(experiment_name="bench-callbacks", save_dir=str(folder / "logs"), log_checkpoints=False)
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(folder),
        log_every_n_steps=10,
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)
    return time.perf_counter() - start, time.process_time() - cpu_start


def best_of(repeats: int, *args) -> tuple[float, float]:
    runs = [timed_fit(*args) for _ in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def report(title: str, rows: dict, alone: dict, few: int, many: int) -> None:
    """Print one table (wall or CPU seconds) with the per-epoch and fixed costs."""
    slope = {k: (v[many] - v[few]) / (many - few) for k, v in rows.items()}
    intercept = {k: v[few] - slope[k] * few for k, v in rows.items()}
    print(f"\n{title}")
    print(f"{'callbacks':<22}{f'{few} epochs s':>14}{f'{many} epochs s':>14}{'s / epoch':>12}{'fixed s':>10}")
    for label in ("none", "all"):
        print(f"{label:<22}{rows[label][few]:>14.2f}{rows[label][many]:>14.2f}{slope[label]:>12.2f}{intercept[label]:>10.2f}")
    print(f"per-epoch overhead: {100 * (slope['all'] - slope['none']) / slope['none']:+.1f} %   (target < 3 %)")
    print(f"fixed cost of a run: {intercept['all'] - intercept['none']:+.2f} s   (target < 5 s)")
    if alone:
        print(f"each callback alone, {few} epochs (cost over none):")
        for name, seconds in alone.items():
            print(f"  {name:<22}{seconds:>8.2f} s  {seconds - rows['none'][few]:+6.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(NETS), default="lstm")
    parser.add_argument("--epochs", type=int, nargs=2, default=[2, 6], metavar=("FEW", "MANY"))
    parser.add_argument("--n-bars", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-per-callback", action="store_true", help="skip timing each callback alone")
    args = parser.parse_args(argv)
    few, many = args.epochs
    if not 1 <= few < many:
        parser.error(f"--epochs needs 1 <= FEW < MANY, got {few} {many}")

    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # the store and ./mlartifacts live in the temporary folder
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
        # Warm-up (not counted): store migration, kernels, matplotlib's font cache.
        timed_fit(args.model, 1, args.n_bars, [cls() for cls in CALLBACKS.values()], folder)
        rows = {}
        for label, make in (("none", lambda: []), ("all", lambda: [cls() for cls in CALLBACKS.values()])):
            rows[label] = {e: best_of(args.repeats, args.model, e, args.n_bars, make(), folder) for e in (few, many)}
        alone = {}
        if not args.no_per_callback:
            for name, cls in CALLBACKS.items():
                alone[name] = best_of(args.repeats, args.model, few, args.n_bars, [cls()], folder)
        os.chdir(home)

    print(f"\ncallback cost: {args.model}, {args.n_bars} synthetic bars, window 32, fit + test, {os.cpu_count()} CPUs, best of {args.repeats}")
    for index, title in enumerate(("wall-clock seconds (what a user waits; noisy when the machine is shared)", "CPU seconds of this process (all threads; steadier on a shared machine)")):
        report(title, {k: {e: t[index] for e, t in v.items()} for k, v in rows.items()}, {k: t[index] for k, t in alone.items()}, few, many)
    return 0


if __name__ == "__main__":
    sys.exit(main())
