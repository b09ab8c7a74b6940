"""HTML building blocks: escaping, number cells, JSON views, the page's policy and script."""

from __future__ import annotations

import base64
import hashlib
import html as html_text
import re

from tradexp.reporting.assets import REPORT_JS
from tradexp.reporting.markup import Html, esc, figure_grid, fmt_value, json_view, kv_table, page, section, table, tabs

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def test_every_builder_escapes_plain_strings():
    parts = [
        table([EVIL], [[EVIL]], filterable=True, select_columns=[0]),
        kv_table({EVIL: EVIL}),
        section(EVIL, EVIL),
        tabs([(EVIL, EVIL)]),
        json_view({EVIL: [EVIL, {EVIL: EVIL}]}),
        figure_grid({EVIL: b"\x89PNG"}),
        page(EVIL, EVIL, [section(EVIL, EVIL)], kind=EVIL),
    ]
    for html in parts:
        assert "<script>alert" not in html and "<img src=x" not in html, html
        assert "&lt;script&gt;" in html


def test_html_fragments_pass_through_unescaped_once():
    inner = table(["a"], [[1]])
    assert section("t", inner).count("<table") == 1
    assert esc(Html("<b>x</b>")) == "<b>x</b>" and esc("<b>") == "&lt;b&gt;"


def test_number_cells_carry_the_full_value_for_sorting():
    html = table(["v"], [[0.123456789], [12], [None], ["text"]])
    assert '<td class="num" data-v="0.123456789">0.1235</td>' in html
    assert '<td class="num" data-v="12.0">12</td>' in html
    assert "<td>text</td>" in html and "<td></td>" in html


def test_fmt_value():
    assert fmt_value(0.5) == "0.5000" and fmt_value(3.0) == "3" and fmt_value(1e-5) == "1e-05"
    assert fmt_value(123456.7) == "1.235e+05" and fmt_value(float("nan")) == "nan" and fmt_value(True) == "True"


def test_json_view_shapes():
    assert "<table" in json_view({"train": {"counts": {"0": 3, "1": 4}}, "val": {"counts": {"0": 1, "1": 2}}})
    matrix = json_view({"train": {"counts": {"0": 3, "1": 4}}, "val": {"counts": {"0": 1, "1": 2}}})
    assert "<th>counts.0</th>" in matrix and "<td>train</td>" in matrix  # one row per split
    assert json_view([1, 2.5, "a"]) == "<code>[1, 2.5000, a]</code>"
    assert json_view(list(range(20))).startswith("<p><code>0, 1, 2")
    layers = json_view([{"name": "rnn", "shape": [128, 8]}])
    assert "<td>[128, 8]</td>" in layers


def test_page_allows_only_its_own_script_and_no_requests():
    html = page("t", "s", [section("A", "x")], kind="training")
    policy = html_text.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    digest = base64.b64encode(hashlib.sha256(REPORT_JS.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert f"<script>{REPORT_JS}</script>" in html  # the hashed text exactly
    assert "http://" not in html and "https://" not in html
    assert '<a href="#a">A</a>' in html  # table of contents
