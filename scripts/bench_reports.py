"""python scripts/bench_reports.py [--quick] [--runs 200] [--trials 500] [--epochs 20]

Time to build the two big reports from a real MLflow sqlite store, and their file sizes:
a comparison of 200 runs (target under 10 s) and an HPO study of 500 trials (target under 15 s).

Runs are written straight into a fresh store with `log_batch` (params like a real config, per-epoch
histories, test and trading metrics, test predictions and an equity curve per run); the study is a
parent run with one child run per trial and a real Optuna journal storage; its importances are
computed when the study ends (`hpo/importances.json`, not timed) and the report reads them, the
study's own (fANOVA when scikit-learn is installed, else Optuna's default). The timed call is the
public API (`compare_report`, `study_report`): read from MLflow, compute, draw, render, write the
file and log it to MLflow. `--quick`: 20 runs, 50 trials, 5 epochs.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from tradexp.hpo.importances import log_importances
from tradexp.reporting import compare_report, study_report
from tradexp.tracking.store import ensure_experiment, open_store

MODELS = ("mlp", "lstm", "gru", "cnn_lstm")
T0 = 1_700_000_000_000


def _config_params(rng: np.random.Generator, i: int) -> dict[str, str]:
    params = {f"trainer.option_{k:02d}": str(k) for k in range(60)}  # the many keys nobody changes
    params.update({f"data.feature_{k:02d}": f"feature_{k}" for k in range(30)})
    params.update(
        {
            "model.net.class_path": f"tradexp.models.{MODELS[i % 4].upper()}Net",
            "model.lr": f"{10 ** rng.uniform(-4, -2):.6f}",
            "model.net.hidden_size": str(int(rng.choice([16, 32, 64]))),
            "model.optimizer": str(rng.choice(["adam", "adamw"])),
            "seed_everything": str(i % 3),
        }
    )
    return params


def _log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def make_runs(client: MlflowClient, exp_id: str, n_runs: int, epochs: int, n_test: int = 250) -> list[str]:
    """`n_runs` finished training runs with histories, test/trading metrics, predictions and equity."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2022-01-03", periods=n_test, freq="B").strftime("%Y-%m-%d")
    ids = []
    for i in range(n_runs):
        run = client.create_run(
            exp_id,
            run_name=f"training-{MODELS[i % 4]}-bench-{i:04d}",
            start_time=T0 + i * 60_000,
            tags={"tradexp.type": "training", "tradexp.model": MODELS[i % 4], "tradexp.stage": "development"},
        )
        rid = run.info.run_id
        client.log_batch(rid, params=[Param(k, v) for k, v in _config_params(rng, i).items()])
        metrics = []
        for e in range(epochs):
            step, ts = (e + 1) * 10, T0 + i * 60_000 + e * 1000
            metrics += [
                Metric("epoch", float(e), ts, step),
                Metric("train/loss", 0.7 - 0.01 * e + rng.normal(0, 0.005), ts, step),
                Metric("val/loss", 0.72 - 0.005 * e + rng.normal(0, 0.01), ts, step),
                Metric("val/acc", 0.5 + 0.004 * e + rng.normal(0, 0.01), ts, step),
            ]
        finals = {f"test/{k}": rng.uniform(0.4, 0.6) for k in ("acc", "auroc", "balanced_acc", "f1", "loss")}
        finals.update(
            {f"test/trading/{k}": rng.normal() for k in ("sharpe", "sortino", "max_drawdown", "calmar", "annual_return", "annual_vol", "hit_rate", "turnover", "exposure")}
        )
        metrics += [Metric(k, float(v), T0, epochs * 10 + 1) for k, v in finals.items()]
        _log_metrics(client, rid, metrics)
        target = rng.integers(0, 2, n_test)
        preds = pd.DataFrame({"timestamp": times, "target": target, "pred": np.clip(0.5 + 0.1 * (target - 0.5) + rng.normal(0, 0.15, n_test), 0, 1)})
        client.log_text(rid, preds.to_csv(index=False), "predictions/test_predictions.csv")
        equity = pd.DataFrame({"timestamp": times, "equity_model": np.cumprod(1 + rng.normal(0.0003, 0.01, n_test))})
        client.log_text(rid, equity.to_csv(index=False), "evaluation/equity.csv")
        client.set_terminated(rid, "FINISHED", end_time=T0 + i * 60_000 + epochs * 1000)
        ids.append(rid)
    return ids


