"""python scripts/bench_windows.py [--rows 1000000] [--features 32] [--window 128] [--quick]

Peak memory of building windows: tradexp's zero-copy `WindowDataset` (a strided view, one batch
copied at a time) against the naive full copy of every window (`np.ascontiguousarray` of the view). Each case runs in a fresh process
and reports its peak RSS (`ru_maxrss`). The naive copy is measured on a tenth of the rows and
extrapolated linearly (at full size it would need ~16 GB). Target: zero-copy peak under 1.5 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys

from _bench_common import bench_args

_CHILD = r"""
import json, resource, sys, time
import numpy as np
rows, features, window, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import torch  # the import cost belongs to every case
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
values = np.random.default_rng(0).standard_normal((rows, features), dtype=np.float32)  # (N, F)
targets = np.zeros(rows, dtype=np.float32)
if mode == "zero_copy":
    from tradexp.data.windows import BatchIndexSampler, WindowDataset
    dataset = WindowDataset(values, targets, np.arange(window - 1, rows), window)
    sampler = BatchIndexSampler(len(dataset), 256, shuffle=True, seed=0)
    seen = 0
    for i, batch in enumerate(sampler):
        x, y = dataset[batch]  # (256, W, F) copy of one batch only
        seen += len(y)
        if i == 200:
            break
else:
    from numpy.lib.stride_tricks import sliding_window_view
    x = np.ascontiguousarray(sliding_window_view(values, window, axis=0).transpose(0, 2, 1))  # (N-W+1, W, F) full copy
    seen = len(x)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mb": peak, "baseline_mb": base, "seconds": elapsed, "samples": seen}))
"""


def _run(rows: int, features: int, window: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(rows), str(features), str(window), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = bench_args(__doc__, {"rows": 200_000}, "200,000 rows (the target is stated for 1M)", rows=1_000_000, features=32, window=128)
    zero = _run(args.rows, args.features, args.window, "zero_copy")
    tenth = max(args.rows // 10, args.window * 2)
    naive = _run(tenth, args.features, args.window, "naive")
    naive_full_mb = naive["baseline_mb"] + (naive["peak_mb"] - naive["baseline_mb"]) * args.rows / tenth
    full_copy_gb = (args.rows - args.window + 1) * args.window * args.features * 4 / 1e9
    print(f"windows {args.rows:,} rows x {args.features} features x window {args.window}  (float32)")
    print(f"{'case':<34}{'peak RSS':>12}{'over import':>14}")
    print(f"{'zero-copy WindowDataset (measured)':<34}{zero['peak_mb']:>9.0f} MB{zero['peak_mb'] - zero['baseline_mb']:>11.0f} MB")
    print(f"{'naive copy, 1/10 rows (measured)':<34}{naive['peak_mb']:>9.0f} MB{naive['peak_mb'] - naive['baseline_mb']:>11.0f} MB")
    print(f"{'naive copy, all rows (extrapolated)':<34}{naive_full_mb:>9.0f} MB   (the copy alone: {full_copy_gb:.1f} GB)")
    verdict = "PASS" if zero["peak_mb"] < 1536 else "MISS"
    print(
        f"{verdict}  component: zero-copy windows alone < 1.5 GB ({zero['peak_mb'] / 1024:.2f} GB; the whole-process target is bench_memory's); "
        f"ratio naive/zero-copy = {naive_full_mb / zero['peak_mb']:.1f}x"
    )


if __name__ == "__main__":
    main()
