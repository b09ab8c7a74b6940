"""The logged model of a universe run: a long frame with a `symbol` column in, one row per symbol and bar out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tradexp.errors import DataValidationError
from tradexp.lifecycle.predict import load_signal_model


def _model(fitted_universe, store):
    return load_signal_model(f"runs:/{fitted_universe.run_id}/model", store)


def test_logged_model_reproduces_the_run_test_predictions_per_symbol(fitted_universe, universe_store):
    signals = _model(fitted_universe, universe_store).predict(fitted_universe.bars.sort_values("timestamp", kind="stable"))  # symbols interleaved by date
    assert list(signals.columns) == ["symbol", "timestamp", "pred", "position"]
    client = MlflowClient(universe_store)
    logged = pd.read_csv(client.download_artifacts(fitted_universe.run_id, "predictions/test_predictions.csv", "."), parse_dates=["timestamp"])
    assert sorted(logged["symbol"].unique()) == ["SYN000", "SYN001", "SYN002"]
    joined = logged.merge(signals, on=["symbol", "timestamp"], suffixes=("_run", "_model"))
    assert len(joined) == len(logged) > 100
    for _, rows in joined.groupby("symbol"):
        assert np.abs(rows["pred_run"] - rows["pred_model"]).max() < 1e-6


def test_appending_later_bars_never_changes_an_earlier_row(fitted_universe, universe_store):
    model = _model(fitted_universe, universe_store)
    bars = fitted_universe.bars
    rank = bars.groupby("symbol").cumcount()  # bar number within its symbol
    short, longer = model.predict(bars[rank < 300]), model.predict(bars[rank < 450])
    head = longer.merge(short[["symbol", "timestamp"]], on=["symbol", "timestamp"])
    pd.testing.assert_frame_equal(short.reset_index(drop=True), head.reset_index(drop=True), check_exact=True)


def test_a_symbol_the_model_cannot_score_and_a_frame_without_symbols_are_refused(fitted_universe, universe_store):
    model = _model(fitted_universe, universe_store)
    other = fitted_universe.bars.assign(symbol=fitted_universe.bars["symbol"].replace({"SYN002": "XYZ"}))
    with pytest.raises(DataValidationError, match=r"trained on symbols \['SYN000', 'SYN001', 'SYN002'\] with a symbol embedding; it cannot score \['XYZ'\]"):
        model.predict(other)
    with pytest.raises(DataValidationError, match=r"has no symbol column; expected one of \['symbol', 'ticker'\]"):
        model.predict(fitted_universe.bars.drop(columns="symbol"))
    with pytest.raises(DataValidationError, match=r"symbol SYN001: the model needs at least \d+ bars"):
        model.predict(fitted_universe.bars[(fitted_universe.bars["symbol"] != "SYN001") | (fitted_universe.bars.groupby("symbol").cumcount() < 10)])


def test_tradexp_predict_on_a_long_file_records_signals_per_symbol(fitted_universe, universe_store, tmp_path, capsys):
    from tradexp.cli import main
    from tradexp.lifecycle.predict import UNIVERSE_NOT_SCORED

    data, out = tmp_path / "long.csv", tmp_path / "signals.csv"
    fitted_universe.bars.groupby("symbol").tail(200).to_csv(data, index=False)
    assert main(["predict", "--model", fitted_universe.run_id, "--data", str(data), "-o", str(out)]) == 0
    assert f"verdict: {UNIVERSE_NOT_SCORED}" in capsys.readouterr().out
    signals = pd.read_csv(out)
    assert list(signals.columns) == ["symbol", "timestamp", "pred", "position"]
    assert sorted(signals["symbol"].unique()) == ["SYN000", "SYN001", "SYN002"] and signals.groupby("symbol").size().nunique() == 1
    client = MlflowClient(universe_store)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.`tradexp.type` = 'prediction'")
    assert run.info.status == "FINISHED" and run.data.params["prediction.bars"] == "600"
    assert run.data.tags["tradexp.decay.verdict"] == UNIVERSE_NOT_SCORED and "drift/psi_max" in run.data.metrics


def test_a_pooled_scaler_without_embedding_scores_any_symbol_like_one_series(fitted_universe, universe_store):
    from dataclasses import replace

    from tradexp.lifecycle.pyfunc_model import build_module

    trained = _model(fitted_universe, universe_store).unwrap_python_model().pipeline
    width = len(trained.features)
    pooled = replace(
        trained, scaler=trained.scaler["symbols"]["SYN000"], symbol_embedding=None,
        net={"name": "mlp", "init_args": {**trained.net["init_args"], "n_features": width}},
    )  # fmt: skip
    module = build_module(pooled)
    bars = fitted_universe.bars.assign(symbol=fitted_universe.bars["symbol"].replace({"SYN002": "XYZ"}))  # a symbol never trained on
    signals = pooled.signals(bars, module)
    assert sorted(signals["symbol"].unique()) == ["SYN000", "SYN001", "XYZ"]
    alone = replace(pooled, symbols=None).signals(bars[bars["symbol"] == "XYZ"].drop(columns="symbol"), module)
    pd.testing.assert_frame_equal(signals[signals["symbol"] == "XYZ"].drop(columns="symbol").reset_index(drop=True), alone, check_exact=True)
