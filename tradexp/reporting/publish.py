"""Where a finished report goes: a local HTML file and the `report/` folder of an MLflow run."""

from __future__ import annotations

import datetime as _dt
import re
import tempfile
from pathlib import Path
from typing import Optional

from mlflow import MlflowClient

__all__ = ["write_report", "log_report", "default_report_path", "when", "duration_text"]


def default_report_path(kind: str, ident: str) -> Path:
    """`reports/<kind>_<ident>.html` in the working directory (ident reduced to safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ident).strip("_")[:80] or kind
    return Path("reports") / f"{kind}_{safe}.html"


def write_report(html: str, path: Path) -> Path:
    """Write `html` to `path` (parents created); returns the absolute path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path.resolve()


def log_report(client: MlflowClient, run_id: str, html: str, file_name: str) -> str:
    """Log `html` as `report/<file_name>` of the run (replacing an earlier one); returns that path."""
    with tempfile.TemporaryDirectory(prefix="tradexp-report-") as tmp:
        local = Path(tmp) / file_name
        local.write_text(html, encoding="utf-8")
        client.log_artifact(run_id, str(local), "report")
    return f"report/{file_name}"


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
