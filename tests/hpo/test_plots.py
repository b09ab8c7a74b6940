"""Study plots leave the caller's matplotlib state alone (Optuna's plots set a global style)."""

import matplotlib
import optuna

from tradexp.hpo.plots import save_study_plots


def test_study_plots_keep_the_callers_rcparams_and_close_their_figures(tmp_path):
    import matplotlib.pyplot as plt

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2 + t.suggest_int("n", 1, 4), n_trials=6)
    before = dict(matplotlib.rcParams)
    open_before = plt.get_fignums()
    written = save_study_plots(study, tmp_path)
    assert {p.name for p in written} >= {"optimization_history.png", "slice.png"}
    assert dict(matplotlib.rcParams) == before  # no ggplot style left behind
    assert plt.get_fignums() == open_before
