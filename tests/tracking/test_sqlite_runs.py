"""The sqlite reader of the look-back commands gives MLflow's answers: the same runs, order, tags,
latest metrics and configs as `MlflowClient` on one real store, for every filter `tradexp runs` has."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, RunTag

from tradexp.config.history import get_run, run_config
from tradexp.errors import TrackingError
from tradexp.organisation.run_query import RunQuery, find_runs
from tradexp.tracking.sqlite_runs import SCHEMA_REVISIONS, SqliteRuns, open_sqlite_runs

T0 = 1_700_000_000_000
MODELS = ("mlp", "lstm", "gru")
STATUSES = ("FINISHED", "FAILED", "KILLED", "FINISHED", "RUNNING")


@pytest.fixture(scope="module")
def populated(tmp_path_factory, _migrated_store):
    """A store of 24 runs in three experiments: tags, statuses, start times, NaN/inf/absent metrics, a
    deleted run, a deleted experiment, children of one parent, configs of two runs."""
    import shutil

    root = tmp_path_factory.mktemp("sqlite-runs")
    shutil.copyfile(_migrated_store, root / "mlflow.db")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiments = [client.create_experiment(f"tradexp/development/{m}", artifact_location=(root / "mlartifacts" / m).as_uri()) for m in MODELS]
    gone = client.create_experiment("tradexp/development/gone", artifact_location=(root / "mlartifacts" / "gone").as_uri())
    parent = client.create_run(experiments[0], run_name="study", start_time=T0, tags={"tradexp.type": "hpo_study"}).info.run_id
    ids = []
    for i in range(24):
        model = MODELS[i % 3]
        tags = {"tradexp.type": "training" if i % 4 else "hpo_trial", "tradexp.model": model, "tradexp.stage": ("development", "staging")[i % 2], "team": f"t{i % 3}"}
        tags |= {"tradexp.dataset": "bars", "tradexp.purpose": "bench"} if i % 3 == 1 else {}
        if i % 4 == 0:
            tags["mlflow.parentRunId"] = parent
        start = T0 + (i % 7) * 60_000  # equal start times: the run id breaks the tie
        run = client.create_run(experiments[i % 3], run_name=f"run-{i:02d}", start_time=start, tags=tags)
        rid = run.info.run_id
        acc = [0.51, float("nan"), 0.47, 0.6, float("inf"), 0.5][i % 6]
        metrics = [Metric("val/loss", 0.7 - 0.01 * e, start + e, e) for e in range(3)]
        if i % 5:  # every fifth run has no test/acc
            metrics.append(Metric("test/acc", acc, start, 9))
        metrics.append(Metric("test/trading/sharpe", (i % 9) - 4.0, start, 9))
        client.log_batch(rid, metrics=metrics, tags=[RunTag("mlflow.user", "tester")])
        if STATUSES[i % 5] != "RUNNING":
            client.set_terminated(rid, STATUSES[i % 5], end_time=start + 1000)
        ids.append(rid)
    client.log_text(ids[3], yaml.safe_dump({"model": {"lr": 0.001}, "data": {"window": 32}}), "config/config.yaml")
    client.log_text(ids[7], yaml.safe_dump({"model": {"lr": 0.01}, "data": {"window": 32}}), "config/config.yaml")
    datasets = [DatasetInput(Dataset(f"bars/{s}", f"digest-{s}", "local", f"/data/{s}.csv"), [InputTag("mlflow.data.context", "training")]) for s in ("SPY", "QQQ", "IWM")]
    client.log_inputs(ids[3], datasets)
    client.log_metric(ids[3], "val/loss", float("nan"), timestamp=T0 + 10**7, step=3)  # a NaN, last in the history
    client.delete_run(ids[5])
    client.create_run(gone, run_name="in-a-deleted-experiment", start_time=T0)
    client.delete_experiment(gone)
    return uri, client, ids, parent


QUERIES = [
    {},
    {"limit": 5},
    {"model": "lstm"},
    {"stage": "staging", "type": "training"},
    {"tags": {"team": "t1"}},
    {"status": "failed"},
    {"status": "running"},
    {"experiment": "tradexp/development/gru"},
    {"experiment": "tradexp/development/*", "model": "gru"},
    {"experiment": "tradexp/development/gone"},
    {"parent": "PARENT"},  # the study's children (the fixture's parent run id)
    {"dataset": "bars", "purpose": "bench"},
    {"since": "2023-11-14T22:16:00+00:00"},
    {"where": ["test/acc>0.5"]},
    {"where": ["test/acc>=0.5", "test/trading/sharpe<1"]},
    {"where": ["test/acc!=0.6"]},
    {"where": ["test/acc!=0"]},  # a NaN is stored as 0: it still satisfies `!=`, as in MLflow
    {"where": ["val/loss<0.69"]},  # ...and never `<` (one run's latest val/loss is NaN)
    {"where": ["test/acc=0.47"]},
    {"sort": "test/acc"},
    {"sort": "test/acc", "ascending": True},
    {"sort": "test/acc", "limit": 17},  # 15 runs with a number, then NaN before absent: the limit cuts among those
    {"sort": "test/acc", "ascending": True, "limit": 17},
    {"sort": "test/trading/sharpe", "limit": 7},
    {"sort": "no/such/metric"},
    {"sort": "test/acc", "where": ["val/loss<0.69"], "model": "mlp"},
]


def _same_number(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("fields", QUERIES, ids=[str(q) or "everything" for q in QUERIES])
def test_the_reader_finds_the_runs_mlflow_finds_in_its_order(populated, fields):
    uri, client, _, parent = populated
    reader = open_sqlite_runs(uri)
    assert isinstance(reader, SqliteRuns)
    query = RunQuery(**{"limit": 50, **{k: parent if v == "PARENT" else v for k, v in fields.items()}})
    expected, expected_experiments = find_runs(client, query)
    got, got_experiments = find_runs(reader, query)
    assert got_experiments == expected_experiments
    assert [r.info.run_id for r in got] == [r.info.run_id for r in expected]
    for mine, theirs in zip(got, expected):
        assert (mine.info.experiment_id, mine.info.run_name, mine.info.status, mine.info.start_time, mine.info.artifact_uri) == (
            theirs.info.experiment_id,
            theirs.info.run_name,
            theirs.info.status,
            theirs.info.start_time,
            theirs.info.artifact_uri,
        )
        assert mine.data.tags == theirs.data.tags
        assert mine.data.metrics.keys() == theirs.data.metrics.keys()
        assert all(_same_number(mine.data.metrics[k], theirs.data.metrics[k]) for k in mine.data.metrics)


def test_the_queries_cover_what_they_claim(populated):
    """The cases above are not vacuous: empty results, NaN, inf and absent sort values, ties, a limit."""
    uri, client, _, parent = populated
    count = {str(q): len(find_runs(client, RunQuery(**{"limit": 50, **{k: parent if v == "PARENT" else v for k, v in q.items()}}))[0]) for q in QUERIES}
    assert count["{}"] == 24 and count["{'limit': 5}"] == 5 and count["{'experiment': 'tradexp/development/gone'}"] == 0
    assert 0 < count["{'status': 'failed'}"] < 24 and 0 < count["{'where': ['test/acc>0.5']}"] < 24
    assert 0 < count["{'parent': 'PARENT'}"] < 24 and 0 < count["{'dataset': 'bars', 'purpose': 'bench'}"] < 24
    metrics = [r.data.metrics.get("test/acc") for r in find_runs(client, RunQuery(sort="test/acc"))[0]]
    assert any(v is not None and math.isnan(v) for v in metrics) and None in metrics
    assert 1.7976931348623157e308 in metrics  # MLflow stores an inf as the largest float


def test_the_reader_gets_a_run_and_its_config_as_mlflow_does(populated):
    uri, client, ids, _ = populated
    reader = open_sqlite_runs(uri)
    for run_id in (ids[3], ids[5]):  # ids[5] is deleted: get_run still finds it
        mine, theirs = get_run(reader, run_id), get_run(client, run_id)
        assert (mine.info.run_id, mine.info.artifact_uri, mine.info.lifecycle_stage, mine.data.tags) == (
            theirs.info.run_id,
            theirs.info.artifact_uri,
            theirs.info.lifecycle_stage,
            theirs.data.tags,
        )
    assert run_config(reader, ids[7]) == run_config(client, ids[7]) == {"model": {"lr": 0.01}, "data": {"window": 32}}
    mine, theirs = reader.get_run(ids[3]), client.get_run(ids[3])
    assert mine.data.params == theirs.data.params and mine.info.end_time == theirs.info.end_time
    names = [d.dataset.name for d in mine.inputs.dataset_inputs]
    assert len(names) == 3 and names == [d.dataset.name for d in theirs.inputs.dataset_inputs]
    assert [(d.dataset.digest, d.dataset.source, d.dataset.source_type) for d in mine.inputs.dataset_inputs] == [
        (d.dataset.digest, d.dataset.source, d.dataset.source_type) for d in theirs.inputs.dataset_inputs
    ]
    history = [(m.step, m.value, m.timestamp) for m in reader.get_metric_history(ids[3], "val/loss")]
    expected = [(m.step, m.value, m.timestamp) for m in client.get_metric_history(ids[3], "val/loss")]
    assert len(history) == 4 and math.isnan(history[-1][1]) and history[:3] == expected[:3] and math.isnan(expected[-1][1])
    assert reader.get_experiment(mine.info.experiment_id).name == client.get_experiment(mine.info.experiment_id).name
    with pytest.raises(TrackingError, match="is not in the store") as mine:
        get_run(reader, "0" * 32)
    with pytest.raises(TrackingError, match="is not in the store") as theirs:
        get_run(client, "0" * 32)
    assert str(mine.value) == str(theirs.value)
    with pytest.raises(TrackingError, match="has no `config/config.yaml`"):
        run_config(reader, ids[0])


def test_the_schema_of_this_mlflow_is_one_the_reader_was_checked_against(_migrated_store):
    """Fails when MLflow brings a new tracking schema: check the reader against it (the tests above),
    then add the revision to `SCHEMA_REVISIONS`. Until then the commands use MLflow's client."""
    (revision,) = sqlite3.connect(_migrated_store).execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in SCHEMA_REVISIONS


