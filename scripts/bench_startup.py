"""python scripts/bench_startup.py [--quick] [--runs 1000] [--repeats 3]

Start-up of the look-back commands on a store of 1,000 runs: `tradexp --help`, `tradexp runs`,
`tradexp config diff A B`, `tradexp report run|compare --no-log` and `tradexp report run` as it is by
default (the page also logged into the run), each a fresh process (what a user waits for at the
prompt), median of `--repeats`, printed beside the < 2 s target.

The store is a real MLflow sqlite file in a temporary folder, filled with the MLflow client
(`log_batch`, no fits): training runs with tradexp's tags, ~100 params like a resolved config,
per-epoch histories and test metrics; the runs that are diffed and reported also carry
`config/config.yaml`, test predictions and an equity curve. `--quick` (the CI smoke test): 50 runs,
one timing per command, no `import` timings for scale.

Where the time goes (`python -X importtime -m tradexp runs`, 2026-12-03): on a sqlite store the
commands read the file with `sqlite3` (`tradexp.tracking.sqlite_runs`) and import no MLflow, torch,
Lightning or matplotlib; what is left is Python's start, the report pages' pandas (~0.3 s) and the
queries (~0.05 s); a logged `report run` copies its page into the run's local artifact folder.
Through MLflow's client (a server, another database) `import mlflow` adds ~1.6 s and its SQLAlchemy
store 1-2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mlp", "lstm", "gru", "cnn_lstm")
TARGET_S = 2.0
T0 = 1_700_000_000_000


def _config(i: int) -> dict:
    return {
        "seed_everything": i % 3,
        "trainer": {"max_epochs": 20, "accelerator": "cpu", **{f"option_{k:02d}": k for k in range(40)}},
        "model": {
            "lr": round(10 ** (-4 + (i % 7) / 3), 6),
            "net": {"class_path": f"tradexp.models.nets.{MODELS[i % 4].upper()}Net", "init_args": {"hidden_size": 16 * (1 + i % 4)}},
        },
        "data": {"window": 32 + i % 3 * 16, "horizon": 1, "features": [f"feature_{k}" for k in range(30)]},
    }


def _flat(config: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def build_store(root: Path, n_runs: int, epochs: int = 10) -> tuple[str, list[str]]:
    """A sqlite store of `n_runs` finished training runs in four experiments; returns (uri, run ids)."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiments = [client.create_experiment(f"tradexp/development/{m}", artifact_location=(root / "mlartifacts" / m).as_uri()) for m in MODELS]
    rng = np.random.default_rng(0)
    ids = []
    for i in range(n_runs):
        model = MODELS[i % 4]
        tags = {
            "tradexp.type": "training",
            "tradexp.model": model,
            "tradexp.stage": "development",
            "tradexp.dataset": "synthetic",
            "tradexp.purpose": "bench",
            "tradexp.git.commit": f"{i:040x}",
            "tradexp.version": "0.1.0",
        }
        run = client.create_run(experiments[i % 4], run_name=f"training-{model}-synthetic-{i:04d}", start_time=T0 + i * 60_000, tags=tags)
        rid = run.info.run_id
        metrics = []
        for e in range(epochs):
            step, ts = e + 1, T0 + i * 60_000 + e * 1000
            metrics += [
                Metric("train/loss", 0.7 - 0.01 * e + rng.normal(0, 0.005), ts, step),
                Metric("val/loss", 0.72 - 0.005 * e, ts, step),
                Metric("val/acc", 0.5 + 0.004 * e + rng.normal(0, 0.01), ts, step),
            ]
        metrics += [Metric(f"test/{k}", float(rng.uniform(0.4, 0.6)), T0, epochs + 1) for k in ("acc", "auroc", "balanced_acc", "f1", "loss")]
        metrics += [Metric(f"test/trading/{k}", float(rng.normal()), T0, epochs + 1) for k in ("sharpe", "max_drawdown", "hit_rate")]
        client.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in _flat(_config(i)).items()], tags=[RunTag("mlflow.user", "bench")])
        if i >= n_runs - 2:  # the two runs the commands look at carry what a fit writes for its report
            client.log_text(rid, yaml.safe_dump(_config(i), sort_keys=False), "config/config.yaml")
            target = rng.integers(0, 2, 250)
            prob = np.clip(0.5 + 0.1 * (target - 0.5) + rng.normal(0, 0.15, 250), 0, 1)
            rows = "\n".join(f"2022-01-{1 + k % 28:02d},{t},{p:.4f}" for k, (t, p) in enumerate(zip(target, prob)))
            client.log_text(rid, "timestamp,target,pred\n" + rows + "\n", "predictions/test_predictions.csv")
            equity = np.cumprod(1 + rng.normal(0.0003, 0.01, 250))
            client.log_text(rid, "timestamp,equity_model\n" + "\n".join(f"2022-01-{1 + k % 28:02d},{v:.6f}" for k, v in enumerate(equity)) + "\n", "evaluation/equity.csv")
        client.set_terminated(rid, "FINISHED", end_time=T0 + i * 60_000 + 30_000)
        ids.append(rid)
    return uri, ids


def _median_seconds(command: list[str], env: dict, cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command[2:])}` exited with {done.returncode}: {done.stderr.strip()[-800:]}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 runs, one timing per command")
    parser.add_argument("--runs", type=int, help="runs in the store (default 1000; 50 with --quick)")
    parser.add_argument("--repeats", type=int, help="timings per command, the median is shown (default 3; 1 with --quick)")
    args = parser.parse_args()
    args.runs = args.runs or (50 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="tradexp-bench-startup-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        uri, ids = build_store(root, args.runs)
        print(f"store: {args.runs} runs in {uri.rsplit('/', 1)[-1]} built in {time.perf_counter() - started:.1f} s (log_batch, no fits)", flush=True)
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": uri,
            "TRADEXP_ARTIFACT_ROOT": str(root / "mlartifacts"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        }
        a, b = ids[-2], ids[-1]
        tradexp = [sys.executable, "-m", "tradexp"]
        cases = [
            ("tradexp --help", [*tradexp, "--help"]),
            ("tradexp runs", [*tradexp, "runs"]),
            ("tradexp config diff A B", [*tradexp, "config", "diff", a, b]),
            ("tradexp report run RUN", [*tradexp, "report", "run", b, "-o", str(root / "run.html"), "--no-log"]),
            ("tradexp report compare A B", [*tradexp, "report", "compare", a, b, "-o", str(root / "compare.html"), "--no-log"]),
            # the default also logs the page into the run
            ("tradexp report run RUN, logged", [*tradexp, "report", "run", b, "-o", str(root / "run-logged.html")]),
        ]
        print(f"\ncommand                         seconds   (fresh process, median of {repeats}; {args.runs} runs)")
        results = []
        for label, command in cases:
            seconds = _median_seconds(command, env, root, repeats)
            results.append((label, seconds, "PASS" if seconds < TARGET_S else "MISS"))
            print(f"{label:<30} {seconds:7.2f}", flush=True)
        if not args.quick:
            lightning_s = _median_seconds([sys.executable, "-c", "import lightning"], env, root, repeats)
            mlflow_s = _median_seconds([sys.executable, "-c", "import mlflow"], env, root, repeats)
            print(f"for scale: python -c 'import lightning' {lightning_s:.2f} s, python -c 'import mlflow' {mlflow_s:.2f} s")
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}")
        for label, seconds, verdict in results:
            print(f"{verdict}  target: {label} < {TARGET_S:.0f} s ({seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
