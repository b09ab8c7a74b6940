"""`tradexp report study` on a study that `tradexp hpo` really ran (not a hand-built copy of its layout).

One tiny study (3 trials x 2 epochs, 600 synthetic bars) is shared by the module; the report must
show what Optuna's storage and the MLflow runs hold, under the names the product really logs.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import optuna
import pytest
from mlflow import MlflowClient

from tests.conftest import store_copy
from tests.hpo.conftest import TRIAL, study_runs, write_hpo_config
from tradexp.cli import main
from tradexp.reporting import collect_study

STUDY = "real-study"
N_TRIALS, EPOCHS = 3, 2


@dataclass
class RealStudy:
    client: MlflowClient
    optuna_study: optuna.Study
    parent_id: str
    html: str
    report: Path


@pytest.fixture(scope="module")
def real_study(tmp_path_factory, _migrated_store) -> Iterator[RealStudy]:
    root = tmp_path_factory.mktemp("real-study")
    with store_copy(_migrated_store, root) as uri:
        config = write_hpo_config(root, n_trials=N_TRIALS, study_name=STUDY, overrides={**TRIAL, "trainer.max_epochs": EPOCHS})
        assert main(["hpo", "--config", str(config), "--no-progress"]) == 0
        report = root / "study.html"
        assert main(["report", "study", STUDY, "-o", str(report)]) == 0
        client = MlflowClient(uri)
        (parent,), _ = study_runs(client, STUDY)
        study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{root / 'optuna.db'}")
        yield RealStudy(client, study, parent.info.run_id, report.read_text(), report)


def _text(html: str) -> str:
    """The report's visible text (tags dropped, entities decoded, spaces collapsed)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.slow  # one tiny study: ~10 s on 2 shared cores
def test_study_report_of_a_real_hpo_shows_optunas_trials_and_best(real_study):
    study, html = real_study.optuna_study, real_study.html
    assert len(study.trials) == N_TRIALS and {t.state.name for t in study.trials} == {"COMPLETE"}
    best = study.best_trial
    assert f'<th>best trial</th><td class="num" data-v="{float(best.number)!r}">{best.number}</td>' in html
    assert f'data-v="{float(best.value)!r}"' in html  # the best value, exactly as Optuna stores it
    for trial in study.trials:  # each trial's value, exactly (data-v carries the unrounded number)
        assert f'data-v="{float(trial.value)!r}"' in html, (trial.number, trial.value)
    text = _text(html)
    assert f"{N_TRIALS} trials" in text
    assert "val/loss" in text  # the objective under the name the trials log
    assert not re.search(r"\bnan\b", text, re.I), text[max(0, re.search(r"\bnan\b", text, re.I).start() - 300) :][:600]
    # importances are the ones the real study stored when it ended, not the report's fallback
    assert "hpo/importances.json" in {a.path for a in real_study.client.list_artifacts(real_study.parent_id, "hpo")}
    assert "importances.json absent" not in text and "Optuna storage was not available" not in text


@pytest.mark.slow
def test_study_report_reads_the_real_param_and_metric_names(real_study):
    data = collect_study(real_study.client, STUDY)
    assert data.parent.run_id == real_study.parent_id and len(data.trials) == N_TRIALS
    assert data.metric == "val/loss" and data.direction == "minimize"
    space = ("model.lr", "model.net.init_args.hidden_sizes[0]")
    text = _text(real_study.html)
    for name in space:
        assert name in text, name  # the searched params under their real (override) names
    by_number = {int(run.tags["tradexp.trial"]): run for run in data.trials}
    for trial in real_study.optuna_study.trials:
        run = by_number[trial.number]
        assert len(run.histories["val/loss"]) == EPOCHS == len(trial.intermediate_values)  # one point per epoch
        assert {"model.lr", "model.net.hidden_sizes"} <= set(run.params), [k for k in run.params if k.startswith("model")]
        assert float(run.params["model.lr"]) == pytest.approx(trial.params["model.lr"], rel=1e-9)  # the sampled values ran
        assert run.params["model.net.hidden_sizes"] == f"[{trial.params['model.net.init_args.hidden_sizes[0]']}]"
    assert "report/study_report.html" in {a.path for a in real_study.client.list_artifacts(real_study.parent_id, "report")}
