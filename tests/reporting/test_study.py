"""`tradexp report study` on a real Optuna study mirrored into a real MLflow store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import optuna
import pytest
from markupsafe import escape
from mlflow import MlflowClient

from tests.conftest import store_copy
from tests.reporting.builders import make_study
from tests.reporting.conftest import XSS_NAME, XSS_PARAM, check_clean, check_sorting, column_values
from tradexp.cli import main
from tradexp.hpo.importances import study_importances
from tradexp.reporting import build_study_html, collect_study, study_report
from tradexp.reporting.markup import fmt_value
from tradexp.reporting.study_info import history_info, pruning_info, simple_importances, trials_frame

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class Studies:
    client: MlflowClient
    parent_id: str
    optuna_study: optuna.Study


@pytest.fixture(scope="module")
def studies(tmp_path_factory, _migrated_store) -> Iterator[Studies]:
    """One real store for the module with three studies: `toy-study` (Optuna sqlite storage, 14
    trials), `in-memory` (no storage, 8 trials) and one whose names carry markup (10 trials)."""
    root = tmp_path_factory.mktemp("studies")
    with store_copy(_migrated_store, root) as uri:
        client = MlflowClient(uri)
        parent_id, optuna_study = make_study(client, "toy-study", n_trials=14, storage=f"sqlite:///{root / 'optuna.db'}")
        make_study(client, "in-memory", n_trials=8, storage=None)
        make_study(client, XSS_NAME, n_trials=10, storage=None, evil=XSS_PARAM)
        yield Studies(client, parent_id, optuna_study)


@pytest.fixture
def study(studies):
    return studies.client, studies.parent_id, studies.optuna_study


def _value_cell(value: float) -> str:
    return f'data-v="{float(value)!r}">{fmt_value(value)}</td>'


def test_report_study_command_writes_logs_and_matches_optuna(study, tmp_path, capsys):
    client, parent_id, optuna_study = study
    out = tmp_path / "study.html"
    assert main(["report", "study", "toy-study", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    html = out.read_text()
    best = optuna_study.best_trial
    # overview: best trial and value as Optuna has them
    assert f'<tr><th>best trial</th><td class="num" data-v="{float(best.number)!r}">{best.number}</td></tr>' in html
    assert f'<th>best value</th><td class="num" {_value_cell(best.value)}' in html
    # every trial's state and value are in the trials table, as Optuna and MLflow hold them
    rows = re.findall(r'<tr[^>]*><td class="num" data-v="([0-9.]+)">\d+</td><td>(\w+)</td><td class="num" data-v="([^"]+)"', html)
    assert len(rows) == len(optuna_study.trials)
    for (number, state, value), trial in zip(rows, optuna_study.trials):
        assert int(float(number)) == trial.number and state == trial.state.name
        assert float(value) == trial.value
    # the verdict card leads: best trial and its distance from the median completed trial
    complete = [t.value for t in optuna_study.trials if t.state.name == "COMPLETE"]
    assert html.index('id="verdict"') < html.index('id="study"')
    assert f"Best trial {best.number}: val/loss {fmt_value(best.value)}, median trial {fmt_value(float(np.median(complete)))}" in html
    # counts per state and the method of importances
    states = [t.state.name for t in optuna_study.trials]
    assert f'<th>trials PRUNED</th><td class="num" data-v="{float(states.count("PRUNED"))!r}">' in html
    assert "from the study&#39;s storage" in html
    assert "Parallel coordinates" in html and 'alt="parallel coordinates"' in html
    # logged into the parent run
    assert "report/study_report.html" in {a.path for a in client.list_artifacts(parent_id, "report")}


def test_study_found_by_parent_or_trial_run_id(study, tmp_path):
    client, parent_id, _ = study
    trial_run = client.search_runs([client.get_run(parent_id).info.experiment_id], f"tags.`tradexp.trial` = '3' and tags.mlflow.parentRunId = '{parent_id}'")[0]
    for ident in (parent_id, trial_run.info.run_id):
        data = collect_study(client, ident)
        assert data.parent.run_id == parent_id and len(data.trials) == 14


def test_numbers_of_the_study_sections(study):
    client, parent_id, optuna_study = study
    data = collect_study(client, parent_id)
    frame, params = trials_frame(data)
    assert params == ["model.lr", "model.net.hidden_size", "model.optimizer"]
    hist = history_info(frame, data.direction)
    assert hist.best_number == optuna_study.best_trial.number and hist.best_value == optuna_study.best_value
    assert all(a >= b for a, b in zip(hist.best_so_far, hist.best_so_far[1:]))  # minimising: never rises
    pruning = pruning_info(frame)
    pruned = [t for t in optuna_study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruning.counts.get("PRUNED", 0) == len(pruned)
    # a pruned trial ran fewer epochs than the 5 of a complete one; saved share follows from that
    epochs = {t.number: len(t.intermediate_values) for t in optuna_study.trials}
    assert frame.set_index("number")["epochs"].to_dict() == epochs
    assert pruning.epochs_saved_fraction == pytest.approx(sum(5 - epochs[t.number] for t in pruned) / (5 * 14))
    importances = simple_importances(frame, params)
    assert sum(importances.values()) == pytest.approx(1.0) and set(importances) == set(params)


def test_without_optuna_storage_importances_come_from_the_trials_table(studies, tmp_path):
    client = studies.client
    html = study_report("in-memory", tmp_path / "s.html", client=client, log_to_run=False).read_text()
    assert "simple: |Spearman rho|" in html and "storage was not available" in html


def test_unknown_study_is_one_line_naming_the_studies_that_exist(study, capsys):
    assert main(["report", "study", "no-such-study"]) == 2
    err = capsys.readouterr().err
    assert "no study `no-such-study`" in err and "toy-study" in err and "Traceback" not in err


def test_study_report_in_chromium_sorts_filters_and_runs_no_injected_markup(studies, tmp_path, report_browser):
    client = studies.client
    out = study_report(XSS_NAME, tmp_path / "study.html", client=client)
    html = out.read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and escape(XSS_PARAM) in html
    opened = report_browser.open(out, tmp_path / "study_report.png")
    page = opened.page
    check_sorting(page, "#trial-table", 2)  # value column
    page.select_option('select.table-select[data-table="trial-table"]', "PRUNED")
    states = column_values(page, "#trial-table", 1)
    assert states and set(states) == {"PRUNED"}
    page.select_option('select.table-select[data-table="trial-table"]', "")
    page.fill('input.table-filter[data-table="trial-table"]', "trial-003")
    assert len(column_values(page, "#trial-table", 0)) == 1
    assert page.locator('.row-count[data-table="trial-table"]').inner_text() == "1 of 10 rows"
    assert page.title().startswith("Study <script>")  # shown as text, not run
    history = page.locator('.chart[aria-label="optimisation history"]')  # interactive: hover names the trial
    history.scroll_into_view_if_needed()
    number, value, x, y = history.evaluate(
        """d => { const t = d._fullData[0], L = d._fullLayout, box = d.getBoundingClientRect();
            return [t.x[0], t.y[0], box.left + L.xaxis._offset + L.xaxis.l2p(t.x[0]), box.top + L.yaxis._offset + L.yaxis.l2p(t.y[0])]; }"""
    )
    page.mouse.move(x, y)
    page.wait_for_selector('.chart[aria-label="optimisation history"] .hoverlayer text', timeout=5000)
    assert f"trial {number}: {value:.4f}" in history.locator(".hoverlayer").text_content()
    check_clean(opened)
    page.close()


def test_conditional_params_absent_in_some_trials():
    """A param sampled only under a condition (NaN elsewhere) is numeric where present, `(absent)` elsewhere."""
    import numpy as np
    import pandas as pd

    from tradexp.reporting.study_info import parallel_info

    frame = pd.DataFrame(
        {
            "number": [0, 1, 2, 3, 4],
            "state": ["COMPLETE"] * 5,
            "value": [0.5, 0.4, 0.3, 0.6, 0.2],
            "width2": [np.nan, 16.0, 32.0, np.nan, 64.0],
            "act": ["relu", "gelu", None, "relu", "gelu"],
        }
    )
    info = parallel_info(frame, ["width2", "act"], "val/loss")
    assert info.lines[:, 0].tolist() == [-0.08, 0.0, 16 / 48, -0.08, 1.0]
    assert (-0.08, "(absent)") in info.tick_labels[0] and (0.0, "(absent)") in info.tick_labels[1]
    importances = simple_importances(frame, ["width2", "act"])
    assert set(importances) == {"width2", "act"} and sum(importances.values()) == pytest.approx(1.0)


def test_report_reads_the_importances_stored_when_the_study_ended_and_draws_each_figure_once(study, tmp_path):
    """The report shows `hpo/importances.json` (Optuna's fANOVA of the finished study) without the
    storage; of Optuna's own figures on the parent run, only those the report does not draw appear."""
    client, parent_id, optuna_study = study
    stored = study_importances(optuna_study)
    assert client.download_artifacts(parent_id, "hpo/importances.json", str(tmp_path))
    png = _png()
    for name in ("optimization_history", "slice"):
        (tmp_path / f"{name}.png").write_bytes(png)
        client.log_artifact(parent_id, str(tmp_path / f"{name}.png"), "plots")
    data = collect_study(client, parent_id)
    data.settings = {**data.settings, "storage": "sqlite:////nonexistent/optuna.db"}  # nothing is recomputed from it
    html = build_study_html(data)
    for param, value in stored["importances"].items():
        assert f'<td>{param}</td><td class="num" data-v="{value!r}">' in html
    assert html.count('aria-label="optimisation history"') == 1 and 'alt="plots/optimization_history.png"' not in html
    assert 'alt="plots/slice.png"' in html


def _png() -> bytes:
    from matplotlib.figure import Figure
    import io

    buf = io.BytesIO()
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    fig.savefig(buf, format="png")
    return buf.getvalue()
