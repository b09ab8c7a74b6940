"""Interactive charts in Chromium: hover shows the value, drag zooms, a legend click hides a series,
printing keeps the charts, and the page (with plotly.js inlined) asks for nothing outside itself."""

from __future__ import annotations

import base64
import hashlib
import html as html_text
import re

import numpy as np
import pandas as pd
import pytest

from tests.reporting.conftest import check_clean
from tradexp.reporting.assets import plotly_js
from tradexp.reporting.markup import page, section
from tradexp.reporting.read_runs import MetricPoint, RunData
from tradexp.reporting.run_page import build_run_html

EPOCHS = 6
TRAIN = [0.70 - 0.03 * e for e in range(EPOCHS)]
VAL = [0.72 - 0.02 * e for e in range(EPOCHS)]


def _run() -> RunData:
    rng = np.random.default_rng(0)
    times = pd.date_range("2022-01-03", periods=300, freq="B")
    r = rng.normal(0.0005, 0.01, 300)
    equity = pd.DataFrame({"timestamp": times, "model_return": r, "equity_model": np.cumprod(1 + r), "equity_buy_and_hold": np.cumprod(1 + rng.normal(0.0003, 0.01, 300))})
    target = rng.integers(0, 2, 300)
    preds = pd.DataFrame({"timestamp": times, "target": target, "pred": np.clip(0.5 + 0.2 * (target - 0.5) + rng.normal(0, 0.2, 300), 0, 1)})
    steps = [10 * (e + 1) for e in range(EPOCHS)]
    histories = {
        "epoch": [MetricPoint(s, float(e), 0) for e, s in enumerate(steps)],
        "train/loss": [MetricPoint(s, v, 0) for s, v in zip(steps, TRAIN)],
        "val/loss": [MetricPoint(s, v, 0) for s, v in zip(steps, VAL)],
    }
    files = {"evaluation/equity.csv": equity.to_csv(index=False).encode(), "predictions/test_predictions.csv": preds.to_csv(index=False).encode()}
    return RunData("c" * 32, "chart-run", "1", "exp", "FINISHED", 0, 1000, histories=histories, metrics={"val/loss": VAL[-1]}, files=files)


def test_plotly_is_inlined_and_allowed_by_its_hash_only_where_there_are_charts():
    html = build_run_html(_run())
    policy = html_text.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    digest = base64.b64encode(hashlib.sha256(plotly_js().encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "unsafe-eval" not in policy and "default-src 'none'" in policy
    assert f"<script>{plotly_js()}</script>" in html
    for label in ("learning curves: loss", "equity curves", "drawdown", "ROC curve", "precision-recall curve"):
        assert f'aria-label="{label}"' in html, label
    assert plotly_js()[:2000] not in page("t", "s", [section("A", "no chart")], kind="training")


@pytest.fixture
def opened_charts(tmp_path, report_browser):
    path = tmp_path / "charts.html"
    path.write_text(build_run_html(_run()))
    opened = report_browser.open(path, tmp_path / "charts.png")
    yield opened
    opened.page.close()


def _point(page, label: str, x: float) -> tuple[float, float]:
    """Screen position of `x` on a chart's x axis, half way up its plot area."""
    return page.eval_on_selector(
        f'.chart[aria-label="{label}"]',
        """(div, x) => { const box = div.getBoundingClientRect(), L = div._fullLayout;
            return [box.left + L.xaxis._offset + L.xaxis.l2p(x), box.top + L.yaxis._offset + L.yaxis._length / 2]; }""",
        x,
    )


def test_hover_shows_the_values_at_the_epoch_under_the_mouse(opened_charts):
    page = opened_charts.page
    chart = page.locator('.chart[aria-label="learning curves: loss"]')
    chart.scroll_into_view_if_needed()
    page.mouse.move(*_point(page, "learning curves: loss", 2))
    page.wait_for_selector('.chart[aria-label="learning curves: loss"] .hoverlayer text', timeout=5000)
    shown = chart.locator(".hoverlayer").text_content()
    assert f"{TRAIN[2]:.4f}" in shown and f"{VAL[2]:.4f}" in shown, shown
    assert f"{TRAIN[1]:.4f}" not in shown and f"{VAL[3]:.4f}" not in shown, shown
    check_clean(opened_charts)


def test_drag_zooms_and_a_legend_click_hides_a_series(opened_charts):
    page = opened_charts.page
    label = "learning curves: loss"
    chart = page.locator(f'.chart[aria-label="{label}"]')
    chart.scroll_into_view_if_needed()
    before = chart.evaluate("d => d._fullLayout.xaxis.range.slice()")
    x0, y0 = _point(page, label, 1)
    x1, _ = _point(page, label, 3)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y0 + 5, steps=8)
    page.mouse.up()
    after = chart.evaluate("d => d._fullLayout.xaxis.range.slice()")
    assert after != before and 0.5 < after[0] < 1.5 and 2.5 < after[1] < 3.5, (before, after)
    chart.locator(".legend .traces .legendtoggle").first.click()  # applied after plotly's double-click window
    page.wait_for_function("() => document.querySelector('.chart[aria-label=\"learning curves: loss\"]')._fullData[0].visible === 'legendonly'", timeout=5000)
    page.emulate_media(media="print")  # printing keeps the chart and drops its toolbar
    assert chart.is_visible() and not chart.locator(".modebar-container").is_visible()
    page.emulate_media(media="screen")
    check_clean(opened_charts)
