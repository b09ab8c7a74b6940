"""scripts/notebook_callbacks.py runs as documented and leaves the reports of a regression fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT


def test_notebook_example_runs_and_writes_every_report(tmp_path: Path):
    script = ROOT / "scripts" / "notebook_callbacks.py"
    assert script.read_text().startswith('"""python scripts/notebook_callbacks.py')
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "nb"), "--epochs", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = (tmp_path / "nb" / "notebook").iterdir()
    for name in [
        "model/architecture.png",
        "environment/environment.json",
        "data/drift.csv",
        "plots/correlation.png",
        "plots/learning_curves.png",
        "plots/pred_vs_actual.png",
        "plots/residuals.png",
        "predictions/test_predictions.csv",
    ]:
        assert (folder / name).is_file(), name
    listing = done.stdout.split(f"reports under {folder}:\n", 1)  # the folder it names is the one it wrote
    assert len(listing) == 2, done.stdout[-2000:]
    listed = {line.strip() for line in listing[1].splitlines() if line.startswith("  ")}
    assert listed == {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    predictions = pd.read_csv(folder / "predictions/test_predictions.csv", parse_dates=["timestamp"])
    assert len(predictions) == 300 and predictions["timestamp"].iloc[0] == pd.Timestamp("2019-08-08")  # describe() timestamps
    drift = pd.read_csv(folder / "data/drift.csv").set_index(["split", "feature"])["psi"]
    assert drift["test", "volatility"] > 0.25 > drift["test", "momentum"]  # the planted drift is found
