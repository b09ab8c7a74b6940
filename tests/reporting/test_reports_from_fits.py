"""Training and comparison reports of real `tradexp fit` runs (three tiny fits shared by the module)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from matplotlib.figure import Figure
import pytest
from markupsafe import escape
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY, store_copy
from tests.reporting.conftest import XSS_NAME, XSS_PARAM, check_clean, check_sorting, column_values
from tradexp.api import fit, override_args
from tradexp.cli import main
from tradexp.reporting import RunReport
from tradexp.evaluation.headline import headline_info
from tradexp.reporting.comparison_page import build_comparison_html
from tradexp.reporting.markup import fmt_value
from tradexp.reporting.read_runs import collect_run, collect_runs
from tradexp.reporting.run_page import build_run_html, verdict_line
from tradexp.tracking.sqlite_runs import SqliteRuns, open_sqlite_runs

pytestmark = pytest.mark.slow

SMALL = {**TINY, "model.net.init_args.hidden_size": 8}


@dataclass
class Fits:
    uri: str
    root: Path
    lstm_a: str  # lstm, seed 1
    lstm_b: str  # the same config, seed 2
    mlp: str  # renamed to XSS_NAME, with a param and a plot file name carrying markup

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.uri)


def _fit(config: str, overrides: dict) -> str:
    assert main(["fit", "--config", str(CONFIGS / config), *override_args(overrides)]) == 0
    client = MlflowClient()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id


@pytest.fixture(scope="module")
def fits(tmp_path_factory, _migrated_store) -> Iterator[Fits]:
    """Two LSTM fits that differ only by seed and one MLP fit, in one real store.

    The MLP fit also carries a second `RunReport` whose `dirpath` is a file, so writing its copy
    fails: the fit must still finish, with the failure recorded in `tradexp.callback_errors`.
    """
    root = tmp_path_factory.mktemp("fits")
    with store_copy(_migrated_store, root) as uri:
        a = _fit("lstm.yaml", {**SMALL, "seed_everything": 1})
        b = _fit("lstm.yaml", {**SMALL, "seed_everything": 2})
        blocker = root / "not-a-folder"
        blocker.write_text("a file where RunReport expects a folder")
        mlp_overrides = {**TINY, "seed_everything": 1, "model.net.init_args.hidden_sizes": [8]}
        c = fit(CONFIGS / "mlp.yaml", mlp_overrides, callbacks=[RunReport(dirpath=str(blocker / "reports"))]).run_id
        client = MlflowClient(uri)
        client.update_run(c, name=XSS_NAME)
        client.log_param(c, "evil", XSS_PARAM)
        plot = root / f"{XSS_PARAM}.png"
        figure = Figure(figsize=(2, 1))
        figure.subplots().plot([0, 1], [1, 0])
        figure.savefig(plot)
        client.log_artifact(c, str(plot), "plots")
        yield Fits(uri, root, a, b, c)


def _metric_cell(name: str, value: float) -> str:
    return f'<td>{name}</td><td class="num" data-v="{float(value)!r}">{fmt_value(value)}</td>'


def test_fit_writes_run_report_into_the_run_after_testing(fits):
    client = fits.client
    run = client.get_run(fits.lstm_a)
    local = client.download_artifacts(fits.lstm_a, "report/run_report.html", str(fits.root))
    html = Path(local).read_text()
    assert _metric_cell("test/acc", run.data.metrics["test/acc"]) in html  # written after the test
    assert "tradexp.callback_errors" not in run.data.tags


def test_failing_report_callback_does_not_stop_the_fit(fits):
    run = fits.client.get_run(fits.mlp)
    assert run.info.status == "FINISHED"
    assert "RunReport" in run.data.tags["tradexp.callback_errors"]
    assert "report/run_report.html" in {a.path for a in fits.client.list_artifacts(fits.mlp, "report")}


def test_report_run_command_matches_what_mlflow_holds(fits, capsys):
    client = fits.client
    out = fits.root / "run.html"
    assert main(["report", "run", fits.lstm_a, "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(str(out.resolve()))
    html = out.read_text()
    run = client.get_run(fits.lstm_a)
    assert fits.lstm_a in html and run.info.run_name in html
    assert '<span class="status-FINISHED">FINISHED</span>' in html
    headline = {key: value for key, value in run.data.metrics.items() if key.startswith("test/") and key.count("/") == 1}
    assert {"test/loss", "test/acc"} <= set(headline), sorted(run.data.metrics)  # the loop below checks something
    for key, value in headline.items():
        assert _metric_cell(key, value) in html, key
    last_val_loss = client.get_metric_history(fits.lstm_a, "val/loss")[-1].value
    assert f'<td>val/loss</td><td class="num" data-v="{last_val_loss!r}">' in html
    for key in ("train_start", "val_start", "test_end"):
        assert run.data.tags[f"tradexp.split.{key}"] in html
    assert "hidden_size: 8" in html and 'aria-label="learning curves: loss"' in html  # an interactive chart
    assert html.count('aria-label="learning curves: loss"') == 1 and 'alt="plots/learning_curves.png"' not in html  # drawn once
    assert html.index('id="verdict"') < html.index('id="summary"')  # the answer first, from the one headline definition
    assert escape(verdict_line(headline_info(run.data.metrics))) in html
    assert "test/trading/sharpe" in run.data.metrics  # the default callbacks include the trading evaluation
    assert f'<td>sharpe</td><td class="num" data-v="{run.data.metrics["test/trading/sharpe"]!r}">' in html
    assert "report/run_report.html" in {a.path for a in client.list_artifacts(fits.lstm_a, "report")}
    # logged without MLflow's client (a local store): MLflow reads back the very page
    assert Path(client.download_artifacts(fits.lstm_a, "report/run_report.html", str(fits.root))).read_bytes() == out.read_bytes()


def _numbered(html: str) -> str:
    """A page with its element numbers (`t12`, `chart3`, `tab4`: a counter across pages) made equal."""
    return re.sub(r"\b(t|chart|tab)\d+\b", r"\1#", str(html))


def test_reports_read_straight_from_sqlite_are_the_reports_mlflow_gives(fits):
    """`tradexp report run|compare --no-log` read a local sqlite store without MLflow: the same data, the same pages."""
    reader = open_sqlite_runs(fits.uri)
    assert isinstance(reader, SqliteRuns)
    for run_id in (fits.lstm_a, fits.mlp):
        mine, theirs = collect_run(reader, run_id), collect_run(fits.client, run_id)
        assert mine.histories and mine.files and mine.datasets and mine.params  # what is compared is there
        assert mine == theirs
        assert _numbered(build_run_html(mine)) == _numbered(build_run_html(theirs))
    ids = [fits.lstm_a, fits.lstm_b, fits.mlp]
    histories = ["train/loss", "val/loss", "epoch", "val/acc"]
    mine_all, theirs_all = collect_runs(reader, ids, histories=histories), collect_runs(fits.client, ids, histories=histories)
    assert mine_all == theirs_all
    assert _numbered(build_comparison_html(mine_all, metric="test/acc")) == _numbered(build_comparison_html(theirs_all, metric="test/acc"))


def test_report_compare_by_ids_creates_a_comparison_run_with_seed_spread(fits, capsys):
    client = fits.client
    out = fits.root / "compare.html"
    ids = [fits.lstm_a, fits.lstm_b, fits.mlp]
    assert main(["report", "compare", *ids, "-o", str(out), "--metric", "test/acc"]) == 0
    html = out.read_text()
    runs = [client.get_run(i) for i in ids]
    for run in runs:
        assert run.info.run_id in html
        assert f'data-v="{run.data.metrics["test/acc"]!r}"' in html
    assert "<th>seed_everything</th>" in html and "<th>model.net.class_path</th>" in html
    accs = [runs[0].data.metrics["test/acc"], runs[1].data.metrics["test/acc"]]  # the two lstm seeds
    mean, std = float(np.mean(accs)), float(np.std(accs, ddof=1))
    assert f'<td>test/acc</td><td class="num" data-v="2.0">2</td><td class="num" data-v="{mean!r}">' in html
    assert f'data-v="{std!r}"' in html
    if all("test/trading/sharpe" in r.data.metrics for r in runs):  # who wins, tested on the common test bars
        assert html.index('id="verdict"') < html.index('id="runs-and-metrics"')
        assert "Sharpe after costs" in html and "common test bars" in html
    (comparison,) = client.search_runs([runs[0].info.experiment_id], "tags.`tradexp.type` = 'comparison'")
    assert comparison.data.tags["tradexp.compared_runs"] == ",".join(ids)
    assert comparison.info.status == "FINISHED"
    assert "report/comparison_report.html" in {a.path for a in client.list_artifacts(comparison.info.run_id, "report")}


def test_report_compare_by_filter_keeps_the_top_runs(fits, capsys):
    client = fits.client
    experiment = client.get_experiment(client.get_run(fits.lstm_a).info.experiment_id).name
    out = fits.root / "top.html"
    code = main(["report", "compare", "--experiment", experiment, "--filter", "tags.tradexp.model = 'lstm'", "--top", "1", "--metric", "test/acc", "-o", str(out), "--no-log"])
    assert code == 0
    html = out.read_text()
    accs = {i: client.get_run(i).data.metrics["test/acc"] for i in (fits.lstm_a, fits.lstm_b)}
    best = max(accs, key=accs.get)
    assert best in html and min(accs, key=accs.get) not in html and fits.mlp not in html


def test_bad_selection_is_one_line(fits, capsys):
    assert main(["report", "compare", "--experiment", "no/such/experiment"]) == 2
    err = capsys.readouterr().err
    assert "experiment `no/such/experiment` not found" in err and "Traceback" not in err
    assert main(["report", "run", "0" * 32]) == 2
    assert "run `" + "0" * 32 + "` not found" in capsys.readouterr().err


def test_markup_in_names_params_and_file_names_is_escaped(fits):
    out = fits.root / "xss.html"
    assert main(["report", "run", fits.mlp, "-o", str(out), "--no-log"]) == 0
    html = out.read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert escape(XSS_PARAM) in html  # the param and the plot's file name: `&#34;&gt;&lt;img src=x ...&gt;`
    assert f"<figcaption>plots/{escape(XSS_PARAM)}.png</figcaption>" in html


def test_run_and_comparison_reports_in_chromium(fits, tmp_path, report_browser):
    run_html = fits.root / "xss-browser.html"
    assert main(["report", "run", fits.mlp, "-o", str(run_html), "--no-log"]) == 0
    opened = report_browser.open(run_html, tmp_path / "run_report.png")
    page = opened.page
    check_sorting(page, "#final-values", 1)
    page.get_by_role("tab", name=re.compile(r"^params")).click()
    page.fill("#configuration input.table-filter", "hidden_sizes")
    visible = page.eval_on_selector("#configuration table.sortable", "t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden).map(r => r.textContent)")
    assert visible and all("hidden_sizes" in row for row in visible)
    assert not page.locator("#environment").evaluate("d => d.open")
    page.locator("#environment > summary").click()
    assert page.locator("#environment").evaluate("d => d.open")
    assert page.title() == f"Run {XSS_NAME}"
    page.get_by_role("tab", name="config/config.yaml").click()
    assert not page.locator("#configuration .tab-panel").nth(1).is_visible()
    page.emulate_media(media="print")  # printing shows every tab panel and hides the controls
    assert page.locator("#configuration .tab-panel").nth(1).is_visible()
    assert not page.locator("nav.toc").is_visible() and not page.locator("#configuration input.table-filter").is_visible()
    page.emulate_media(media="screen")
    check_clean(opened)
    page.close()

    compare_html = fits.root / "compare-browser.html"
    assert main(["report", "compare", fits.lstm_a, fits.lstm_b, fits.mlp, "--metric", "test/acc", "-o", str(compare_html), "--no-log"]) == 0
    opened = report_browser.open(compare_html, tmp_path / "comparison_report.png")
    page = opened.page
    check_sorting(page, "#metrics-headline", 5)  # seeds column is 4, test/acc (the chosen metric) is 5
    page.select_option('select.table-select[data-table="metrics-headline"]', "lstm")
    assert column_values(page, "#metrics-headline", 2) == ["lstm", "lstm"]
    check_clean(opened)
    page.close()
