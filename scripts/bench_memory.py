"""python scripts/bench_memory.py [--n-bars 1000000] [--window 128] [--model mlp] [--quick]

Peak resident memory of the whole `tradexp fit` process (not of one data structure): a child
process runs `tradexp fit` on the synthetic market of `--n-bars` one-minute bars with 32 features and
windows of 128 bars, every default callback on (MLflow tracking, checkpoints, data distributions,
evaluation, plots, report), and its peak RSS is read with `getrusage(RUSAGE_CHILDREN)` after it
exits (the same figure `/usr/bin/time -v` prints as "Maximum resident set size"). Training is cut
to a few batches (`limit_train_batches`) since memory, not learning, is measured; validation and
test run over their whole splits. Target: < 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FEATURES_32 = [
    *(f"log_return_{n}" for n in (1, 2, 3, 5, 10, 20, 40, 60)),
    *(f"volatility_{n}" for n in (5, 10, 20, 40, 60)),
    *(f"rsi_{n}" for n in (7, 14, 21, 28)),
    *(f"bollinger_{n}" for n in (10, 20, 40, 60)),
    *(f"volume_z_{n}" for n in (5, 10, 20, 40, 60)),
    "macd",
    "hl_range",
    *(f"log_return_{n}" for n in (4, 15, 30, 90)),
]
TARGET_MB = 1536.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bars", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--model", default="mlp", choices=("mlp", "lstm", "gru", "cnn_lstm"))
    parser.add_argument("--quick", action="store_true", help="30k bars (the smoke test; the target is for 1M)")
    args = parser.parse_args()
    if args.quick:
        args.n_bars = 30_000
    assert len(FEATURES_32) == 32 and len(set(FEATURES_32)) == 32
    with tempfile.TemporaryDirectory() as work:
        config = Path(work, "memory.yaml")
        config.write_text(yaml.safe_dump({"data": {"features": FEATURES_32, "window": args.window, "batch_size": 256}}))
        command = [
            sys.executable, "-m", "tradexp", "fit", "--config", str(ROOT / "configs" / f"{args.model}.yaml"), "--config", str(config),
            "--data.synthetic.n_bars", str(args.n_bars), "--data.synthetic.freq", "1min",
            "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "20",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        start = time.perf_counter()
        done = subprocess.run(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(f"tradexp fit ({args.model}), {args.n_bars} bars x 32 features x window {args.window}, all default callbacks: {elapsed:.0f} s")
    if done.returncode != 0:
        print(done.stderr[-2000:])
        print(f"MISS  target: whole-process peak RSS < {TARGET_MB / 1024:.1f} GB (the fit exited with {done.returncode})")
        return 1
    verdict = "PASS" if peak_mb < TARGET_MB else "MISS"
    print(f"{verdict}  target: whole `tradexp fit` process peak RSS < {TARGET_MB / 1024:.1f} GB ({peak_mb / 1024:.2f} GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
