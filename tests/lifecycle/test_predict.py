"""`tradexp predict --model ...`: signals on new bars, the prediction run, decay scoring, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tradexp.cli import main
from tradexp.errors import DataValidationError
from tradexp.lifecycle.decay import CONSISTENT, DEGRADED, get_decay_info
from tradexp.lifecycle.predict import load_signal_model, predict
from tradexp.lifecycle.registry import RegistryError, register


@pytest.fixture
def new_bars(fitted_run, tmp_path):
    path = tmp_path / "new_bars.csv"
    pd.read_csv(fitted_run.bars_csv).iloc[-400:].to_csv(path, index=False)
    return path


def test_predict_writes_signals_and_records_a_prediction_run(fitted_run, store, new_bars, tmp_path, capsys):
    register(fitted_run.run_id, "spy-mlp", alias="candidate")
    out = tmp_path / "signals.csv"
    assert main(["predict", "--model", "models:/spy-mlp@candidate", "--data", str(new_bars), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "verdict:" in printed and "prediction run:" in printed
    signals = pd.read_csv(out, parse_dates=["timestamp"])
    direct = load_signal_model(f"runs:/{fitted_run.run_id}/model", store).predict(pd.read_csv(new_bars))
    assert np.abs(signals["pred"].to_numpy() - direct["pred"].to_numpy()).max() < 1e-9
    assert (signals["timestamp"].to_numpy() == direct["timestamp"].to_numpy()).all()
    client = MlflowClient(store)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.`tradexp.type` = 'prediction'")
    p, t, m = run.data.params, run.data.tags, run.data.metrics
    assert run.info.status == "FINISHED"
    assert p["prediction.model_uri"] == "models:/spy-mlp@candidate" and p["prediction.model_version"] == "1"
    assert p["prediction.source_run"] == fitted_run.run_id and p["prediction.bars"] == "400" and len(p["prediction.input_digest"]) == 16
    assert p["prediction.start"] < p["prediction.end"]
    assert t["tradexp.decay.verdict"] in (CONSISTENT, DEGRADED) and "Welch" in t["tradexp.decay.test"]
    assert {"predict/hit_rate", "predict/sharpe", "backtest/sharpe", "backtest/hit_rate", "drift/psi_max", "decay/return_pvalue"} <= set(m)
    assert m["backtest/sharpe"] == pytest.approx(client.get_run(fitted_run.run_id).data.metrics["test/trading/sharpe"], rel=1e-4)
    html = (tmp_path / "r").mkdir() or open(client.download_artifacts(run.info.run_id, "report/prediction_report.html", str(tmp_path / "r"))).read()
    assert t["tradexp.decay.verdict"] in html and "PSI" in html and "rsi_14" in html
    drift = pd.read_csv(client.download_artifacts(run.info.run_id, "prediction/drift.csv", str(tmp_path / "r")))
    assert set(drift["feature"]) >= {"rsi_14", "macd"} and {"psi", "ks_stat", "ks_pvalue"} <= set(drift.columns)


def test_bare_run_id_and_frequency_warning(fitted_run, store, tmp_path):
    weekly = tmp_path / "weekly.csv"
    pd.read_csv(fitted_run.bars_csv).iloc[::5].to_csv(weekly, index=False)
    result = predict(fitted_run.run_id, weekly, record=False)
    assert result.run_id is None and len(result.signals) > 0
    assert result.warnings == ["the new bars come every 7 days (median), the model was trained on bars every 1 days"]


def test_bad_input_gets_one_message(fitted_run, store, tmp_path, capsys):
    no_volume = tmp_path / "no_volume.csv"
    pd.read_csv(fitted_run.bars_csv).drop(columns=["Volume"]).to_csv(no_volume, index=False)
    assert main(["predict", "--model", fitted_run.run_id, "--data", str(no_volume)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lacks columns ['volume']" in err
    register(fitted_run.run_id, "spy-mlp", alias="candidate")
    with pytest.raises(RegistryError, match=r"no registered model 'nope'; registered: spy-mlp"):
        predict("models:/nope@champion", no_volume)
    with pytest.raises(RegistryError, match=r"'spy-mlp' has no alias 'champion'; aliases: \['candidate'\]"):
        predict("models:/spy-mlp@champion", no_volume)
    few = tmp_path / "few.csv"
    pd.read_csv(fitted_run.bars_csv).iloc[:30].to_csv(few, index=False)
    with pytest.raises(DataValidationError, match=r"needs at least \d+ bars"):
        predict(fitted_run.run_id, few, record=False)


def _market(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=pd.date_range("2020-01-01", periods=n, freq="D"))


def test_decay_verdict_flags_a_strategy_that_stopped_working():
    close = _market(600, 1)
    forward = np.log(close.shift(-1) / close).to_numpy()
    good = np.where(np.nan_to_num(forward) > 0, 1.0, -1.0)  # knew the future: the backtest's edge
    good[::3] *= -1  # ... most of the time
    reference = pd.DataFrame({"position": good[:-1], "forward_return": forward[:-1]})
    reference["return"] = reference["position"] * np.expm1(reference["forward_return"])
    same = pd.DataFrame({"timestamp": close.index, "pred": 0.5, "position": good})
    flipped = same.assign(position=-good)
    kept = get_decay_info(same, close, 1, 0.0, 252.0, reference, None, None)
    lost = get_decay_info(flipped, close, 1, 0.0, 252.0, reference, None, None)
    assert kept.verdict == CONSISTENT and kept.n_steps == 599
    assert lost.verdict == DEGRADED and lost.return_pvalue < 0.025 and lost.hit_rate_pvalue < 0.025
    assert lost.hit_rate == pytest.approx(1 - kept.hit_rate)


def test_prediction_report_escapes_every_value():
    close = _market(100, 2)
    signals = pd.DataFrame({"timestamp": close.index, "pred": 0.5, "position": 1.0})
    decay = get_decay_info(signals, close, 1, 1.0, 252.0, None, None, None)
    from tradexp.lifecycle.prediction_report import render_prediction_report

    html = render_prediction_report(decay, {"input_path": "<script>alert(1)</script>"}, ["bars & <b>warning</b>"])
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "bars &amp; &lt;b&gt;warning&lt;/b&gt;" in html and "no backtest to compare with" in html
