"""What a user sees after `tradexp fit` written to a log file: the headline last, no noise, one line per epoch;
and the same headline in the MLflow run description and in a notebook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, ROOT, TINY
from tradexp.api import FitResult, override_args
from tradexp.console import headline_lines, headline_markdown
from tradexp.notebook import headline_html

METRICS = {  # as TradingEvaluation logs them
    "test/trading/sharpe": 0.84,
    "test/baseline/buy_and_hold/sharpe": 0.31,
    "test/trading/max_drawdown": 0.123,
    "test/significance/probabilistic_sharpe": 0.79,
    "test/trading/n_periods": 112.0,
    "test/trading/steps_per_year": 252.0,
    "test/significance/sharpe_ci_low": -0.4,
    "test/significance/sharpe_ci_high": 2.1,
}


@pytest.fixture(scope="module")
def fit_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """One `tradexp fit` in a subprocess, stdout and stderr to a file as in `tradexp fit ... > fit.log 2>&1`."""
    folder = tmp_path_factory.mktemp("fit-log")
    overrides = {k: v for k, v in TINY.items() if k != "trainer.enable_progress_bar"}  # the default bar, not a TTY
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    log = folder / "fit.log"
    with log.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "tradexp", "fit", "--config", str(CONFIGS / "lstm.yaml"), *override_args(overrides)],
            cwd=folder,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    return folder, log.read_text(), done.returncode


def test_fit_log_ends_with_the_headline_report_and_ui(fit_log):
    folder, text, code = fit_log
    assert code == 0, text[-3000:]
    lines = text.rstrip().splitlines()
    tail = "\n".join(lines[-12:])
    assert "Headline (test split), run " in tail
    assert "Sharpe after costs" in tail and "vs buy-and-hold" in tail
    assert "max drawdown" in tail
    assert "test samples)" in tail and ("p = " in tail)
    assert "the evidence is thin" in tail  # 600 synthetic bars: fewer than 250 test samples
    report = next(line for line in lines if line.strip().startswith("report ")).split(None, 1)[1]
    assert Path(report).is_file() and report.endswith("report/run_report.html")
    assert lines[-1].strip() == "look                tradexp ui   then open http://127.0.0.1:5000"


def test_fit_log_is_quiet_and_has_one_line_per_epoch(fit_log):
    _, text, _ = fit_log
    assert "litlogger" not in text and "litmodels" not in text
    assert "interpreted in multiple ways" not in text
    assert "LeafSpec" not in text
    assert "\r" not in text  # no progress-bar redraws
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"]
    assert all("train/loss" in line and "val/loss" in line for line in epochs)
    assert len(text.splitlines()) < 60, text


def test_run_description_holds_the_headline_and_report_link(fit_log):
    folder, _, _ = fit_log
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    note = run.data.tags["mlflow.note.content"]
    assert "| Sharpe after costs |" in note and "| verdict |" in note
    assert f"(#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}/artifacts/report/run_report.html)" in note


def test_headline_wording_from_headline_info():
    lines = headline_lines(METRICS, report="/tmp/r.html")
    assert lines[0] == "  Sharpe after costs  0.84  vs buy-and-hold 0.31  (beats it)"
    assert lines[1] == "  max drawdown        12.3%"
    assert lines[2] == "  verdict             not significant (p = 0.21, 112 test samples)"
    assert "  warning             only 112 test samples (fewer than 250): the evidence is thin" in lines
    assert "  warning             the Sharpe interval (-0.40, 2.10) spans zero" in lines
    assert lines[-2:] == ["  report              /tmp/r.html", "  look                tradexp ui   then open http://127.0.0.1:5000"]
    assert "| verdict | not significant (p = 0.21, 112 test samples) |" in headline_markdown(METRICS)


def test_fit_result_renders_in_a_notebook():
    html = FitResult(run_id=None, metrics=METRICS)._repr_html_()
    assert "<table" in html and "0.84  vs buy-and-hold 0.31  (beats it)" in html and "12.3%" in html
    assert "report: none written" in html
    assert "&lt;script&gt;" in headline_html(METRICS, title="<script>")  # escaped


def test_only_the_known_noise_is_filtered():
    import logging
    import warnings

    from tradexp.console import silence_known_noise

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        silence_known_noise()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning)
        warnings.warn("The specified dataset source can be interpreted in multiple ways: A, A.", UserWarning)
        warnings.warn("The specified dataset source is broken", UserWarning)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", UserWarning)  # same text, other category: kept
    shown = [str(w.message) for w in seen if "dataset source" in str(w.message) or "LeafSpec" in str(w.message)]
    assert shown == ["The specified dataset source is broken", "`isinstance(treespec, LeafSpec)` is deprecated"]
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    kept: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: kept.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)  # on the logger itself: Lightning may stop it propagating to the root
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
        logger.info("GPU available: False, used: False")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert kept == ["GPU available: False, used: False"]


def test_progress_bar_choice_leaves_the_user_the_last_word(mlflow_uri):
    from lightning.pytorch.callbacks import TQDMProgressBar

    from callbacks import EpochLines
    from tradexp.api import build

    small = {k: v for k, v in TINY.items() if k != "trainer.enable_progress_bar"}
    assert isinstance(build(CONFIGS / "mlp.yaml", small).trainer.progress_bar_callback, EpochLines)  # pytest's output is no TTY
    chosen = build(CONFIGS / "mlp.yaml", {**small, "trainer.enable_progress_bar": True}).trainer.progress_bar_callback
    assert isinstance(chosen, TQDMProgressBar)
    assert build(CONFIGS / "mlp.yaml", {**small, "trainer.enable_progress_bar": False}).trainer.progress_bar_callback is None
