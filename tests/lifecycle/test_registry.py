"""`tradexp register` / `register()` and `tradexp models`: evidence tags and the champion gate."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tradexp.api import register
from tradexp.cli import main
from tradexp.lifecycle.registry import MIN_DEFLATED_SHARPE, PromotionRefused, RegistryError, promotion_gaps


def test_champion_refused_without_significance_and_nothing_registered(fitted_run, store, capsys):
    assert main(["register", fitted_run.run_id, "--name", "spy-mlp", "--alias", "champion"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refused" in err and "'not significant'" in err and "p = " in err
    assert "--force --reason" in err
    assert MlflowClient(store).search_registered_models() == []
    with pytest.raises(PromotionRefused, match=r"champion.*refused.*needs 'significant'"):
        register(fitted_run.run_id, "spy-mlp", alias="champion")


def test_candidate_version_carries_the_evidence(fitted_run, store, capsys):
    done = register(fitted_run.run_id, "spy-mlp", alias="candidate", reason="first look")
    client = MlflowClient(store)  # the plain client sees the model, the version and the alias
    version = client.get_model_version_by_alias("spy-mlp", "candidate")
    assert str(version.version) == done.version == "1" and version.run_id == fitted_run.run_id
    tags = version.tags
    run = client.get_run(fitted_run.run_id)
    assert tags["tradexp.source_run"] == fitted_run.run_id
    assert tags["tradexp.dataset.digest"] == run.data.tags["tradexp.dataset.digest"]
    assert tags["tradexp.dataset.start"] < tags["tradexp.dataset.test_start"] < tags["tradexp.dataset.end"]
    assert tags["tradexp.verdict"] == "not significant" and 0 <= float(tags["tradexp.sharpe_pvalue"]) <= 1
    assert "tradexp.accuracy_pvalue" in tags
    assert float(tags["tradexp.test.trading.sharpe"]) == pytest.approx(run.data.metrics["test/trading/sharpe"], rel=1e-5)
    assert tags["tradexp.report"].endswith("/report/run_report.html") and fitted_run.run_id in tags["tradexp.report"]
    assert tags["tradexp.promotion.reason"] == "first look" and "tradexp.promotion.forced" not in tags
    assert "tradexp.deflated_sharpe" not in tags  # not from a study
    # a second version, shadow (not gated), then the listing
    assert main(["register", fitted_run.run_id, "--name", "spy-mlp", "--alias", "shadow"]) == 0
    capsys.readouterr()
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["name", "version", "aliases", "run_id"]
    assert [line.split()[:3] for line in out[1:]] == [["spy-mlp", "1", "candidate"], ["spy-mlp", "2", "shadow"]]
    assert all("not" in line and "significant" in line for line in out[1:])


def test_force_records_the_override_and_its_reason(fitted_run, store, capsys):
    assert main(["register", fitted_run.run_id, "--name", "spy-mlp", "--alias", "champion", "--force"]) == 2
    assert "--force needs --reason" in capsys.readouterr().err
    done = register(fitted_run.run_id, "spy-mlp", alias="champion", force=True, reason="paper trading only")
    tags = MlflowClient(store).get_model_version_by_alias("spy-mlp", "champion").tags
    assert done.forced and tags["tradexp.promotion.forced"] == "true" and tags["tradexp.promotion.reason"] == "paper trading only"


def test_unknown_run_and_run_without_a_model_are_one_message(fitted_run, store, capsys):
    assert main(["register", "0" * 32, "--name", "x"]) == 2
    assert "run '00000000000000000000000000000000' not found" in capsys.readouterr().err
    client = MlflowClient(store)
    bare = client.create_run(client.get_run(fitted_run.run_id).info.experiment_id)
    with pytest.raises(RegistryError, match="has no logged model; fit it again with `--tracking.log_model true`"):
        register(bare.info.run_id, "x")


@pytest.mark.parametrize(
    ("tags", "missing"),
    [
        ({"tradexp.verdict": "significant", "tradexp.sharpe_pvalue": "0.01"}, []),
        ({"tradexp.verdict": "not significant", "tradexp.sharpe_pvalue": "0.3"}, ["'not significant' (p = 0.3)"]),
        ({"tradexp.verdict": "not evaluated"}, ["no test/significance metrics"]),
        ({"tradexp.verdict": "significant", "tradexp.study.parent_run": "p", "tradexp.deflated_sharpe": "0.97"}, []),
        ({"tradexp.verdict": "significant", "tradexp.study.parent_run": "p", "tradexp.deflated_sharpe": "0.9"}, ["deflated Sharpe is 0.9"]),
        ({"tradexp.verdict": "significant", "tradexp.study.parent_run": "p", "tradexp.deflated_sharpe": "missing"}, ["recorded no deflated Sharpe"]),
        ({"tradexp.verdict": "significant", "tradexp.evidence": "cross-sectional (test/xs/*)"}, []),
        (
            {"tradexp.verdict": "not significant", "tradexp.evidence": "cross-sectional (test/xs/*)", "tradexp.test.xs.rank_ic_pvalue": "0.4"},
            ["a universe run: its cross-sectional evidence is 'not significant' (rank IC mean missing, p = 0.4"],
        ),
        ({"tradexp.verdict": "not evaluated", "tradexp.evidence": "cross-sectional (test/xs/*)"}, ["cross-sectional evidence is 'not evaluated'"]),
    ],
)
def test_gate_rules(tags: dict, missing: list):
    gaps = promotion_gaps(tags)
    assert len(gaps) == len(missing) and all(m in g for m, g in zip(missing, gaps))
    assert MIN_DEFLATED_SHARPE == 0.95


def test_a_universe_run_is_gated_on_its_cross_sectional_evidence(fitted_universe, universe_store):
    done = register(fitted_universe.run_id, "universe-mlp", alias="candidate")
    tags = done.tags
    assert tags["tradexp.evidence"] == "cross-sectional (test/xs/*)" and tags["tradexp.universe.size"] == "3"
    assert {"tradexp.test.xs.rank_ic_mean", "tradexp.test.xs.rank_ic_pvalue", "tradexp.test.xs.long_short.sharpe"} <= set(tags)
    significant = float(tags["tradexp.test.xs.rank_ic_pvalue"]) < 0.05 and float(tags["tradexp.test.xs.rank_ic_mean"]) > 0
    significant &= float(tags["tradexp.test.xs.long_short.sharpe"]) > 0
    assert tags["tradexp.verdict"] == ("significant" if significant else "not significant")
    if not significant:  # the tiny fit's usual outcome
        with pytest.raises(PromotionRefused, match=r"a universe run: its cross-sectional evidence is 'not significant' \(rank IC mean"):
            register(fitted_universe.run_id, "universe-mlp", alias="champion")
