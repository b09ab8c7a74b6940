"""Experiment and run names, and the tags every run carries, for every stage and run type."""

import datetime as dt
import itertools

import pytest

from tradexp import __version__
from tradexp.tracking.naming import (
    KEY_PACKAGES,
    MAX_RUN_NAME,
    RUN_TYPES,
    STAGES,
    RunIdentity,
    experiment_name,
    git_tags,
    identity_tags,
    parent_run_tags,
    run_name,
    tag_key_problem,
    template_problem,
)

WHEN = dt.datetime(2024, 6, 11, 9, 30, 15, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("stage, run_type", list(itertools.product(STAGES, RUN_TYPES)))
def test_names_and_tags_for_every_stage_and_type(stage, run_type):
    identity = RunIdentity(model="lstm", dataset="btc_1h", stage=stage, type=run_type, purpose="baseline", timestamp=WHEN)
    assert experiment_name(identity) == f"tradexp/{stage}/btc_1h"
    assert run_name(identity) == f"{run_type}-lstm-baseline-20240611-093015"
    tags = identity_tags(identity, {"team": "alpha"})
    assert tags["tradexp.stage"] == stage
    assert tags["tradexp.type"] == run_type
    assert tags["tradexp.model"] == "lstm"
    assert tags["tradexp.dataset"] == "btc_1h"
    assert tags["tradexp.purpose"] == "baseline"
    assert tags["tradexp.version"] == __version__
    assert tags["team"] == "alpha"


def test_templates_use_every_field_and_timestamps_are_utc():
    local = WHEN.astimezone(dt.timezone(dt.timedelta(hours=2)))
    identity = RunIdentity(model="gru", dataset="spx", stage="staging", type="hpo_trial", purpose="tune", dataset_version="2024-06", timestamp=local)
    template = "{stage}/{type}/{model}/{dataset}@{dataset_version}/{purpose}/{date}/{timestamp}"
    assert experiment_name(identity, template) == "staging/hpo_trial/gru/spx@2024-06/tune/2024-06-11/20240611-093015"
    assert identity_tags(identity)["tradexp.dataset.version"] == "2024-06"


def test_field_values_are_made_name_safe_and_an_empty_purpose_reads_run():
    identity = RunIdentity(model="lstm", dataset="prices 2024 (v1)", purpose="", timestamp=WHEN)
    assert experiment_name(identity) == "tradexp/development/prices_2024_v1"
    assert run_name(identity) == "training-lstm-run-20240611-093015"
    # the tag keeps the exact value
    assert identity_tags(identity)["tradexp.dataset"] == "prices 2024 (v1)"


def test_unknown_template_field_is_a_clear_error():
    identity = RunIdentity(model="lstm", dataset="d", timestamp=WHEN)
    with pytest.raises(ValueError, match=r"tracking\.run_template: '\{kind\}-\{model\}' received; unknown field 'kind'; allowed fields: stage, type"):
        run_name(identity, "{kind}-{model}")
    assert template_problem("{model", "run").startswith("tracking.run_template: '{model' received; not a valid template")


def test_characters_mlflow_names_should_not_carry_are_refused():
    identity = RunIdentity(model="lstm", dataset="d", timestamp=WHEN)
    with pytest.raises(ValueError, match=r"tracking\.experiment_template: 'exp\?\{model\}' received; names may hold letters"):
        experiment_name(identity, "exp?{model}")


def test_over_long_names_are_refused_with_the_setting_to_change():
    identity = RunIdentity(model="lstm", dataset="d", purpose="x" * 300, timestamp=WHEN)
    with pytest.raises(ValueError, match=rf"run name .* has 3\d\d characters; MLflow allows 1\.\.{MAX_RUN_NAME}: shorten `tracking.purpose`"):
        run_name(identity)


def test_unknown_stage_and_type_are_refused():
    with pytest.raises(ValueError, match=r"tracking\.stage: 'prod' received; allowed: development, staging, production"):
        RunIdentity(model="lstm", dataset="d", stage="prod")
    with pytest.raises(ValueError, match=r"tracking\.run_type: 'sweep' received; allowed: training, hpo_study"):
        RunIdentity(model="lstm", dataset="d", type="sweep")


def test_user_tags_cannot_replace_identity_tags_or_break_mlflow_keys():
    identity = RunIdentity(model="lstm", dataset="d")
    with pytest.raises(ValueError, match=r"tracking\.tags: key 'tradexp\.stage' received; tradexp sets this tag itself \(from tracking\.stage\)"):
        identity_tags(identity, {"tradexp.stage": "production"})
    assert "tag keys are 1..250 characters" in tag_key_problem("bad key!", "v")
    assert "at most 8000" in tag_key_problem("note", "x" * 9000)
    assert tag_key_problem("tradexp.study", "s1") is None  # HPO's own tags pass
    assert parent_run_tags("abc") == {"mlflow.parentRunId": "abc"}


def test_package_versions_and_git_state_of_the_code_are_tags():
    tags = identity_tags(RunIdentity(model="mlp", dataset="d"))
    assert tags["tradexp.env.python"].count(".") == 2
    assert {f"tradexp.env.{p}" for p in ("torch", "lightning", "mlflow")} <= set(tags)
    assert all(k.split(".")[-1] in KEY_PACKAGES or k.endswith("python") for k in tags if k.startswith("tradexp.env."))
    code = git_tags()  # this test runs inside the tradexp checkout
    assert len(code["tradexp.git.commit"]) == 40
    assert code["tradexp.git.dirty"] in ("true", "false")
    assert ("tradexp.git.diff_digest" in code) == (code["tradexp.git.dirty"] == "true")


def test_git_tags_outside_a_checkout_say_none(tmp_path):
    assert git_tags(tmp_path) == {"tradexp.git.commit": "none", "tradexp.git.dirty": "false"}
