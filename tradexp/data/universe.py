"""Load a universe: many symbols' bars from a folder, a glob, or one long file with a `symbol` column.

    universe = load_universe("prices/")                    # one CSV/Parquet per symbol, symbol = file stem
    universe = load_universe("prices/*.parquet", symbols=["AAPL", "SPY"])
    universe = load_universe("long.csv")                   # columns: date, symbol (or ticker), open, ...
    universe.bars["AAPL"]                                  # validated frame, as `load_bars` returns it

Every single-file shape `load_bars` accepts is accepted per symbol; validation runs per symbol and its
message names the symbol. Symbols shorter than `min_bars` are dropped with one warning listing them
(or refused); symbols of different bar frequencies are refused with their frequencies named.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import re
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from tradexp.data.loading import bars_digest, bars_from_frame, load_bars, read_table
from tradexp.errors import DataValidationError

__all__ = ["Universe", "load_universe", "long_frame_bars", "is_universe_path", "universe_digest", "SYMBOL_COLUMNS", "BAR_SUFFIXES"]

log = logging.getLogger(__name__)

SYMBOL_COLUMNS = ("symbol", "ticker")
BAR_SUFFIXES = (".csv", ".parquet", ".pq", ".txt", ".gz", ".zip", ".bz2")


class Universe(NamedTuple):
    """The bars of every symbol kept, and what was left out."""

    name: str  # folder name, file stem or glob's folder
    bars: dict[str, pd.DataFrame]  # symbol -> validated bars, symbols sorted
    sources: dict[str, str]  # symbol -> file it came from
    dropped: dict[str, int]  # symbol -> its number of bars, for symbols shorter than `min_bars`

    @property
    def symbols(self) -> list[str]:
        return list(self.bars)

    @property
    def digest(self) -> str:
        return universe_digest(self.bars)


def universe_digest(bars: dict[str, pd.DataFrame]) -> str:
    """One 16-hex digest of every symbol's name and content digest (the same universe, the same digest)."""
    hasher = hashlib.sha256()
    for symbol in sorted(bars):
        hasher.update(f"{symbol}={bars_digest(bars[symbol])};".encode())
    return hasher.hexdigest()[:16]


def _symbol_column(columns: Sequence[str]) -> Optional[str]:
    normalised = {str(c).strip().lower(): c for c in columns}
    return next((normalised[name] for name in SYMBOL_COLUMNS if name in normalised), None)


def is_universe_path(path: str | Path) -> bool:
    """True for a folder, a glob pattern, or a file whose header has a `symbol`/`ticker` column."""
    text = str(path)
    if Path(text).is_dir() or glob.has_magic(text):
        return True
    file = Path(text)
    if not file.is_file():
        return False
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            columns = pq.read_schema(file).names
        else:
            columns = list(pd.read_csv(file, nrows=0, sep=None if file.suffix.lower() == ".txt" else ",", engine="python").columns)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return False  # `load_bars` names what is wrong with the file
    return _symbol_column(columns) is not None


def _files(path: str) -> tuple[str, list[Path]]:
    if Path(path).is_dir():
        folder = Path(path)
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BAR_SUFFIXES)
        name = folder.resolve().name
    else:
        files = sorted(Path(p) for p in glob.glob(path) if Path(p).is_file())
        name = Path(path).parent.resolve().name or "universe"
    if not files:
        raise DataValidationError(
            f"`{path}` holds no bar files ({', '.join(BAR_SUFFIXES)}); pass a folder of one file per symbol, a glob such as `prices/*.csv`, or one long file with a `symbol` column"
        )
    stems = [f.name.split(".")[0] for f in files]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise DataValidationError(f"`{path}`: several files give the same symbol {repeated}; keep one file per symbol")
    return name, files


