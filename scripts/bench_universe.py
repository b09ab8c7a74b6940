"""python scripts/bench_universe.py [--symbols 500] [--bars 2520] [--window 64] [--quick]

A universe of `--symbols` Parquet files (`--bars` daily bars each) with 32 features: the time to
prepare it (load every file, validate, per-symbol features and labels, one-calendar split, scalers,
windows: `BarsDataModule.setup()`, in a fresh process) and the peak RSS of the WHOLE `tradexp fit`
process on it (`/usr/bin/time -v`, every default callback on; one short epoch). Targets at 500 x 2,520
x 32 x window 64: preparation < 30 s, whole-process peak < 1.5 GB.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench_common import bench_args

ROOT = Path(__file__).resolve().parents[1]

# 32 causal features (the default set has 9).
FEATURES = (
    [f"log_return_{n}" for n in (1, 2, 3, 4, 5, 10, 15, 20, 30, 40, 60)]
    + [f"volatility_{n}" for n in (5, 10, 20, 30, 40, 60, 80)]
    + [f"rsi_{n}" for n in (7, 14, 21, 28, 50)]
    + [f"bollinger_{n}" for n in (10, 20, 40)]
    + [f"volume_z_{n}" for n in (5, 10, 20, 40)]
    + ["macd", "hl_range"]
)

_PREPARE = r"""
import json, resource, sys, time
from tradexp.data.datamodule import BarsDataModule
path, window, features = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
start = time.perf_counter()
dm = BarsDataModule(path=path, features=features, window=window, batch_size=256)
dm.setup()
x, y = dm._datasets["train"][list(range(256))]  # one batch: the windows really exist
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "samples": {k: int(len(v)) for k, v in dm.splits.items()}, "rows": int(len(dm.timestamps))}))
"""


def _write_universe(folder: Path, n_symbols: int, n_bars: int) -> float:
    from tradexp.data.synthetic import SyntheticMarket, synthetic_bars

    start = time.perf_counter()
    for i in range(n_symbols):
        bars = synthetic_bars(SyntheticMarket(n_bars=n_bars, seed=i, signal_strength=0.1))
        bars.reset_index().to_parquet(folder / f"S{i:04d}.parquet", index=False)
    return time.perf_counter() - start


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def main() -> None:
    args = bench_args(__doc__, {"symbols": 50}, "50 symbols (the targets are stated for 500)", symbols=500, bars=2520, window=64)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "universe"
        folder.mkdir()
        written = _write_universe(folder, args.symbols, args.bars)
        prep = subprocess.run(
            [sys.executable, "-c", _PREPARE, str(folder), str(args.window), json.dumps(FEATURES)],
            capture_output=True, text=True, check=True, env=_env(), cwd=tmp,
        )  # fmt: skip
        prepared = json.loads(prep.stdout.strip().splitlines()[-1])
        fit = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "tradexp", "fit", "--config", str(ROOT / "configs" / "mlp.yaml"),
             "--data.path", str(folder), "--data.features", json.dumps(FEATURES), "--data.window", str(args.window),
             "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "20", "--trainer.limit_val_batches", "5",
             "--trainer.enable_progress_bar", "false"],
            capture_output=True, text=True, env=_env(), cwd=tmp,
        )  # fmt: skip
        peak_kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", fit.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", fit.stderr)
    if fit.returncode != 0 or peak_kb is None:
        print(fit.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"tradexp fit on the universe failed with exit {fit.returncode}")
    peak_gb = int(peak_kb.group(1)) / 1024 / 1024
    print(f"universe {args.symbols} symbols x {args.bars} bars x {len(FEATURES)} features, window {args.window} "
          f"({prepared['rows']:,} rows; files written in {written:.1f} s)")  # fmt: skip
    print(f"{'figure':<48}{'measured':>14}{'target':>12}  verdict")
    samples = prepared["samples"]
    prepare_verdict = "PASS" if prepared["seconds"] < 30 else "MISS"
    memory_verdict = "PASS" if peak_gb < 1.5 else "MISS"
    print(f"{'prepare (load, features, split, scalers, windows)':<48}{prepared['seconds']:>12.1f} s{'< 30 s':>12}  {prepare_verdict}")
    print(f"{'whole `tradexp fit` process, peak RSS':<48}{peak_gb:>11.2f} GB{'< 1.5 GB':>12}  {memory_verdict}")
    print(f"  samples train/val/test = {samples['train']:,}/{samples['val']:,}/{samples['test']:,}; fit wall {wall.group(1) if wall else '?'}")
    if args.quick:
        print("  (--quick: 50 symbols; the targets are stated for 500)")


if __name__ == "__main__":
    main()
