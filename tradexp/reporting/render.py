"""HTML building blocks for reports: every value from a run is escaped, trusted markup is `Html`.

A builder takes plain values (escaped here) or `Html` fragments (already built by this module);
nothing else is ever written into a page unescaped.

    page("Run x", "subtitle", [section("Header", "header", kv_table({"status": "FINISHED"}))])
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

from tradexp.reporting.assets import REPORT_CSS, REPORT_JS, content_security_policy

__all__ = [
    "Html",
    "esc",
    "fmt_value",
    "table",
    "kv_table",
    "image",
    "figure_grid",
    "section",
    "sub_section",
    "tabs",
    "pre",
    "missing",
    "note",
    "json_view",
    "page",
    "status_badge",
]

_ids = itertools.count(1)


class Html(str):
    """A fragment of markup built by this module (trusted: not escaped again)."""


Content = Union[Html, str, int, float, None]


def esc(value: Any) -> Html:
    """`value` as text safe inside HTML elements and quoted attributes."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def _join(parts: Iterable[Content]) -> Html:
    return Html("".join(esc(p) for p in parts))


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


def _cell(value: Any) -> Html:
    if isinstance(value, Html):
        return Html(f"<td>{value}</td>")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Html(f'<td class="num" data-v="{esc(repr(float(value)))}">{esc(fmt_value(value))}</td>')
    return Html(f"<td>{esc(value)}</td>")


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
    tid = table_id or f"t{next(_ids)}"
    tools = []
    if filterable:
        tools.append(f'<input type="search" class="table-filter" data-table="{tid}" placeholder="filter rows" aria-label="filter rows">')
    for col in select_columns:
        values = sorted({str(r[col]) for r in rows if col < len(r) and not isinstance(r[col], Html)})
        options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
        label = esc(columns[col]) if col < len(columns) else "column"
        tools.append(f'<select class="table-select" data-table="{tid}" data-col="{col}" aria-label="{label}"><option value="">{label}: all</option>{options}</select>')
    if tools:
        tools.append(f'<span class="row-count" data-table="{tid}">{len(rows)} rows</span>')
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    cls = "sortable" if sortable else "plain"
    out = f'<table id="{tid}" class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    if scroll:
        out = f'<div class="scroll">{out}</div>'
    if tools:
        out = f'<div class="table-tools">{"".join(tools)}</div>{out}'
    return Html(out)


def kv_table(items: Mapping[str, Any]) -> Html:
    """A two-column key/value table (keys as row headers)."""
    rows = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in items.items())
    return Html(f'<table class="kv"><tbody>{rows}</tbody></table>')


def image(png: bytes, alt: str, caption: Optional[str] = None) -> Html:
    """A PNG embedded as a base64 data URI, with an escaped alt text and caption."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return Html(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">{cap}</figure>')


def figure_grid(images: Mapping[str, bytes]) -> Html:
    """Several PNGs side by side, each captioned with its (escaped) name."""
    return Html('<div class="grid">' + "".join(image(png, name, name) for name, png in images.items()) + "</div>")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def section(title: str, body: Sequence[Content] | Content, *, anchor: Optional[str] = None, open: bool = True) -> Html:
    """A collapsible top-level section (listed in the page's table of contents)."""
    parts = body if isinstance(body, (list, tuple)) else [body]
    anchor = anchor or _anchor(title)
    flag = " open" if open else ""
    return Html(
        f'<details class="section" id="{esc(anchor)}" data-title="{esc(title)}"{flag}><summary>{esc(title)}</summary>'
        f'<div class="body">{_join(parts)}</div></details>'
    )


def sub_section(title: str, body: Sequence[Content] | Content, *, open: bool = False) -> Html:
    """A collapsible block inside a section (closed by default)."""
    parts = body if isinstance(body, (list, tuple)) else [body]
    flag = " open" if open else ""
    return Html(f'<details class="sub"{flag}><summary>{esc(title)}</summary>{_join(parts)}</details>')


def tabs(panels: Sequence[tuple[str, Content]]) -> Html:
    """Tabbed panels; the first is shown. All panels are shown when printing."""
    if not panels:
        return Html("")
    base = f"tab{next(_ids)}"
    buttons, bodies = [], []
    for i, (label, body) in enumerate(panels):
        pid = f"{base}-{i}"
        selected = "true" if i == 0 else "false"
        hidden = "" if i == 0 else " hidden"
        buttons.append(f'<button type="button" role="tab" data-tab="{pid}" aria-selected="{selected}">{esc(label)}</button>')
        bodies.append(f'<div class="tab-panel" role="tabpanel" id="{pid}"{hidden}>{esc(body)}</div>')
    return Html(f'<div class="tabs"><div class="tab-buttons" role="tablist">{"".join(buttons)}</div>{"".join(bodies)}</div>')


def pre(text: str, limit: int = 200_000) -> Html:
    """Preformatted text (escaped); cut at `limit` characters with a note saying so."""
    cut = ""
    if len(text) > limit:
        cut = f"\n... [{len(text) - limit} more characters not shown]"
        text = text[:limit]
    return Html(f"<pre>{esc(text + cut)}</pre>")


def status_badge(status: str) -> Html:
    """A run or trial status, coloured by CSS class."""
    return Html(f'<span class="status-{esc(status)}">{esc(status)}</span>')


def missing(what: str) -> Html:
    """The standard line for a part of a report that the run did not record."""
    return Html(f'<p class="missing">{esc(what)}: not recorded for this run.</p>')


def note(text: str) -> Html:
    return Html(f'<p class="note">{esc(text)}</p>')


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
        return Html(f"<code>{esc(_flat_value(obj))}</code>")
    if isinstance(obj, list) and obj and all(_is_scalar(v) for v in obj):
        return Html(f"<p><code>{esc(', '.join(fmt_value(v) for v in obj))}</code></p>")
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
        parts: list[Html] = [Html(f'<div class="jv-block">{kv_table(scalars)}</div>')] if scalars else []
        for key, value in obj.items():
            if not _is_flat(value):
                parts.append(Html(f'<div class="jv-block"><h3>{esc(key)}</h3>{json_view(value, depth + 1)}</div>'))
        return Html(f'<div class="jv">{_join(parts)}</div>')
    return pre(json.dumps(obj, indent=2, default=str))


def page(title: str, subtitle: str, sections: Sequence[Html], *, kind: str) -> Html:
    """A whole self-contained document: inline CSS and script, CSP that forbids any request.

    Args:
        title: Page title (escaped).
        subtitle: Line under the title (escaped).
        sections: Output of `section`.
        kind: `training`, `study` or `comparison` (a `data-report` attribute on the body).
    """
    toc = "".join(
        f'<a href="#{esc(m.group(1))}">{m.group(2)}</a>'
        for m in (re.search(r'id="([^"]*)" data-title="([^"]*)"', s) for s in sections)
        if m
    )
    return Html(
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(content_security_policy())}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title><style>{REPORT_CSS}</style></head>"
        f'<body data-report="{esc(kind)}"><header class="report"><h1>{esc(title)}</h1>'
        f'<div class="subtitle">{esc(subtitle)}</div></header>'
        f'<nav class="toc">{toc}<span class="toc-tools"><button type="button" id="expand-all">expand all</button>'
        '<button type="button" id="collapse-all">collapse all</button></span></nav>'
        f'<main>{"".join(sections)}</main><script>{REPORT_JS}</script></body></html>\n'
    )
