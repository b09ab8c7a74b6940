"""Fixtures for report tests: a headless Chromium that records console errors, requests and dialogs."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import import_or_missing, missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS_NAME = "<script>alert(1)</script>"
XSS_PARAM = '"><img src=x onerror=alert(1)>'


@dataclass
class OpenedReport:
    """A report loaded in the browser, with everything it tried to do."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file://", "data:"))]


class ReportBrowser:
    """Opens report files in one persistent headless Chromium context (fresh profile dir)."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def open(self, path: Path, screenshot: Path) -> OpenedReport:
        page = self.context.new_page()
        opened = OpenedReport(page)
        page.on("console", lambda m: opened.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: opened.console_errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: opened.requests.append(r.url))

        def on_dialog(dialog: Any) -> None:
            opened.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.route(lambda url: not url.startswith(("file://", "data:")), lambda route: route.abort())
        page.goto(Path(path).resolve().as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=10_000)
        page.screenshot(path=str(screenshot), full_page=False)
        keep = os.environ.get("TRADEXP_REPORT_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshot, Path(keep) / screenshot.name)
        return opened


@pytest.fixture(scope="session")
def report_browser() -> Iterator[ReportBrowser]:
    """Headless Debian Chromium driven by Playwright; skips when either is missing."""
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} not installed (Debian package `chromium`)")
    sync_api = import_or_missing("playwright.sync_api", "playwright not installed (pip install -e '.[dev]')")
    profile = tempfile.mkdtemp(prefix="tradexp-chromium-")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1366, "height": 900})
        try:
            yield ReportBrowser(context)
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def column_values(page: Any, table_selector: str, column: int) -> list[str]:
    """`data-v` (or text) of one column over the visible rows, in displayed order."""
    return page.eval_on_selector(
        table_selector,
        """(t, col) => Array.from(t.tBodies[0].rows).filter(r => !r.hidden).map(r => {
            const c = r.cells[col]; const v = c.getAttribute('data-v'); return v === null ? c.textContent.trim() : v; })""",
        column,
    )


def check_sorting(page: Any, table_selector: str, column: int) -> None:
    """Click a numeric column header twice: ascending, then descending."""
    header = page.locator(f"{table_selector} thead th").nth(column)
    header.click()
    values = [float(v) for v in column_values(page, table_selector, column) if v != ""]
    assert values == sorted(values), f"not ascending after one click: {values}"
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    values = [float(v) for v in column_values(page, table_selector, column) if v != ""]
    assert values == sorted(values, reverse=True), f"not descending after two clicks: {values}"


def check_clean(opened: OpenedReport) -> None:
    assert opened.console_errors == [], opened.console_errors
    assert opened.foreign_requests == [], opened.foreign_requests
    assert opened.dialogs == [], opened.dialogs
