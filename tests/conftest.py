"""Shared fixtures: a real, already-migrated sqlite MLflow store per test, tiny fast configs."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHARED_DATA = ROOT.parent / "shared" / "data"

# Overrides that make any config fit in about a second on 2 CPU cores.
TINY = {
    "trainer.max_epochs": 2,
    "trainer.enable_progress_bar": False,
    "trainer.enable_model_summary": False,
    "trainer.log_every_n_steps": 1,
    "data.synthetic.n_bars": 600,
    "data.window": 8,
    "data.batch_size": 64,
}


_RESTORED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """Every test ends with the signal handlers it started with, so no test runs under a handler
    another test left (Lightning sets SIGINT to SIG_IGN when a fit is interrupted, and restores it
    only when it had saved the handlers first)."""
    before = {signum: signal.getsignal(signum) for signum in _RESTORED_SIGNALS}
    yield
    for signum, handler in before.items():
        if handler is not None and signal.getsignal(signum) is not handler:
            if os.environ.get("TRADEXP_REPORT_SIGNAL_LEAKS"):  # debugging aid: name the test that changed it
                print(f"\n[signal leak] {signal.Signals(signum).name}: {signal.getsignal(signum)!r}")
            signal.signal(signum, handler)


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sqlite file with MLflow's schema already migrated (migration costs ~1.3 s; a copy ~0.02 s)."""
    from tradexp.tracking.store import open_store

    path = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    open_store(f"sqlite:///{path}")
    return path


@pytest.fixture
def mlflow_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _migrated_store: Path) -> str:
    """A fresh real MLflow sqlite store in `tmp_path`, set as MLFLOW_TRACKING_URI; cwd is `tmp_path`."""
    db = tmp_path / "mlflow.db"
    shutil.copyfile(_migrated_store, db)
    uri = f"sqlite:///{db}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def tiny() -> dict:
    """A copy of the TINY overrides to extend in a test."""
    return dict(TINY)


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or skip the test when that folder is absent (a fresh clone)."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not present (../shared/data is optional)")
    return path