def test_anything_but_a_known_sqlite_store_goes_through_mlflow(tmp_path, _migrated_store):
    import shutil

    assert open_sqlite_runs("http://127.0.0.1:5000") is None
    assert open_sqlite_runs(f"sqlite:///{tmp_path / 'missing.db'}") is None
    (tmp_path / "not-a-db.db").write_text("hello")
    assert open_sqlite_runs(f"sqlite:///{tmp_path / 'not-a-db.db'}") is None
    other = tmp_path / "other-schema.db"
    shutil.copyfile(_migrated_store, other)
    with sqlite3.connect(other) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    assert open_sqlite_runs(f"sqlite:///{other}") is None
    assert isinstance(open_sqlite_runs(f"sqlite:///{_migrated_store}"), SqliteRuns)


def test_a_threshold_mlflow_cannot_compare_is_refused_before_either_reader(populated):
    uri, client, _, _ = populated
    for text in ("test/acc>nan", "test/acc<inf", "test/trading/sharpe != inf"):
        with pytest.raises(ValueError, match="the threshold must be a finite number"):
            find_runs(open_sqlite_runs(uri), RunQuery(where=[text]))


def test_with_mlflow_workspaces_on_mlflow_answers(populated, monkeypatch):
    uri = populated[0]
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert open_sqlite_runs(uri) is None


