"""A secret planted in a tag, a URL and the environment appears in no record of a fit, a study or a walk-forward.

Every byte tradexp leaves behind is scanned: the sqlite store (params, tags, inputs), the artifact
root (config, environment, reports, trials.csv, study.json), `lightning_logs/` (checkpoints, spool),
Optuna's database and the console. The inputs holding the secret live outside the scanned folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from callbacks import redaction
from mlflow import MlflowClient

from callbacks.redaction import REDACTED
from tests.conftest import CONFIGS, TINY
from tests.hpo.conftest import TRIAL, study_runs, write_hpo_config
from tradexp.api import override_args
from tradexp.cli import main

TAG_SECRET = "sk-planted-tag-5150"
URL_SECRET = "pw-planted-url-8086"
ENV_SECRET = "env-planted-2323"
SECRETS = (TAG_SECRET, URL_SECRET, ENV_SECRET)
PLANTED_TAGS = f"--tracking.tags={{api_token: {TAG_SECRET}, team: quant}}"


def leaks(folder: Path, console: str) -> list[str]:
    """Every file under `folder` (and the console) that holds one of the planted secrets."""
    found = [f"console: {s}" for s in SECRETS if s in console]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {s}" for s in SECRETS if s.encode() in data]
    return found


@pytest.fixture
def planted(mlflow_uri: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> str:
    """The environment secret set (an allow-listed variable with a secret name), warnings captured."""
    monkeypatch.setenv("PL_API_TOKEN", ENV_SECRET)
    caplog.set_level(logging.WARNING, logger="callbacks.redaction")
    # Each key warns once per process; an earlier test in the same process may have warned already.
    monkeypatch.setattr(redaction, "_warned_keys", set())
    return mlflow_uri


@pytest.mark.slow
def test_a_fit_records_no_planted_secret(planted, tmp_path, capfd, caplog):
    data_url = f"--tracking.purpose=https://quant:{URL_SECRET}@data.example.com/prices"  # a URL-valued setting
    code = main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), PLANTED_TAGS, data_url])
    out, err = capfd.readouterr()
    assert code == 0, err[-3000:]
    assert not leaks(tmp_path, out + err)

    client = MlflowClient(planted)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.tags["api_token"] == REDACTED and run.data.tags["team"] == "quant"
    assert run.data.params["tracking.tags.api_token"] == REDACTED
    assert run.data.params["tracking.purpose"] == "https://quant:***@data.example.com/prices"
    config = Path(client.download_artifacts(run.info.run_id, "config/config.yaml", str(tmp_path / "dl"))).read_text()
    assert f"api_token: {REDACTED}" in config
    assert "report/run_report.html" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}  # scanned above
    assert "`tracking.tags.api_token` looks like a secret" in caplog.text
    assert "`api_token` looks like a secret" in caplog.text


@pytest.mark.slow
def test_an_hpo_study_records_no_planted_secret(planted, tmp_path, capfd):
    inputs = tmp_path.parent / f"{tmp_path.name}-inputs"
    inputs.mkdir()
    overrides = {**TRIAL, "trainer.max_epochs": 2, "tracking.tags": {"api_token": TAG_SECRET}, "trainer.callbacks": []}
    config = write_hpo_config(inputs, overrides=overrides, n_trials=2)
    code = main(["hpo", "--config", str(config)])
    out, err = capfd.readouterr()
    assert code == 0, err[-3000:]
    assert not leaks(tmp_path, out + err)
    parents, children = study_runs(MlflowClient(planted), "tiny")
    assert len(parents) == 1 and len(children) == 2
    assert all(c.data.tags["api_token"] == REDACTED for c in children)
    assert REDACTED in parents[0].data.params["hpo.overrides"]


@pytest.mark.slow
def test_a_walk_forward_records_no_planted_secret(planted, tmp_path, capfd):
    only_trading = {"trainer.callbacks": [{"class_path": "tradexp.evaluation.TradingEvaluation"}]}
    args = ["walkforward", "--config", str(CONFIGS / "mlp.yaml"), "--folds", "2", "--mode", "rolling", *override_args({**TINY, **only_trading}), PLANTED_TAGS]
    code = main(args)
    out, err = capfd.readouterr()
    assert code == 0, err[-3000:]
    assert not leaks(tmp_path, out + err)
    client = MlflowClient(planted)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 3 and all(r.data.tags["api_token"] == REDACTED for r in runs)
