"""Every tag, the dataset input and the split boundaries land on a real `fit` run."""

import json

from tradexp.data.loading import bars_digest, load_bars

IDENTITY = ("stage", "type", "model", "dataset", "dataset.digest", "purpose", "git.commit", "git.dirty", "version")


def test_every_identity_and_user_tag_lands_on_the_run(store):
    tags = store.client.get_run(store.mlp_csv.run_id).data.tags
    assert {f"tradexp.{name}" for name in IDENTITY} <= set(tags)
    assert (tags["tradexp.stage"], tags["tradexp.type"], tags["tradexp.model"]) == ("development", "training", "mlp")
    assert (tags["tradexp.dataset"], tags["tradexp.purpose"], tags["tradexp.dataset.version"]) == ("bars", "csv", "v1")
    assert len(tags["tradexp.git.commit"]) == 40  # the checkout of the tradexp code, although cwd is a temp folder
    assert tags["tradexp.git.dirty"] in ("true", "false")
    assert tags["team"] == "alpha"
    assert tags["tradexp.env.torch"] and tags["tradexp.env.lightning"]
    run = store.client.get_run(store.gru.run_id)
    assert run.data.tags["tradexp.stage"] == "staging"
    assert run.info.run_name.startswith("training-gru-baseline-")
    assert store.client.get_experiment(run.info.experiment_id).name == "tradexp/staging/synthetic"


def test_the_exact_data_file_is_a_dataset_input_with_digest_and_source(store):
    run = store.client.get_run(store.mlp_csv.run_id)
    digest = bars_digest(load_bars(store.csv))
    assert run.data.tags["tradexp.dataset.digest"] == digest
    assert run.data.tags["tradexp.dataset.source"] == str(store.csv.resolve())
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == digest
    assert dataset_input.dataset.name == "bars"
    assert json.loads(dataset_input.dataset.source)["uri"] == str(store.csv.resolve())
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"


def test_split_boundaries_are_recorded_as_tags_and_in_splits_json(store, tmp_path):
    run_id = store.mlp_csv.run_id
    tags = store.client.get_run(run_id).data.tags
    local = store.client.download_artifacts(run_id, "data/splits.json", str(tmp_path))
    splits = json.loads(open(local).read())
    assert splits["source"] == str(store.csv.resolve())
    assert splits["digest"] == tags["tradexp.dataset.digest"]
    assert splits["n_bars"] == 600
    boundaries = splits["boundaries"]
    assert boundaries == {key[len("tradexp.split.") :]: value for key, value in tags.items() if key.startswith("tradexp.split.")}
    order = [boundaries[k] for k in ("train_start", "train_end", "val_start", "val_end", "test_start", "test_end")]
    assert order == sorted(order) and len(set(order)) == 6
