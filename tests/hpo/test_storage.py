"""Optuna storage: beside mlflow.db by default, relational only, and a fresh store opened by many processes at once."""

import subprocess
import sys
import textwrap

import optuna
import pytest

from tradexp.errors import ConfigError
from tradexp.hpo.settings import build_pruner, build_sampler
from tradexp.hpo.storage import create_or_load_study, default_storage_url, open_storage

_OPEN = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from tradexp.hpo.settings import build_pruner, build_sampler
    from tradexp.hpo.storage import create_or_load_study, open_storage
    barrier = Path(sys.argv[2])
    (barrier / f"ready-{os.getpid()}").touch()
    while len(list(barrier.glob("ready-*"))) < 6:  # every process past its imports, then all open at once
        time.sleep(0.01)
    storage = open_storage(sys.argv[1], heartbeat_interval=5)
    study, created = create_or_load_study("shared", storage, "minimize", build_sampler({"name": "random"}), build_pruner({"name": "none"}))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    print("created" if created else "loaded")
    """
)


def test_default_storage_lives_beside_the_mlflow_sqlite_file(tmp_path):
    assert default_storage_url(f"sqlite:///{tmp_path}/runs/mlflow.db") == f"sqlite:///{tmp_path}/runs/optuna.db"


def test_only_relational_storages_with_heartbeats_are_accepted():
    with pytest.raises(ConfigError, match=r"Optuna storage `journal.log` is not supported; use `sqlite:///path/optuna.db` or `postgresql://"):
        open_storage("journal.log")
    with pytest.raises(ConfigError, match="not supported"):
        open_storage("redis://localhost:6379")


def test_an_existing_study_keeps_its_direction(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db")
    sampler, pruner = build_sampler({"name": "random"}), build_pruner({"name": "none"})
    _, created = create_or_load_study("s", storage, "minimize", sampler, pruner)
    assert created
    with pytest.raises(ConfigError, match="study `s` in .* was created to minimize its metric, not maximize"):
        create_or_load_study("s", storage, "maximize", sampler, pruner)
    study, created = create_or_load_study("s", storage, "minimize", sampler, pruner)
    assert not created and study.study_name == "s"


@pytest.mark.slow
def test_six_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh/optuna.db"
    (tmp_path / "barrier").mkdir()
    processes = [subprocess.Popen([sys.executable, "-c", _OPEN, url, str(tmp_path / "barrier")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, [err[-2000:] for _, err in results]
    outcomes = sorted(out.strip() for out, _ in results)
    assert outcomes == ["created"] + ["loaded"] * 5  # exactly one process created the study
    trials = optuna.load_study(study_name="shared", storage=url).trials
    assert [t.number for t in trials] == list(range(12)) and {t.state.name for t in trials} == {"COMPLETE"}
