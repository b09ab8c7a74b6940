"""HTML building blocks for reports, rendered by Jinja2 templates with autoescape on.

A builder takes plain values (escaped by the template) or `Html` fragments (markup an earlier
builder produced); nothing else is ever written into a page unescaped. The markup itself lives in
`templates/blocks.html.j2` (the blocks) and `templates/page.html.j2` (the document).

    page("Run x", "subtitle", [section("Header", kv_table({"status": "FINISHED"}))], kind="training")
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

import jinja2
from markupsafe import Markup, escape

from tradexp.reporting.assets import REPORT_CSS, REPORT_JS, content_security_policy, plotly_js

__all__ = [
    "Html",
    "Section",
    "esc",
    "fmt_value",
    "when",
    "duration_text",
    "table",
    "kv_table",
    "image",
    "figure_grid",
    "section",
    "sub_section",
    "tabs",
    "pre",
    "heading",
    "missing",
    "note",
    "verdict_card",
    "json_view",
    "chart",
    "chart_grid",
    "Chart",
    "join",
    "page",
    "status_badge",
]

_ids = itertools.count(1)

Html = Markup  # markup built by a template (trusted: not escaped again)


class Section(Markup):
    """A rendered top-level section that also knows its title and anchor (for the table of contents)
    and whether it holds a chart (then the page carries plotly.js)."""

    title: str
    anchor: str
    has_chart: bool


class Chart(Markup):
    """An interactive chart (or a grid of them): a placeholder and its figure as JSON."""


Content = Union[Html, str, int, float, None]


@functools.cache
def environment() -> jinja2.Environment:
    """The reports' Jinja2 environment: package templates, autoescape on, undefined names an error."""
    return jinja2.Environment(loader=jinja2.PackageLoader("tradexp.reporting", "templates"), autoescape=True, undefined=jinja2.StrictUndefined)


@functools.cache
def _blocks() -> Any:
    return environment().get_template("blocks.html.j2").module


def esc(value: Any) -> Html:
    """`value` as text safe inside HTML elements and quoted attributes (`Html` passes through)."""
    return escape("" if value is None else value)


def join(parts: Iterable[Content]) -> Html:
    """Fragments and plain values (escaped) as one fragment."""
    return Markup("").join(esc(p) for p in parts)


def _parts(body: Sequence[Content] | Content) -> list[Content]:
    return list(body) if isinstance(body, (list, tuple)) else [body]


