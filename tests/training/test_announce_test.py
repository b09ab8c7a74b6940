"""`announce_test`: the callbacks hear that a test follows the fit only when it will run (test samples and `test`)."""

from __future__ import annotations

import lightning as L

from callbacks import EvaluationPlots
from tradexp.data import BarsDataModule, SyntheticMarket
from tradexp.reporting import RunReport
from tradexp.training import announce_test


def _announced(test_fraction: float, test: bool) -> list:
    data = BarsDataModule(synthetic=SyntheticMarket(n_bars=400), window=8, test_fraction=test_fraction)
    callbacks = [EvaluationPlots(), RunReport()]
    announce_test(L.Trainer(callbacks=list(callbacks), logger=False, enable_checkpointing=False), data, test)
    data.setup()  # as `trainer.fit` does before the fit ends: the predicate is asked then
    return [cb.test_follows_fit is not None and cb.test_follows_fit() for cb in callbacks]


def test_a_test_follows_only_with_test_samples_and_test_on():
    assert _announced(0.15, test=True) == [True, True]
    assert _announced(0.0, test=True) == [False, False]  # no test split: the validation plots and fit-end report stay
    assert _announced(0.15, test=False) == [False, False]
