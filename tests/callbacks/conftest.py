"""Helpers for the callback tests: all callbacks at once, a tiny plain fit, a run's artifact list."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import lightning as L
import pytest
from mlflow import MlflowClient

from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves
from tests.callbacks.tiny import TinyClassifier, TinyWindows
from tests.conftest import assert_drawn_png


def all_callbacks(**kwargs: Any) -> list:
    return [ArchitectureSummary(**kwargs), EnvironmentCapture(**kwargs), DataDistribution(**kwargs), LearningCurves(every_n_epochs=1, **kwargs), EvaluationPlots(**kwargs)]


def tiny_fit(
    root: Path, logger: Any, callbacks: list, model: Optional[L.LightningModule] = None, epochs: int = 2, test: bool = True, **trainer_kwargs: Any
) -> tuple[L.Trainer, L.LightningModule]:
    """Fit TinyClassifier on TinyWindows (test split drifted) with a plain Trainer, then test."""
    L.seed_everything(0)
    settings = {"enable_checkpointing": False, **trainer_kwargs}
    trainer = L.Trainer(
        max_epochs=epochs, logger=logger, callbacks=callbacks, default_root_dir=str(root), enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1, **settings
    )
    model = model or TinyClassifier()
    data = TinyWindows(shift_test=0.7)
    trainer.fit(model, datamodule=data)
    if test:
        trainer.test(model, datamodule=data, verbose=False)
    return trainer, model


def run_artifacts(client: MlflowClient, run_id: str, path: Optional[str] = None) -> list[str]:
    """Every artifact file path of a run (recursive; duplicates kept, so a test can count copies)."""
    files = []
    for item in client.list_artifacts(run_id, path):
        files.extend(run_artifacts(client, run_id, item.path) if item.is_dir else [item.path])
    return files


def local_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def assert_real_png(data: bytes, min_bytes: int = 8_000) -> None:
    """A PNG of a real figure: decoded, a real size, drawn pixels (not a blank canvas)."""
    assert len(data) > min_bytes
    assert_drawn_png(data)


@pytest.fixture
def plain_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd = tmp_path (outside any git checkout)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
