"""What tradexp's results look like in Jupyter: the headline table and where the report is.

    from tradexp.api import fit
    from tradexp.notebook import report, compare

    result = fit("configs/lstm.yaml", {"trainer.max_epochs": 2})
    result                      # renders: run, headline table (Sharpe vs buy-and-hold, drawdown, verdict), report
    report(result.run_id)       # the run's HTML report written, rendered as its headline + a link
    compare([run_a, run_b])     # comparison report + one headline row per run

`_repr_html_` of `FitResult` and `ReportFile` call the functions here; the numbers come from
`tradexp.evaluation.headline.headline_info` and the wording from `tradexp.console`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from tradexp.console import headline_rows, report_location
from tradexp.evaluation.headline import headline_info

__all__ = ["headline_html", "fit_result_html", "ReportFile", "report", "compare"]

_STYLE = "border-collapse:collapse;text-align:left"


def _table(rows: Sequence[tuple[str, str]], header: Optional[Sequence[str]] = None) -> str:
    head = "" if header is None else "<tr>" + "".join(f"<th style='padding:2px 8px'>{html.escape(h)}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table style='{_STYLE}'>{head}{body}</table>"


def _link(path: Optional[str]) -> str:
    if not path:
        return "<p>report: none written (no <code>RunReport</code> callback)</p>"
    href = Path(path).as_uri() if path.startswith("/") else path
    return f"<p>report: <a href='{html.escape(href)}' target='_blank'>{html.escape(path)}</a></p>"


def headline_html(metrics: Mapping[str, float], split: str = "test", title: str = "Headline", report: Optional[str] = None) -> str:
    """The headline of a run's metrics as an HTML table (the `_repr_html_` of tradexp's results)."""
    info = headline_info(metrics, split=split)
    return f"<div><b>{html.escape(title)}</b> ({html.escape(info.split)} split){_table(headline_rows(info))}{_link(report)}</div>"


def _client_of(built: Any) -> Any:
    from lightning.pytorch.loggers import MLFlowLogger

    for logger in getattr(getattr(built, "trainer", None), "loggers", []):
        if isinstance(logger, MLFlowLogger) and getattr(logger, "spool_path", None) is None:
            return logger.experiment
    return None


def fit_result_html(result: Any) -> str:
    """HTML of a `FitResult`: run id, headline table, report path, best checkpoint."""
    metrics = dict(result.metrics)
    split = "test" if any(k.startswith("test/") for k in metrics) else "val"
    client = _client_of(result.built)
    report_path = report_location(client, result.run_id) if client is not None and result.run_id else None
    title = f"Fit, MLflow run {result.run_id}" if result.run_id else "Fit (not tracked)"
    extra = "" if not result.best_checkpoint else f"<p>best checkpoint: <code>{html.escape(str(result.best_checkpoint))}</code></p>"
    return headline_html(metrics, split=split, title=title, report=report_path) + extra


@dataclass
class ReportFile:
    """An HTML report written to disk, with the headline of each run it covers (renders in Jupyter)."""

    path: Path
    kind: str  # run / compare
    headlines: dict[str, dict[str, float]] = field(default_factory=dict)  # run id -> metrics

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def _repr_html_(self) -> str:
        if self.kind == "run" and len(self.headlines) == 1:
            ((run_id, metrics),) = self.headlines.items()
            return headline_html(metrics, title=f"Report of run {run_id}", report=str(self.path))
        rows = []
        for run_id, metrics in self.headlines.items():
            info = headline_info(metrics)
            rows.append([run_id[:12]] + [value for _, value in headline_rows(info)[:3]] + [str(len(info.warnings))])
        table = _table(rows, header=["run", "Sharpe after costs", "max drawdown", "verdict", "warnings"])
        return f"<div><b>Comparison of {len(rows)} runs</b>{table}{_link(str(self.path))}</div>"


def report(run_id: str, path: Optional[str] = None, tracking_uri: Optional[str] = None) -> ReportFile:
    """Write the training report of a run (as `tradexp report run`) and return it for display.

    Args:
        run_id: The MLflow run.
        path: HTML file (default `reports/run_<run_id>.html`).
        tracking_uri: The store (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).
    """
    from tradexp.reporting import run_report
    from tradexp.tracking.store import open_store

    client = open_store(tracking_uri)
    written = run_report(run_id, path, client=client)
    return ReportFile(Path(written), "run", {run_id: dict(client.get_run(run_id).data.metrics)})


def compare(run_ids: Sequence[str], path: Optional[str] = None, tracking_uri: Optional[str] = None, metric: Optional[str] = None) -> ReportFile:
    """Write a comparison report of runs (as `tradexp report compare`) and return it for display."""
    from tradexp.reporting import compare_report
    from tradexp.tracking.store import open_store

    client = open_store(tracking_uri)
    written = compare_report(list(run_ids), path, metric=metric, client=client)
    return ReportFile(Path(written), "compare", {r: dict(client.get_run(r).data.metrics) for r in run_ids})
