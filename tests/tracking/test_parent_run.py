"""Parent runs (study, walk-forward, comparison): names from a config, and an honest end status."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS
from tradexp.run import load_config
from tradexp.tracking.parent_run import ParentRun, config_identity, run_names


def test_names_and_tags_come_from_the_config_without_building_anything(mlflow_uri):
    config = load_config(CONFIGS / "lstm.yaml", {"tracking.purpose": "wf", "tracking.tags": {"team": "alpha"}})
    assert config_identity(config) == ("lstm", "synthetic")
    names = run_names(config["tracking"], *config_identity(config), run_type="walk_forward")
    assert names.experiment == "tradexp/development/synthetic"
    assert names.run_name.startswith("walk_forward-lstm-wf-")
    assert {"tradexp.type": "walk_forward", "tradexp.model": "lstm", "team": "alpha"}.items() <= names.tags.items()
    assert names.tracking_uri == mlflow_uri


@pytest.mark.parametrize("error, status", [(None, "FINISHED"), (RuntimeError("boom"), "FAILED"), (KeyboardInterrupt(), "KILLED")], ids=["clean", "exception", "ctrl-c"])
def test_a_parent_run_ends_with_the_status_its_end_deserves(mlflow_uri, error, status):
    names = run_names({"purpose": "p"}, "mlp", "synthetic", "comparison")
    with pytest.raises(type(error)) if error is not None else _nothing():
        with ParentRun.start(names) as parent:
            if error is not None:
                raise error
    run = MlflowClient(mlflow_uri).get_run(parent.run_id)
    assert run.info.status == status
    assert run.data.tags["tradexp.git.commit"] and run.data.tags["tradexp.type"] == "comparison"
    assert ("tradexp.error" in run.data.tags) == (status != "FINISHED")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
