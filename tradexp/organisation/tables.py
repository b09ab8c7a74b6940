"""Render rows (dicts) as an aligned text table, CSV or JSON: what the look-back commands print."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Sequence

__all__ = ["render_table", "render_csv", "render_json", "render", "format_value", "FORMATS"]

FORMATS = ("table", "json", "csv")


def format_value(value: Any, max_width: int = 60) -> str:
    """A cell as text: floats with 4 significant decimals, None as `-`, long text cut with `...`."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4f}" if 1e-3 <= abs(value) < 1e6 or value == 0 else f"{value:.4g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, separators=(", ", ": "), default=str)
    else:
        text = str(value)
    return text if len(text) <= max_width else text[: max_width - 3] + "..."


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], max_width: int = 60) -> str:
    """An aligned plain-text table with a header line; numbers right-aligned."""
    cells = [[format_value(row.get(c), max_width) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def render_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV with a header; values unformatted (full precision)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    return buffer.getvalue().rstrip("\n")


def render_json(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A JSON list of objects with the given keys (full precision)."""
    return json.dumps([{c: row.get(c) for c in columns} for row in rows], indent=2, default=str)


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str = "table") -> str:
    """Dispatch on `fmt` (`table`, `json`, `csv`)."""
    if fmt == "json":
        return render_json(rows, columns)
    if fmt == "csv":
        return render_csv(rows, columns)
    return render_table(rows, columns)
