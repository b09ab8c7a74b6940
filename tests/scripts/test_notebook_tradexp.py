"""scripts/notebook_tradexp.py (fit, list_runs, compare, report as notebook cells) runs and renders the headlines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_notebook_example_fits_compares_and_reports(tmp_path: Path):
    script = ROOT / "scripts" / "notebook_tradexp.py"
    assert script.read_text().startswith('"""python scripts/notebook_tradexp.py')
    assert script.read_text().count("# %%") >= 5
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, str(script), "--epochs", "1", "--n-bars", "600"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("--- fit: FitResult") == 2
    assert "<b>Comparison of 2 runs</b>" in out and "<b>Report of run " in out
    assert out.count("Sharpe after costs") >= 4 and "vs buy-and-hold" in out
    assert "--- list_runs: 2 runs" in out
    report = Path(out.split("report: ")[-1].splitlines()[0])
    assert report.is_file() and report.read_text().lstrip().lower().startswith("<!doctype html")
