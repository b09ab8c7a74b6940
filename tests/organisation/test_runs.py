"""`tradexp runs` on real runs: filters by tags, status, experiment and metric thresholds; sorting; formats."""

import csv
import io
import json

import pytest

from tradexp.api import list_runs
from tradexp.cli import main
from tradexp.organisation.commands import runs_main
from tradexp.organisation.run_query import parse_condition


def _json(capsys, *argv):
    # `--type training` leaves out reproductions that other test modules add to the shared store
    assert runs_main(["--format", "json", "--type", "training", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def _ids(capsys, *argv):
    return [row["run_id"] for row in _json(capsys, *argv)]


def test_table_lists_every_run_newest_first_with_key_metrics(store, capsys):
    assert runs_main(["--type", "training"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:7] == ["run_id", "start", "status", "type", "model", "dataset", "stage"]
    assert {"val/loss", "test/loss", "test/acc", "test/auroc"} <= set(header)
    assert out.index(store.failed_id) < out.index(store.gru.run_id) < out.index(store.mlp_csv.run_id)
    assert "3 run(s)" in out


def test_filters_by_tags_status_and_experiment(store, capsys):
    assert _ids(capsys, "--model", "gru") == [store.gru.run_id]
    assert _ids(capsys, "--stage", "staging") == [store.gru.run_id]
    assert _ids(capsys, "--dataset", "bars") == [store.mlp_csv.run_id]
    assert _ids(capsys, "--tag", "team=alpha") == [store.mlp_csv.run_id]
    assert _ids(capsys, "--status", "failed") == [store.failed_id]
    assert set(_ids(capsys, "--status", "FINISHED")) == {store.mlp_csv.run_id, store.gru.run_id}
    assert store.failed_id not in _ids(capsys, "--type", "reproduction")
    assert _ids(capsys, "--experiment", "tradexp/staging/*") == [store.gru.run_id]
    assert _ids(capsys, "--purpose", "csv") == [store.mlp_csv.run_id]
    assert _ids(capsys, "--model", "transformer") == []


def test_metric_thresholds_and_sorting(store, capsys):
    losses = {store.mlp_csv.run_id: store.mlp_csv.metrics["test/loss"], store.gru.run_id: store.gru.metrics["test/loss"]}
    low, high = sorted(losses, key=losses.get)
    middle = sum(losses.values()) / 2
    assert _ids(capsys, "--where", f"test/loss<{middle}") == [low]
    assert _ids(capsys, "--where", f"test/loss >= {middle}") == [high]
    assert _ids(capsys, "--model", "mlp", "--where", "test/loss>0") == [store.mlp_csv.run_id]
    assert _ids(capsys, "--model", "mlp", "--where", "test/loss>0", "--where", "test/loss<0") == []
    assert _ids(capsys, "--sort", "test/loss", "--ascending") == [low, high, store.failed_id]  # no metric: last
    assert _ids(capsys, "--sort", "test/loss") == [high, low, store.failed_id]
    rows = _json(capsys, "--sort", "test/loss", "--limit", "1")
    assert rows[0]["test/loss"] == pytest.approx(losses[high])


def test_csv_format_has_full_precision(store, capsys):
    assert runs_main(["--format", "csv", "--model", "mlp", "--type", "training", "--metrics", "test/acc,test/loss"]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["run_id"] == store.mlp_csv.run_id
    assert float(row["test/loss"]) == pytest.approx(store.mlp_csv.metrics["test/loss"], rel=1e-6)
    assert row["experiment"] == "tradexp/development/bars"


def test_a_bad_condition_is_one_clear_line(store, capsys):
    assert main(["runs", "--where", "test/acc>>0.5"]) == 2
    assert capsys.readouterr().err.strip() == ("tradexp: error: --where: 'test/acc>>0.5' received; write <metric><op><number>, e.g. \"test/acc>0.52\" (ops: > >= < <= = !=)")
    assert parse_condition("test/trading/sharpe >= 1.5").mlflow() == "metrics.`test/trading/sharpe` >= 1.5"
    assert main(["runs", "--status", "done"]) == 2
    assert "--status: 'done' received; one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED" in capsys.readouterr().err


def test_reap_runs_before_listing(store, capsys):
    assert runs_main(["--reap", "--status", "finished", "--type", "training"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("reaped 0 stale run(s)") or first.startswith("--reap: the reaper")


def test_python_api_returns_a_dataframe(store):
    frame = list_runs(model="mlp", type="training", where=["test/acc>0"], metrics=["test/acc"])
    assert list(frame["run_id"]) == [store.mlp_csv.run_id]
    assert list(frame.columns)[-1] == "test/acc"
    assert frame.loc[0, "model"] == "mlp" and frame.loc[0, "stage"] == "development"
