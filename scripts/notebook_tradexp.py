"""python scripts/notebook_tradexp.py [--epochs 2] [--n-bars 800]

tradexp from a notebook, as `# %%` cells (VS Code, PyCharm and Jupytext open them as a notebook):
fit two models, list the runs, compare them and write a report. In Jupyter, a cell that ends with
`result`, `runs`, `comparison` or `run_page` renders it: the headline table (Sharpe after costs vs
buy-and-hold, max drawdown, verdict with p-value and test samples, warnings) and where the report
is. Run as a script, it prints the same objects' HTML and text. Everything lands in `./mlflow.db`
and `./mlartifacts/` of the working directory (or `MLFLOW_TRACKING_URI`).
"""

# %% Setup: a checkout works without installing
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(ROOT))

from tradexp.api import fit, list_runs  # noqa: E402
from tradexp.notebook import compare, report  # noqa: E402

parser = argparse.ArgumentParser(description="tradexp in notebook cells: fit, list, compare, report")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--n-bars", type=int, default=800)
args, _ = parser.parse_known_args()  # a Jupyter kernel passes its own arguments
small = {"trainer.max_epochs": args.epochs, "trainer.enable_model_summary": False, "data.synthetic.n_bars": args.n_bars, "data.window": 8}

# %% Fit an LSTM on the built-in synthetic market; the result renders as its headline
result = fit(ROOT / "configs" / "lstm.yaml", small)
result

# %% And an MLP to compare it with
other = fit(ROOT / "configs" / "mlp.yaml", small)
other

# %% Every run so far, as a DataFrame (one row per run, every metric a column)
runs = list_runs(metrics=["test/acc", "test/trading/sharpe"])
runs

# %% Compare the two: a comparison report, rendered as one headline row per run
comparison = compare([result.run_id, other.run_id], metric="test/trading/sharpe")
comparison

# %% The LSTM's full training report (also in its MLflow run as report/run_report.html)
run_page = report(result.run_id)
run_page

# %% Outside Jupyter: show what the cells above would render
if __name__ == "__main__":
    for name, shown in [("fit", result), ("fit", other), ("compare", comparison), ("report", run_page)]:
        print(f"--- {name}: {type(shown).__name__}")
        print(shown._repr_html_())
    print(f"--- list_runs: {len(runs)} runs")
    print(runs.to_string(index=False))
    print(f"report: {run_page.path}\ncomparison: {comparison.path}")
