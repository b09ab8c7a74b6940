"""`tradexp reproduce` of a real run: same test metrics, and a changed data file is reported."""

import re

import pandas as pd

from tradexp.api import reproduce
from tradexp.cli import main
from tradexp.data.loading import bars_digest, load_bars
from tradexp.organisation.reproduce import REPRODUCES_TAG, Difference, compare_with_now


def test_reproduce_matches_the_test_metrics_and_links_the_new_run(store, capsys):
    original = store.mlp_csv.run_id
    assert main(["reproduce", original]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Reproducing run {original}"
    assert "data digest" not in out  # same file, same bars
    new_id = re.search(r"Reproduction run: ([0-9a-f]{32}) \(tag tradexp.reproduces=" + original, out).group(1)
    assert re.search(r"test metrics match: (\d+)/\1 equal", out)
    client = store.client
    new, old = client.get_run(new_id), client.get_run(original)
    assert new.data.tags["tradexp.type"] == "reproduction"
    assert new.data.tags[REPRODUCES_TAG] == original
    assert new.info.run_name.startswith("reproduction-mlp-csv-")
    assert new.info.experiment_id == old.info.experiment_id
    assert new.data.tags["tradexp.dataset.digest"] == old.data.tags["tradexp.dataset.digest"]
    assert new.data.tags["team"] == "alpha"  # the original's user tags come along
    note = new.data.tags["mlflow.note.content"]  # the MLflow UI's description: what it is, then its headline
    assert note.startswith(f"Reproduction of run {original}") and "| Sharpe after costs |" in note
    tested = {k: v for k, v in old.data.metrics.items() if k.startswith("test/")}
    assert tested and {k: new.data.metrics[k] for k in tested} == tested


def test_a_changed_data_file_is_reported_before_starting(store, capsys):
    original = store.mlp_csv.run_id
    digest_before = store.client.get_run(original).data.tags["tradexp.dataset.digest"]
    saved = store.csv.read_text()
    try:
        bars = pd.read_csv(store.csv)
        bars.loc[300, "volume"] = bars.loc[300, "volume"] * 2  # one cell of one row
        bars.to_csv(store.csv, index=False)
        digest_now = bars_digest(load_bars(store.csv))
        assert main(["reproduce", original, "--check"]) == 1
        out = capsys.readouterr().out
        source = str(store.csv.resolve())
        expected = f"  data digest: {digest_before} ({source}) (original) -> {digest_now} ({source}) (now); the file {source} changed since the run"
        assert expected in out.splitlines()
        assert "Reproduction run" not in out  # --check starts nothing
        result = reproduce(original, check_only=True)
        assert Difference("data digest", f"{digest_before} ({source})", f"{digest_now} ({source})", f"the file {source} changed since the run") in result.differences
        assert result.run_id is None
    finally:
        store.csv.write_text(saved)


def test_package_versions_from_the_environment_artifact_are_compared(store, tmp_path):
    run_id = store.gru.run_id
    store.client.log_dict(run_id, {"python": "3.11.7", "packages": {"torch": "0.0.1", "mlflow": "3.17.2", "nosuchpkg-xyz": "1.0"}}, "environment/environment.json")
    run = store.client.get_run(run_id)
    differences = {d.what: d for d in compare_with_now(store.client, run, {"path": None, "synthetic": {"n_bars": 600}})}
    assert differences["package torch"].original == "0.0.1"
    assert differences["package nosuchpkg-xyz"].now == "not installed"
    assert "data digest" not in differences  # synthetic bars are rebuilt from their seed: same digest


def test_strict_refuses_to_start_when_something_differs(store, capsys):
    original = store.gru.run_id  # its environment.json (previous test) names other package versions
    assert main(["reproduce", original, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "package torch: 0.0.1 (original)" in out
    assert out.strip().splitlines()[-1] == "--strict: not started because of the differences above"
    runs = store.client.search_runs([store.client.get_run(original).info.experiment_id], f"tags.`{REPRODUCES_TAG}` = '{original}'")
    assert runs == []


def test_a_trial_is_reproduced_as_a_standalone_run_on_the_exact_file(store):
    from tradexp.organisation.reproduce import reproduction_config

    run = store.client.get_run(store.mlp_csv.run_id)
    stored = {
        "ckpt_path": None,
        "data": {"path": "bars.csv"},
        "tracking": {
            "run_type": "hpo_trial",
            "run_name": "study-1/trial-3",
            "run_id": "abc",
            "tags": {"team": "alpha", "mlflow.parentRunId": "p1", "tradexp.study": "s1", "tradexp.trial": "3"},
        },
    }
    config = reproduction_config(stored, run, "tradexp/development/bars", store.uri)
    assert "ckpt_path" not in config
    assert config["data"]["path"] == str(store.csv.resolve())
    assert config["tracking"]["tags"] == {"team": "alpha", REPRODUCES_TAG: run.info.run_id}
    assert (config["tracking"]["run_type"], config["tracking"]["run_name"], config["tracking"]["run_id"]) == ("reproduction", None, None)
    assert (config["tracking"]["experiment"], config["tracking"]["tracking_uri"]) == ("tradexp/development/bars", store.uri)
