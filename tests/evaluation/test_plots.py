"""Plot data (the `_get_*_info` functions) and that drawing writes a PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_drawn_png
from tradexp.evaluation.backtest import run_backtest
from tradexp.evaluation.plots import _get_drawdown_info, _get_equity_info, _get_folds_info, _get_rolling_sharpe_info, draw_drawdown, draw_equity, draw_folds, draw_rolling_sharpe


def _backtest(returns, positions=None):
    stamps = pd.bdate_range("2021-01-01", periods=len(returns)).to_numpy()
    positions = np.ones(len(returns)) if positions is None else positions
    return run_backtest(positions, np.log1p(returns), timestamps=stamps)


def test_equity_and_drawdown_info():
    model = _backtest([0.1, -0.2, 0.1])
    flat = _backtest([0.1, -0.2, 0.1], np.zeros(3))
    info = _get_equity_info({"model": model, "flat": flat})
    np.testing.assert_allclose(info.curves["model"], [1.1, 0.88, 0.968])
    np.testing.assert_allclose(info.curves["flat"], [1, 1, 1])
    dd = _get_drawdown_info(model)
    np.testing.assert_allclose(dd.drawdown, [0.0, 0.2, 1 - 0.968 / 1.1])
    assert dd.max_drawdown == pytest.approx(0.2)


def test_rolling_sharpe_info_matches_a_manual_window():
    rng = np.random.default_rng(0)
    returns = rng.normal(0.001, 0.01, 60)
    info = _get_rolling_sharpe_info(_backtest(returns), window=20)
    assert np.isnan(info.sharpe[:19]).all()
    last = returns[-20:]
    assert info.sharpe[-1] == pytest.approx(last.mean() / last.std(ddof=1) * np.sqrt(252))


def test_folds_info_and_drawing_write_pngs(tmp_path):
    rows = [{"fold": 0, "sharpe": 1.0, "acc": 0.52}, {"fold": 1, "sharpe": -0.5, "acc": 0.49}]
    info = _get_folds_info(rows)
    assert info.folds == ["fold 0", "fold 1"] and list(info.metrics) == ["sharpe", "acc"]
    bt = _backtest(np.random.default_rng(1).normal(0, 0.01, 40))
    paths = [
        draw_folds(info, tmp_path / "folds.png"),
        draw_equity(_get_equity_info({"model": bt}), tmp_path / "equity.png"),
        draw_drawdown(_get_drawdown_info(bt), tmp_path / "drawdown.png"),
        draw_rolling_sharpe(_get_rolling_sharpe_info(bt), tmp_path / "rolling.png"),
    ]
    for path in paths:
        assert_drawn_png(path)


def test_drawing_leaves_no_pyplot_figure_style_or_backend_behind(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt  # torchmetrics imports pyplot anyway; tradexp must not use it

    before, backend, figures = dict(matplotlib.rcParams), matplotlib.get_backend(), plt.get_fignums()
    bt = _backtest(np.random.default_rng(1).normal(0, 0.01, 40))
    draw_equity(_get_equity_info({"model": bt}), tmp_path / "equity.png")
    draw_rolling_sharpe(_get_rolling_sharpe_info(bt), tmp_path / "rolling.png")
    assert (tmp_path / "equity.png").stat().st_size > 0
    assert plt.get_fignums() == figures and matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == before


def test_a_blank_figure_is_not_taken_for_a_drawing(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().set_axis_off()
    fig.savefig(tmp_path / "blank.png")
    with pytest.raises(AssertionError, match="blank figure"):
        assert_drawn_png(tmp_path / "blank.png")