def _long_file_bars(path: Path, use_adjusted: bool, extra_columns: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    return long_frame_bars(read_table(path), path.name, use_adjusted, extra_columns)


def long_frame_bars(raw: pd.DataFrame, source: str, use_adjusted: bool = True, extra_columns: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """A long frame (one row per symbol and bar, a `symbol`/`ticker` column) -> symbol -> validated bars, sorted.

    Raises:
        DataValidationError: No symbol column, a row without a symbol, or a symbol's bars invalid (named).
    """
    column = _symbol_column(raw.columns)
    if column is None:
        raise DataValidationError(f"`{source}` has no symbol column; expected one of {list(SYMBOL_COLUMNS)}")
    symbols = raw[column]
    if symbols.isna().any():
        rows = np.flatnonzero(symbols.isna().to_numpy())[:5] + 1
        raise DataValidationError(f"`{source}`: column `{column}` is empty at rows {rows.tolist()}; every row needs a symbol")
    bars = {}
    for symbol, rows in raw.groupby(symbols.astype(str), sort=True):
        bars[str(symbol)] = bars_from_frame(rows.drop(columns=[column]), f"symbol {symbol} in {source}", use_adjusted, extra_columns)
    return bars


def _bar_seconds(frame: pd.DataFrame) -> float:
    if len(frame) < 2:
        return float("nan")
    return float(np.median(np.diff(frame.index.values) / np.timedelta64(1, "s")))  # any datetime unit


def _frequency_name(seconds: float) -> str:
    for size, unit in ((86_400 * 7, "w"), (86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _check_frequencies(bars: dict[str, pd.DataFrame]) -> None:
    """Refuse symbols whose median bar spacing differs by more than half from the most common one."""
    spacing = {symbol: _bar_seconds(frame) for symbol, frame in bars.items()}
    finite = [s for s in spacing.values() if np.isfinite(s)]
    if not finite:
        return
    typical = float(np.median(finite))
    odd = {symbol: s for symbol, s in spacing.items() if np.isfinite(s) and not (typical / 1.5 <= s <= typical * 1.5)}
    if odd:
        named = ", ".join(f"{symbol} ({_frequency_name(s)})" for symbol, s in sorted(odd.items()))
        raise DataValidationError(
            f"the universe mixes bar frequencies: most symbols have {_frequency_name(typical)} bars, but {named}; "
            "resample them to one frequency or leave them out with `data.symbols`"
        )


def load_universe(
    path: str | Path,
    symbols: Optional[Sequence[str]] = None,
    min_bars: int = 0,
    drop_short_symbols: bool = True,
    use_adjusted: bool = True,
    extra_columns: tuple[str, ...] = (),
    name: Optional[str] = None,
) -> Universe:
    """Load and validate every symbol of a folder, a glob, or a long file with a `symbol`/`ticker` column.

    Args:
        path: A folder (one CSV/Parquet file per symbol, symbol = file stem), a glob pattern, or one
            file with a `symbol` (or `ticker`) column.
        symbols: Keep only these symbols (each must exist).
        min_bars: Symbols with fewer bars are dropped (with one warning listing them) or refused.
        drop_short_symbols: False refuses short symbols instead of dropping them.
        use_adjusted: See `load_bars`.
        extra_columns: See `load_bars`.
        name: Name of the universe; default the folder name or the file stem.

    Returns:
        Universe with symbols sorted.

    Raises:
        DataValidationError: A file or symbol breaks a rule (the message names the symbol), an asked-for
            symbol is absent, every symbol is too short, or bar frequencies are mixed.
    """
    text = str(path)
    if Path(text).is_dir() or glob.has_magic(text):
        default_name, files = _files(text)
        wanted = set(symbols) if symbols else None
        bars, sources = {}, {}
        for file in files:
            symbol = file.name.split(".")[0]
            if wanted is not None and symbol not in wanted:
                continue
            try:
                bars[symbol] = load_bars(file, use_adjusted=use_adjusted, extra_columns=extra_columns)
            except DataValidationError as exc:
                raise DataValidationError(f"symbol {symbol}: {exc}") from None
            sources[symbol] = str(file)
    else:
        file = Path(text)
        if not file.is_file():
            raise DataValidationError(f"bar file `{file}` does not exist; pass a folder, a glob or a long file with a `symbol` column")
        default_name = re.sub(r"\W+", "_", file.name.split(".")[0])
        bars = _long_file_bars(file, use_adjusted, extra_columns)
        sources = {symbol: str(file) for symbol in bars}
    if symbols:
        absent = sorted(set(symbols) - set(bars))
        if absent:
            raise DataValidationError(f"`data.symbols` names {absent}, absent from `{text}`; it has {sorted(set(sources) | set(bars))[:20]}")
        bars = {s: bars[s] for s in symbols}
    short = {symbol: len(frame) for symbol, frame in bars.items() if len(frame) < min_bars}
    if short:
        listed = ", ".join(f"{s} ({n} bars)" for s, n in sorted(short.items()))
        if not drop_short_symbols:
            raise DataValidationError(f"symbols shorter than `data.min_bars` {min_bars}: {listed}; drop them with `data.drop_short_symbols true` or lower `data.min_bars`")
        if len(short) == len(bars):
            raise DataValidationError(f"every symbol is shorter than `data.min_bars` {min_bars}: {listed}")
        log.warning("dropped %d symbol(s) shorter than data.min_bars=%d: %s", len(short), min_bars, listed)
    kept = {s: bars[s] for s in sorted(bars) if s not in short}
    _check_frequencies(kept)
    return Universe(name=name or default_name, bars=kept, sources={s: sources[s] for s in kept}, dropped=short)
