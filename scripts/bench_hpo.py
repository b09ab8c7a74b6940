"""python scripts/bench_hpo.py [--quick]

What a study costs besides training, on tiny MLP fits (synthetic market, 600 bars, window 8):

1. Per-trial overhead outside training: Optuna's trial duration minus the time inside the
   train/validation loops (build the fit, create the child run, log config, record the trial).
   Target: under 0.3 s.
2. Epochs saved by pruning: a 30-trial study (12 with --quick) of 10 epochs (6) with the pruner of
   configs/hpo/mlp.yaml (successive halving, rungs after 2, 4, 10 epochs); saved = 1 - epochs run / (trials x max_epochs). Target: at least 40%.
3. Throughput of 2 local workers vs 1 on the same trials (12 of ~5 s each; 4 short ones with --quick):
   trials per second over the whole span (first trial start to last trial end) and over the whole
   command (with worker start-up), never a sum of each worker's own rate. Workers take trials as
   they become free. Target: at least 1.7x on 2 cores.

Each part runs in a fresh temporary folder with its own sqlite MLflow and Optuna stores. Timings are
wall-clock on whatever else the machine is doing: run it on a quiet machine for numbers to compare.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tradexp.hpo import run_study  # noqa: E402
from tradexp.hpo.objective import RECORD_ATTR  # noqa: E402
from tradexp.hpo.plots import trials_table  # noqa: E402
from tradexp.config.overrides import tiny_fit_overrides  # noqa: E402
from tradexp.hpo.storage import open_storage  # noqa: E402

from _bench_common import fresh_store  # noqa: E402


def _study_config(folder: Path, max_epochs: int, data: dict | None = None, **settings: Any) -> Path:
    hpo = yaml.safe_load((ROOT / "configs" / "hpo" / "mlp.yaml").read_text())
    hpo["base_config"] = str(ROOT / "configs" / "mlp.yaml")
    hpo["overrides"] = {**tiny_fit_overrides(max_epochs), **(data or {})}
    hpo.update(settings)
    path = folder / "bench_hpo.yaml"
    path.write_text(yaml.safe_dump(hpo, sort_keys=False))
    return path


def _in_fresh_folder(fn, *args: Any) -> Any:
    with fresh_store("bench-hpo-") as folder:
        return fn(folder, *args)


def _table(folder: Path, name: str):
    import optuna

    return trials_table(optuna.load_study(study_name=name, storage=open_storage(f"sqlite:///{folder}/optuna.db")))


def bench_overhead(folder: Path, n_trials: int) -> dict[str, float]:
    config = _study_config(folder, 2, pruner={"name": "none"}, study_name="overhead")
    run_study(config, n_trials=1, quiet=True)  # warm-up: imports, first store writes
    run_study(config, n_trials=n_trials, quiet=True)
    table = _table(folder, "overhead").iloc[1:]
    outside = (table["duration_s"] - table["train_seconds"]).tolist()
    return {
        "trials": len(table),
        "median_trial_s": statistics.median(table["duration_s"]),
        "median_train_s": statistics.median(table["train_seconds"]),
        "median_overhead_s": statistics.median(outside),
        "median_in_objective_overhead_s": statistics.median(table["overhead_seconds"]),
    }


def bench_pruning(folder: Path, n_trials: int, max_epochs: int) -> dict[str, float]:
    config = _study_config(folder, max_epochs, study_name="pruning")  # the pruner of configs/hpo/mlp.yaml
    started = time.perf_counter()
    result = run_study(config, n_trials=n_trials, quiet=True)
    table = _table(folder, "pruning")
    budget = len(table) * max_epochs
    run = int(table["epochs_run"].sum())
    return {
        "trials": len(table),
        "pruned": int((table["state"] == "PRUNED").sum()),
        "epochs_run": run,
        "epochs_budget": budget,
        "epochs_saved": 1 - run / budget,
        "best_value": float(result.best_value),
        "wall_s": time.perf_counter() - started,
    }


# Trials of ~5 s (80,000 hourly bars, 3 epochs): the second worker's start-up (it imports torch and
# Lightning, ~6 s) is paid once per study, as in a real study whose trials take minutes. --quick: 4,000 bars.
WORKER_BARS = {"full": 80_000, "quick": 4_000}


def _worker_data(n_bars: int) -> dict[str, Any]:
    return {"data.synthetic.n_bars": n_bars, "data.synthetic.freq": "1h", "data.window": 32, "data.batch_size": 128}


def bench_workers(folder: Path, n_trials: int, workers: int, n_bars: int) -> dict[str, float]:
    # Trials that train for about a second: with the tiny fits of the other figures a trial is mostly
    # store writes, and two processes on one sqlite file wait for each other's locks.
    config = _study_config(folder, 3, _worker_data(n_bars), pruner={"name": "none"}, study_name=f"workers-{workers}")
    started = time.perf_counter()
    run_study(config, n_trials=n_trials, workers=workers, quiet=True)
    wall = time.perf_counter() - started
    import optuna

    trials = optuna.load_study(study_name=f"workers-{workers}", storage=open_storage(f"sqlite:///{folder}/optuna.db")).trials
    span = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    workers_seen = {trial.user_attrs.get(RECORD_ATTR, {}).get("worker", "?") for trial in trials}
    # Trials per second over the whole span (first trial start to last trial end) and over the whole
    # command: never a sum of each worker's own rate, which counts overlapping time twice.
    return {"trials": len(trials), "trials_per_s": len(trials) / span, "per_s_command": len(trials) / wall, "span_s": span, "wall_s": wall, "workers_seen": len(workers_seen)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and epochs (about 3x faster)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n_overhead, n_pruning, pruning_epochs, n_workers = (3, 8, 6, 4) if args.quick else (10, 30, 10, 12)
    worker_bars = WORKER_BARS["quick" if args.quick else "full"]
    cores = len(os.sched_getaffinity(0))
    print(f"bench_hpo ({'quick' if args.quick else 'full'}), {cores} cores, load average {os.getloadavg()[0]:.1f}")

    overhead = _in_fresh_folder(bench_overhead, n_overhead)
    print(f"\n1. per-trial overhead outside training ({overhead['trials']} trials of 2 epochs)")
    print(f"   median trial {overhead['median_trial_s']:.3f} s = training {overhead['median_train_s']:.3f} s + overhead {overhead['median_overhead_s']:.3f} s")
    print(f"   (of which inside the objective: {overhead['median_in_objective_overhead_s']:.3f} s)")
    print(f"   {'PASS' if overhead['median_overhead_s'] < 0.3 else 'MISS'}  target: HPO overhead per trial outside training < 0.3 s ({overhead['median_overhead_s']:.3f} s)")

    pruning = _in_fresh_folder(bench_pruning, n_pruning, pruning_epochs)
    print(f"\n2. pruning ({pruning['trials']} trials, max_epochs {pruning_epochs}, pruner of configs/hpo/mlp.yaml: successive halving)")
    print(f"   {pruning['pruned']} pruned; epochs run {pruning['epochs_run']} of {pruning['epochs_budget']}: saved {pruning['epochs_saved']:.0%}")
    print(f"   {'PASS' if pruning['epochs_saved'] >= 0.4 else 'MISS'}  target: pruning saves >= 40% of the epochs ({pruning['epochs_saved']:.0%})")
    print(f"   best val/loss {pruning['best_value']:.4f}, wall {pruning['wall_s']:.1f} s")

    one = _in_fresh_folder(bench_workers, n_workers, 1, worker_bars)
    two = _in_fresh_folder(bench_workers, n_workers, 2, worker_bars)
    speedup = two["trials_per_s"] / one["trials_per_s"]
    command = two["per_s_command"] / one["per_s_command"]
    print(f"\n3. throughput ({n_workers} trials of 3 epochs, {worker_bars:,} hourly bars, window 32), same trials, 1 vs 2 workers")
    for name, row in (("1 worker ", one), ("2 workers", two)):
        print(
            f"   {name}: {row['trials_per_s']:.3f} trials/s over the trials' span ({row['span_s']:.1f} s), "
            f"{row['per_s_command']:.3f} trials/s over the command ({row['wall_s']:.1f} s), {row['workers_seen']} worker(s) seen"
        )
    print(f"   {'PASS' if speedup >= 1.7 else 'MISS'}  target: 2 workers >= 1.7x trials/s over the span (speed-up {speedup:.2f}x)")
    print(f"   {'PASS' if command >= 1.7 else 'MISS'}  target: 2 workers >= 1.7x trials/s over the whole command (speed-up {command:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
