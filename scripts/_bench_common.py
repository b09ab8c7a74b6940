"""What the bench scripts share: the command line of a script whose options are sizes, and a fresh store.

Imported as `from _bench_common import bench_args, fresh_store` (a script's own folder is first on `sys.path`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def bench_args(doc: str, quick: dict[str, int], quick_help: str, **sizes: int) -> argparse.Namespace:
    """Parse the command line of a bench script.

    Args:
        doc: the script's docstring; its first line (the command that runs it) is the description.
        quick: the sizes `--quick` (the CI smoke test) sets, by name.
        quick_help: what `--quick` does, for `--help`.
        **sizes: one integer option per size with its default; `n_bars` is `--n-bars`.

    Returns:
        The parsed options, with the `quick` sizes already applied when `--quick` was given.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in sizes.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    if args.quick:
        vars(args).update(quick)
    return args


@contextmanager
def fresh_store(prefix: str = "tradexp-bench-") -> Iterator[Path]:
    """A new temporary folder as the working directory, with `MLFLOW_TRACKING_URI` an empty sqlite store in it.

    Yields the folder (the store and `./mlartifacts` live there). On exit the previous working directory
    is back and the folder is removed; `MLFLOW_TRACKING_URI` keeps pointing at the removed store.
    """
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
        try:
            yield folder
        finally:
            os.chdir(previous)