def test_a_report_logged_by_the_reader_is_what_mlflow_lists_and_reads(populated, tmp_path):
    uri, client, ids, _ = populated
    page = tmp_path / "run_report.html"
    page.write_text("<html>report</html>")
    reader = open_sqlite_runs(uri)
    reader.log_artifact(ids[8], str(page), "report")
    reader.log_artifact(ids[8], str(page), "report")  # again: replaced, not doubled
    assert [(a.path, a.file_size) for a in client.list_artifacts(ids[8], "report")] == [("report/run_report.html", page.stat().st_size)]
    assert Path(client.download_artifacts(ids[8], "report/run_report.html", str(tmp_path / "back"))).read_text() == "<html>report</html>"
    folder = Path(client.get_run(ids[8]).info.artifact_uri.removeprefix("file://")) / "report"
    assert sorted(p.name for p in folder.iterdir()) == ["run_report.html"]  # no temporary file left


def test_a_store_damaged_while_read_is_one_message_not_a_traceback(tmp_path, _migrated_store):
    import shutil

    db = tmp_path / "mlflow.db"
    shutil.copyfile(_migrated_store, db)
    reader = open_sqlite_runs(f"sqlite:///{db}")
    db.write_bytes(b"not a database any more" * 100)
    with pytest.raises(TrackingError, match=r"cannot read the MLflow store .*mlflow\.db: file is not a database"):
        reader.experiments()
