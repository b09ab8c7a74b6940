"""python scripts/bench.py [--quick] [--only data training memory tracking windows callbacks hpo disk reports startup universe serving]

The benchmark suite: runs every `scripts/bench_*.py` in its own process (so one case's memory or
threads never colour another's), prints each table as it comes, and ends with every target and
its verdict. Each figure is a ratio or a time measured side by side in one run, with the command
that reproduces it. `--quick` (under about 3 minutes) is the CI smoke test: figures are printed,
not asserted; the exit status is 1 when any benchmark crashed.

Targets (2 CPU cores): synthetic 1M bars < 2 s, 1M-row CSV < 3 s, Parquet < 1 s; tradexp training
>= 1.0x a plain loop over a standard DataLoader for every net; whole `tradexp fit` process (1M bars x
32 features x window 128, all callbacks) < 1.5 GB peak RSS; Lightning >= 0.9x of a plain loop; tradexp fit with all callbacks within
1.10x of bare Lightning per epoch and no slower than MLFlowLogger / autolog; callbacks < 3 % per
epoch and < 5 s fixed; HPO overhead < 0.3 s per trial,
>= 40 % epochs saved by pruning, 2 workers >= 1.7x; an HPO study keeps no checkpoint twice (local and
stored) and none for a pruned trial; comparison of 200 runs < 10 s; HPO report of 500
trials < 15 s; `tradexp --help`, `tradexp runs`, `tradexp config diff`, `tradexp report run|compare` < 2 s
each on a store of 1,000 runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
SUITE = ("data", "training", "memory", "tracking", "windows", "callbacks", "hpo", "disk", "reports", "startup", "universe", "serving")
_VERDICT = re.compile(r"\b(PASS|MISS)\b|target", re.IGNORECASE)


def _run(name: str, quick: bool) -> tuple[list[str], float]:
    command = [sys.executable, str(SCRIPTS / f"bench_{name}.py")] + (["--quick"] if quick else [])
    print(f"\n=== {name}: {' '.join(['python', f'scripts/bench_{name}.py'] + command[2:])}", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:  # kept to show why a benchmark crashed
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip())
        if process.wait() != 0:
            errors.seek(0)
            tail = errors.read().strip().splitlines()[-15:]
            print("\n".join(f"  | {line}" for line in tail), file=sys.stderr)
            lines.append(f"MISS  bench_{name}.py exited with {process.returncode} (crashed)")
            print(lines[-1])
    return lines, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI smoke test: small sizes, under ~3 minutes")
    parser.add_argument("--only", nargs="+", choices=SUITE, default=list(SUITE))
    args = parser.parse_args()
    summary: list[tuple[str, str]] = []
    crashed: list[str] = []
    started = time.perf_counter()
    for name in args.only:
        lines, _ = _run(name, args.quick)
        if lines and lines[-1].endswith("(crashed)"):
            crashed.append(name)
        summary += [(name, line.strip()) for line in lines if _VERDICT.search(line)]
    load = os.getloadavg()[0]
    machine = f"{os.cpu_count()} CPUs, load average {load:.1f} at the end ({'loaded: timings are not comparable' if load > 0.5 * (os.cpu_count() or 1) else 'quiet'})"
    print(f"\n=== verdicts ({'quick' if args.quick else 'full'} run, {time.perf_counter() - started:.0f} s; python scripts/bench.py{' --quick' if args.quick else ''}; {machine})")
    for name, line in summary:
        print(f"  [{name}] {line}")
    if crashed:  # a missed target is a finding; a crash is a broken benchmark and fails the run
        print(f"bench.py: {len(crashed)} benchmark(s) crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