def fmt_value(value: Any) -> str:
    """How a number is shown: 4 decimals, or 4 significant digits when very large or small."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 1e6:
            return str(int(value))
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)


def when(ms: Optional[int]) -> str:
    """Epoch milliseconds as `YYYY-MM-DD HH:MM:SS UTC` ('' when unknown)."""
    if ms is None:
        return ""
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(seconds: Optional[float]) -> str:
    """`1h 02m 03.4s` / `2m 03.4s` ('' when unknown)."""
    if seconds is None:
        return ""
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}h {minutes:02d}m {sec:04.1f}s" if hours else f"{minutes}m {sec:04.1f}s"


def _cell(value: Any) -> dict[str, Any]:
    """What the `cell` macro draws: markup as is, a number with its full value in `data-v`, or text."""
    if isinstance(value, Markup):
        return {"kind": "html", "text": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "num", "v": repr(float(value)), "text": fmt_value(value)}
    return {"kind": "text", "text": "" if value is None else str(value)}


def table(
    columns: Sequence[Content],
    rows: Iterable[Sequence[Any]],
    *,
    sortable: bool = True,
    filterable: bool = False,
    select_columns: Sequence[int] = (),
    row_classes: Optional[Sequence[str]] = None,
    scroll: bool = False,
    table_id: Optional[str] = None,
) -> Html:
    """A table; numbers right-aligned with their full value in `data-v` (what sorting uses).

    Args:
        columns: Header cells.
        rows: One sequence of cells per row (numbers, text, or `Html`).
        sortable: Click a header to sort (ascending, then descending).
        filterable: A text box above the table hides rows that do not contain its text.
        select_columns: Column indexes that also get a drop-down of their distinct values.
        row_classes: A CSS class per row (e.g. `best`).
        scroll: Put the table in a scrolling box (long tables).
        table_id: The element id (default: a fresh one).
    """
    rows = [list(r) for r in rows]
    selects = [
        {
            "col": col,
            "label": str(columns[col]) if col < len(columns) else "column",
            "options": sorted({str(r[col]) for r in rows if col < len(r) and not isinstance(r[col], Markup)}),
        }
        for col in select_columns
    ]
    body = [{"cls": row_classes[i] if row_classes else "", "cells": [_cell(v) for v in row]} for i, row in enumerate(rows)]
    tid = table_id or f"t{next(_ids)}"
    cls = "sortable" if sortable else "plain"
    return _blocks().table(tid, cls, list(columns), body, filterable, selects, len(rows), scroll)


def kv_table(items: Mapping[str, Any]) -> Html:
    """A two-column key/value table (keys as row headers)."""
    return _blocks().kv_table([(k, _cell(v)) for k, v in items.items()])


def image(png: bytes, alt: str, caption: Optional[str] = None) -> Html:
    """A PNG embedded as a base64 data URI, with an escaped alt text and caption."""
    return _blocks().image(base64.b64encode(png).decode("ascii"), alt, caption or "")


def figure_grid(images: Mapping[str, bytes]) -> Html:
    """Several PNGs side by side, each captioned with its (escaped) name."""
    return _blocks().grid([image(png, name, name) for name, png in images.items()])


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def section(title: str, body: Sequence[Content] | Content, *, anchor: Optional[str] = None, open: bool = True) -> Section:
    """A collapsible top-level section (listed in the page's table of contents)."""
    anchor = anchor or _anchor(title)
    parts = _parts(body)
    out = Section(_blocks().section(anchor, title, parts, open))
    out.title, out.anchor, out.has_chart = title, anchor, any(isinstance(p, Chart) for p in parts)
    return out


def chart(spec: Mapping[str, Any], label: str) -> Chart:
    """An interactive chart of a plotly.js figure spec (`tradexp.reporting.charts`), drawn by the
    page's script; `label` names it for screen readers (and tests). Put it directly in a section."""
    return Chart(_blocks().chart(f"chart{next(_ids)}", label, dict(spec)))


def chart_grid(charts: Sequence[Chart]) -> Chart:
    """Charts side by side (two per row on a wide screen, one when printing)."""
    return Chart(_blocks().chart_grid(list(charts)))


def sub_section(title: str, body: Sequence[Content] | Content, *, open: bool = False) -> Html:
    """A collapsible block inside a section (closed by default)."""
    return _blocks().sub_section(title, _parts(body), open)


def tabs(panels: Sequence[tuple[str, Content]]) -> Html:
    """Tabbed panels; the first is shown. All panels are shown when printing."""
    if not panels:
        return Markup("")
    return _blocks().tabs(f"tab{next(_ids)}", list(panels))


def pre(text: str, limit: int = 200_000) -> Html:
    """Preformatted text (escaped); cut at `limit` characters with a note saying so."""
    cut = ""
    if len(text) > limit:
        cut = f"\n... [{len(text) - limit} more characters not shown]"
        text = text[:limit]
    return _blocks().pre(text + cut)


def heading(text: str) -> Html:
    """A heading inside a section (`<h3>`)."""
    return _blocks().heading(text)


def status_badge(status: str) -> Html:
    """A run or trial status, coloured by CSS class."""
    return _blocks().status(status)


def missing(what: str) -> Html:
    """The standard line for a part of a report that the run did not record."""
    return _blocks().paragraph("missing", f"{what}: not recorded for this run.")


def note(text: str) -> Html:
    """A muted line of explanation."""
    return _blocks().paragraph("note", text)


def verdict_card(line: str, facts: Html, warnings: Sequence[str] = (), *, tone: str = "neutral") -> Html:
    """The answer first: one sentence, its numbers (a table) and plain warnings.

    Args:
        line: The sentence (escaped), e.g. "Sharpe after costs 1.20 vs buy-and-hold 0.40 ...".
        facts: A table of the numbers behind it.
        warnings: Plain sentences saying why the evidence may be thin.
        tone: `good`, `bad` or `neutral` (the card's colour).
    """
    return _blocks().card(f"verdict-{tone}", line, facts, list(warnings))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is_flat(value: Any) -> bool:
    """A scalar or a short list of scalars (shown inline as `[a, b]`)."""
    return _is_scalar(value) or (isinstance(value, list) and len(value) <= 12 and all(_is_scalar(v) for v in value))


def _flat_value(value: Any) -> Any:
    if isinstance(value, list):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return value


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> Optional[dict[str, Any]]:
    """`{"counts": {"0": 3}}` -> `{"counts.0": 3}`; None when something is not flat."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            inner = _flatten(value, name + ".")
            if inner is None:
                return None
            out.update(inner)
        elif _is_flat(value):
            out[name] = _flat_value(value)
        else:
            return None
    return out


def _matrix(rows: Mapping[str, Mapping[str, Any]]) -> Optional[Html]:
    flat = {name: _flatten(v) for name, v in rows.items()}
    if any(f is None for f in flat.values()):
        return None
    columns = list(dict.fromkeys(k for f in flat.values() for k in f))  # type: ignore[union-attr]
    if len(columns) > 24:
        return None
    return table(["", *columns], [[str(name), *(f.get(c) for c in columns)] for name, f in flat.items()])  # type: ignore[union-attr]


def json_view(obj: Any, depth: int = 0) -> Html:
    """Any JSON value as tables: scalars as key/value, dicts of dicts as a matrix, lists of dicts
    as rows, lists of scalars inline, dicts of matrices as tabs; anything else as indented JSON."""
    if _is_flat(obj) and not isinstance(obj, str):
        return _blocks().code(_flat_value(obj), False)
    if isinstance(obj, list) and obj and all(_is_scalar(v) for v in obj):
        return _blocks().code(", ".join(fmt_value(v) for v in obj), True)
    if isinstance(obj, list) and obj and all(isinstance(v, Mapping) and all(_is_flat(x) for x in v.values()) for v in obj):
        columns = list(dict.fromkeys(k for v in obj for k in v))
        return table(columns, [[_flat_value(v.get(c)) for c in columns] for v in obj], filterable=len(obj) > 10, scroll=len(obj) > 20)
    if isinstance(obj, list) and obj and len(obj) <= 60 and all(isinstance(v, list) and all(_is_scalar(x) for x in v) for v in obj):
        width = max(len(v) for v in obj)
        return table([""] * width, obj, sortable=False)
    if isinstance(obj, Mapping) and obj:
        if all(isinstance(v, Mapping) and v for v in obj.values()):
            matrix = _matrix(obj)
            if matrix is not None:
                return matrix
            if depth < 3 and all(all(isinstance(x, Mapping) for x in v.values()) for v in obj.values()):
                return tabs([(str(k), json_view(v, depth + 1)) for k, v in obj.items()])
        flat = _flatten(obj)
        if flat is not None and len(flat) <= 40:
            return kv_table(flat)
        scalars = {k: _flat_value(v) for k, v in obj.items() if _is_flat(v)}
        parts: list[Html] = [_blocks().block("jv-block", None, [kv_table(scalars)])] if scalars else []
        for key, value in obj.items():
            if not _is_flat(value):
                parts.append(_blocks().block("jv-block", str(key), [json_view(value, depth + 1)]))
        return _blocks().block("jv", None, parts)
    return pre(json.dumps(obj, indent=2, default=str))


def page(title: str, subtitle: str, sections: Sequence[Section], *, kind: str, lead: Optional[Html] = None) -> Html:
    """A whole self-contained document: inline CSS and script, CSP that forbids any request.

    Args:
        title: Page title (escaped).
        subtitle: Line under the title (escaped).
        sections: Output of `section`, listed in the table of contents in this order.
        kind: `training`, `study` or `comparison` (a `data-report` attribute on the body).
        lead: Markup shown above the sections (the verdict card), not in the table of contents.
    """
    scripts = [plotly_js(), REPORT_JS] if any(getattr(s, "has_chart", False) for s in sections) else [REPORT_JS]
    return Markup(
        environment()
        .get_template("page.html.j2")
        .render(
            title=title,
            subtitle=subtitle,
            kind=kind,
            sections=list(sections),
            lead=lead,
            policy=content_security_policy(*scripts),
            style=Markup(REPORT_CSS),
            scripts=[Markup(s) for s in scripts],
        )
        + "\n"
    )