def make_study(client: MlflowClient, exp_id: str, n_trials: int, epochs: int, journal: Path) -> str:
    """A parent run + `n_trials` child runs mirroring a real Optuna study (journal storage, median pruning)."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.create_study(
        study_name="bench-study",
        storage=storage,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    parent = client.create_run(exp_id, run_name="hpo_study-bench", start_time=T0, tags={"tradexp.type": "hpo_study", "tradexp.study": "bench-study"})
    pid = parent.info.run_id
    for _ in range(n_trials):
        trial = study.ask()
        lr = trial.suggest_float("model.lr", 1e-4, 1e-1, log=True)
        hidden = trial.suggest_int("model.net.hidden_size", 8, 128)
        opt = trial.suggest_categorical("model.optimizer", ["adam", "adamw", "sgd"])
        dropout = trial.suggest_float("model.net.dropout", 0.0, 0.5)
        values, state = [], optuna.trial.TrialState.COMPLETE
        for e in range(epochs):
            values.append(0.5 + 0.1 * (math.log10(lr) + 2) ** 2 + 0.1 * dropout + (0.05 if opt == "sgd" else 0) + 0.3 / (e + 1) + 0.02 * (128 - hidden) / 128)
            trial.report(values[-1], e)
            if trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
        study.tell(trial, min(values) if state == optuna.trial.TrialState.COMPLETE else None, state=state)
        start = T0 + 1000 + trial.number * 5000
        child = client.create_run(
            exp_id,
            run_name=f"trial-{trial.number:04d}",
            start_time=start,
            tags={"mlflow.parentRunId": pid, "tradexp.type": "hpo_trial", "tradexp.study": "bench-study", "tradexp.trial": str(trial.number), "tradexp.trial.state": state.name},
        )
        metrics = [m for e, v in enumerate(values) for m in (Metric("val/loss", v, start + e, (e + 1) * 10), Metric("epoch", float(e), start + e, (e + 1) * 10))]
        params = [Param(k, str(v)) for k, v in trial.params.items()] + [Param(f"trainer.option_{k:02d}", str(k)) for k in range(60)]
        client.log_batch(child.info.run_id, metrics=metrics, params=params)
        client.set_terminated(child.info.run_id, "FINISHED", end_time=start + 1000 * len(values))
    settings = {"study_name": "bench-study", "storage": f"journal://{journal}", "metric": "val/loss", "direction": "minimize", "n_trials": n_trials}
    client.log_text(pid, json.dumps(settings), "hpo/study.json")
    client.log_text(pid, study.trials_dataframe().to_csv(index=False), "hpo/trials.csv")
    log_importances(client, pid, study)  # as `tradexp hpo` does when the study ends (not timed: the report reads them)
    client.set_terminated(pid, "FINISHED", end_time=T0 + 2000 + n_trials * 5000)
    return pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 runs, 50 trials, 5 epochs")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    runs, trials, epochs = (20, 50, 5) if args.quick else (args.runs, args.trials, args.epochs)
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        root = Path(tmp)
        client = open_store(f"sqlite:///{root / 'mlflow.db'}")
        exp_id = ensure_experiment(client, "bench/reports", client.tracking_uri)
        t = time.perf_counter()
        ids = make_runs(client, exp_id, runs, epochs)
        setup_runs = time.perf_counter() - t
        t = time.perf_counter()
        make_study(client, exp_id, trials, epochs, root / "optuna.journal")
        setup_study = time.perf_counter() - t

        t = time.perf_counter()
        compare_path = compare_report(ids, root / "comparison.html", metric="test/acc", client=client)
        compare_s = time.perf_counter() - t
        t = time.perf_counter()
        study_path = study_report("bench-study", root / "study.html", client=client)
        study_s = time.perf_counter() - t
        method = "fANOVA" if "fANOVA (Optuna" in study_path.read_text() else "PED-ANOVA" if "PED-ANOVA" in study_path.read_text() else "simple"

        print(f"setup: {runs} runs x {epochs} epochs in {setup_runs:.1f} s; study of {trials} trials in {setup_study:.1f} s")
        print(f"{'report':<34}{'seconds':>9}{'target':>9}{'size (MB)':>11}")
        for name, seconds, target, path in ((f"comparison of {runs} runs", compare_s, 10.0, compare_path), (f"HPO study of {trials} trials ({method})", study_s, 15.0, study_path)):
            ok = "ok" if seconds < target else "SLOW"
            print(f"{name:<34}{seconds:>9.2f}{'< ' + format(target, '.0f'):>9}{path.stat().st_size / 1e6:>11.2f}  {ok}")


if __name__ == "__main__":
    main()
