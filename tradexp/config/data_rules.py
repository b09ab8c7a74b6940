"""Domain rules of the `data:` section: features, fractions, dates, embargo, and sizes that fit the bars.

The size rules need the number of bars: the synthetic market says it (`data.synthetic.n_bars`, and
its business-day dates), a CSV is counted by its lines, a Parquet file by its metadata; nothing is
parsed. Rules that cannot know the size (a compressed file) are skipped; the datamodule still
checks at setup.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd

from tradexp.data.features import FEATURE_KINDS, feature_warmup, parse_feature
from tradexp.data.splits import SplitSettings, chronological_split
from tradexp.errors import ConfigError

__all__ = ["check_data", "count_rows", "READABLE_SUFFIXES"]

READABLE_SUFFIXES = (".csv", ".txt", ".gz", ".zip", ".bz2", ".parquet", ".pq")
_MIN_SAMPLES = 20  # the datamodule's own floor: window + horizon + 2 embargoes + 20 samples

Report = Callable[[str, Any, str], None]


def count_rows(path: Path) -> Optional[int]:
    """Data rows of a bar file without parsing it (CSV: lines minus the header; Parquet: metadata).

    Returns:
        The count, or None when it cannot be known cheaply (compressed files).
    """
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix not in (".csv", ".txt"):
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def _bars_known(get: Callable[[str], Any], report: Report) -> tuple[Optional[int], Optional[pd.DatetimeIndex], str]:
    """Number of bars, their timestamps when known without reading, and the config path that sets them."""
    path = get("data.path")
    if path:
        file = Path(str(path))
        if file.is_dir() or glob.has_magic(str(path)):  # a universe: its loader checks every symbol's file
            return None, None, "data.path"
        if not file.is_file():
            report("data.path", str(path), "an existing CSV or Parquet file of OHLCV bars, a folder or glob of them (a universe), or null for the synthetic market")
            return None, None, "data.path"
        if file.suffix.lower() not in READABLE_SUFFIXES:
            report("data.path", str(path), f"a file ending in {', '.join(READABLE_SUFFIXES)}")
            return None, None, "data.path"
        try:
            return count_rows(file), None, "data.path"
        except OSError as exc:
            report("data.path", str(path), f"a readable file ({exc})")
            return None, None, "data.path"
    n_bars = get("data.synthetic.n_bars")
    start = get("data.synthetic.start") or "2010-01-04"
    if n_bars is None or n_bars < 100:
        return None, None, "data.synthetic.n_bars"
    try:
        index = pd.bdate_range(str(start), periods=int(n_bars), name="timestamp")
    except ValueError:
        return int(n_bars), None, "data.synthetic.n_bars"
    return int(n_bars), index, "data.synthetic.n_bars"


def _check_synthetic(get: Callable[[str], Any], report: Report) -> None:
    if get("data.path"):
        return
    n_bars = get("data.synthetic.n_bars")
    if n_bars is not None and n_bars < 100:
        report("data.synthetic.n_bars", n_bars, "at least 100 bars")
    rho = get("data.synthetic.signal_strength")
    if rho is not None and not -1.0 < rho < 1.0:
        report("data.synthetic.signal_strength", rho, "a correlation in (-1, 1); 0 is a random walk")
    persistence = get("data.synthetic.regime_persistence")
    if persistence is not None and not 0.0 < persistence < 1.0:
        report("data.synthetic.regime_persistence", persistence, "a probability in (0, 1)")
    vol = get("data.synthetic.annual_vol")
    if vol is not None and vol <= 0:
        report("data.synthetic.annual_vol", vol, "a positive annualised volatility, e.g. 0.18")
    start = get("data.synthetic.start")
    if start is not None:
        try:
            pd.Timestamp(str(start))
        except ValueError:
            report("data.synthetic.start", start, "an ISO date such as 2010-01-04")


def _check_features(get: Callable[[str], Any], report: Report) -> list[str]:
    """Report unknown, duplicated or unusable feature names; return the valid ones."""
    if get("data.features") is None:
        return []
    names = list(get("data.features"))
    if not names:
        report("data.features", names, "at least one feature name, e.g. [log_return_1, rsi_14]")
        return []
    known = ", ".join(f"{kind}_<n>" if FEATURE_KINDS[kind][1] else kind for kind in sorted(FEATURE_KINDS))
    valid, seen = [], set()
    for position, name in enumerate(names):
        path = f"data.features[{position}]"
        try:
            kind, _ = parse_feature(str(name))
        except ConfigError:
            report(path, name, f"a known feature: {known}, col_<file column> (e.g. rsi_14, log_return_5)")
            continue
        if name in seen:
            report(path, name, "each feature once; it is already listed")
            continue
        if kind == "col" and not get("data.path"):
            report(path, name, "col_<column> reads a column of a bar file, but data.path is null (synthetic bars have only OHLCV)")
            continue
        seen.add(name)
        valid.append(str(name))
    return valid


def _check_dates(get: Callable[[str], Any], index: Optional[pd.DatetimeIndex], report: Report) -> bool:
    """Report unparseable, out-of-order or out-of-range split dates; True when none is wrong."""
    problems = []

    def note(path: str, value: Any, allowed: str) -> None:
        problems.append(path)
        report(path, value, allowed)

    stamps = {}
    for key in ("val_start", "test_start"):
        value = get(f"data.{key}")
        if value is None:
            continue
        try:
            stamps[key] = pd.Timestamp(str(value))
        except ValueError:
            note(f"data.{key}", value, "an ISO date such as 2021-01-04, or null to split by fractions")
            continue
        if index is not None and not index[0] < stamps[key] <= index[-1]:
            note(f"data.{key}", value, f"a date inside the bars, after {index[0].date()} and up to {index[-1].date()}")
    if "val_start" in stamps and "test_start" in stamps and not stamps["val_start"] < stamps["test_start"]:
        note("data.val_start", get("data.val_start"), f"a date before data.test_start ({get('data.test_start')})")
    return not problems


def _split_fits(rows: int, index: Optional[pd.DatetimeIndex], warmup: int, window: int, horizon: int, embargo: Optional[int], get: Callable[[str], Any]) -> bool:
    gap = max(embargo or 0, horizon + window - 1)
    feature_rows = rows - warmup
    if feature_rows < window + horizon + 2 * gap + _MIN_SAMPLES:
        return False
    dated = get("data.val_start") is not None or get("data.test_start") is not None
    if dated and index is None:
        return True  # the file's dates are unknown here; the minimum above is all we can check
    try:
        split = SplitSettings(float(get("data.val_fraction")), float(get("data.test_fraction")), get("data.val_start"), get("data.test_start"), embargo=gap)
        chronological_split(feature_rows, window, horizon, split, index=index[warmup:] if index is not None else None)
    except (ConfigError, ValueError, TypeError):
        return False
    return True


def _largest(fits: Callable[[int], bool], upper: int) -> int:
    """The largest value in 1..upper for which `fits` holds (fits is monotone), 0 if none."""
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _whole(value: Any) -> bool:
    """A size the split arithmetic can use (the parser has already refused anything below 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_data(get: Callable[[str], Any], report: Report) -> None:
    """Report every broken rule of the `data:` section through `report(path, value, allowed)`."""
    window, horizon, embargo = get("data.window"), get("data.horizon"), get("data.embargo")
    # Each value's own range is its constructor type's (`BarsDataModule`); these compare values.
    sizes_ok = _whole(window) and _whole(horizon)
    if sizes_ok and embargo is not None and embargo < horizon + window - 1:
        report("data.embargo", embargo, f"null or at least horizon + window - 1 = {horizon + window - 1} bars")
        sizes_ok = False
    val, test = get("data.val_fraction"), get("data.test_fraction")
    fractions_ok = val is not None and test is not None and 0 < val < 1 and 0 <= test < 1
    if fractions_ok and val + test >= 1:
        report("data.val_fraction + data.test_fraction", round(val + test, 10), "a sum below 1 (the rest is training data)")
        fractions_ok = False
    _check_synthetic(get, report)
    features = _check_features(get, report)
    rows, index, rows_path = _bars_known(get, report)
    dates_ok = _check_dates(get, index, report)
    if not (sizes_ok and fractions_ok and dates_ok and features and rows is not None):
        return
    warmup = feature_warmup(features)
    if _split_fits(rows, index, warmup, window, horizon, embargo, get):
        return
    source = f"{rows} bars ({rows_path}), {warmup} warm-up bars for the features"
    best_horizon = _largest(lambda h: _split_fits(rows, index, warmup, window, h, embargo, get), horizon - 1)
    if best_horizon:
        report("data.horizon", horizon, f"at most {best_horizon} bars so that train and val keep samples: {source}, window {window}")
        return
    best_window = _largest(lambda w: _split_fits(rows, index, warmup, w, horizon, embargo, get), window - 1)
    if best_window:
        report("data.window", window, f"at most {best_window} bars so that train and val keep samples: {source}, horizon {horizon}")
        return
    report(rows_path, get(rows_path), f"more bars: {source} leave no train and val samples for window {window}, horizon {horizon}")
