"""python scripts/bench_data.py [--n-bars 1000000] [--quick]

Loading bars: the synthetic market of `--n-bars` one-minute bars generated, then written to a CSV
and a Parquet file and read back through `tradexp.data.load_bars` (parse, normalise, validate).
Each figure is the median of three runs in this process. Targets: synthetic < 2 s, CSV < 3 s,
Parquet < 1 s for a million bars.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tradexp.data import load_bars
from tradexp.data.synthetic import SyntheticMarket, synthetic_bars

from _bench_common import bench_args


def _median_s(action, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    args = bench_args(__doc__, {"n_bars": 100_000}, "100k bars, targets scaled by a tenth", n_bars=1_000_000)
    scale = args.n_bars / 1_000_000
    market = SyntheticMarket(n_bars=args.n_bars, freq="1min")
    bars = synthetic_bars(market)
    with tempfile.TemporaryDirectory() as work:
        csv, parquet = Path(work, "bars.csv"), Path(work, "bars.parquet")
        bars.to_csv(csv)
        bars.to_parquet(parquet)
        figures = [
            ("synthetic market", _median_s(lambda: synthetic_bars(market)), 2.0),
            (f"CSV ({csv.stat().st_size / 2**20:.0f} MB)", _median_s(lambda: load_bars(csv)), 3.0),
            (f"Parquet ({parquet.stat().st_size / 2**20:.0f} MB)", _median_s(lambda: load_bars(parquet)), 1.0),
        ]
    print(f"loading {args.n_bars} one-minute bars (median of 3)")
    for name, seconds, target in figures:
        limit = target * scale
        print(f"{'PASS' if seconds < limit else 'MISS'}  target: {name} in < {limit:g} s ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
