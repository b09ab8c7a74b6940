"""Shared fixtures: a real, already-migrated sqlite MLflow store per test, tiny fast configs."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, NoReturn, Optional

import pytest

from tradexp.config.overrides import tiny_fit_overrides

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHARED_DATA = ROOT.parent / "shared" / "data"
# CI (`.ci/run`) sets this: a missing system part (Chromium, PostgreSQL, ../shared/data) fails the
# test instead of skipping it, so a green run means every test ran.
REQUIRE_ALL = "TRADEXP_REQUIRE_ALL"

# Overrides that make any config fit in about a second on 2 CPU cores.
TINY = tiny_fit_overrides()


@pytest.fixture(autouse=True)
def _restore_mlflow_tracking_uri() -> Iterator[None]:
    """Every test starts with MLflow's process-wide tracking URI unset, and ends with it and
    `MLFLOW_TRACKING_URI` as they were. Lightning's `MLFlowLogger` calls `mlflow.set_tracking_uri`
    (which also writes the variable), so after an in-process fit MLflow's own lookups (e.g. the
    `models:/m-...` artifacts of a logged model) would go to that earlier test's store."""
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_utils

    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    tracking_utils._tracking_uri = None  # unset without touching the variable a fixture may set next
    yield
    mlflow.set_tracking_uri(None)
    if env_before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = env_before


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


@contextmanager
def store_copy(migrated_store: Path, root: Path) -> Iterator[str]:
    """A copy of the migrated store at `root / "mlflow.db"`, set as MLFLOW_TRACKING_URI with cwd `root`
    while inside; yields its URI. For module-scoped fixtures (a test's own store is `mlflow_uri`)."""
    db = root / "mlflow.db"
    shutil.copyfile(migrated_store, db)
    uri = f"sqlite:///{db}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        yield uri


@pytest.fixture
def tiny() -> dict:
    """A copy of the TINY overrides to extend in a test."""
    return dict(TINY)


def require_all() -> bool:
    """Whether a missing system part must fail the test (`TRADEXP_REQUIRE_ALL=1`, set by `.ci/run`)."""
    return os.environ.get(REQUIRE_ALL, "").strip().lower() in ("1", "true", "yes")


def missing(what: str) -> NoReturn:
    """Skip the test because `what` is absent; under `TRADEXP_REQUIRE_ALL=1` fail it instead."""
    if require_all():
        pytest.fail(f"{what}; {REQUIRE_ALL}=1 requires it (CI must run every test)", pytrace=False)
    pytest.skip(what)


def import_or_missing(module: str, what: str) -> Any:
    """`pytest.importorskip` that fails under `TRADEXP_REQUIRE_ALL=1`."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        missing(what)


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or skip the test when that folder is absent (a fresh clone)."""
    path = SHARED_DATA / name
    if not path.is_file():
        missing(f"{path} not present (../shared/data is optional)")
    return path


def postgres_bindir() -> Optional[Path]:
    """The folder holding PostgreSQL's `initdb` and `postgres`: `pg_config --bindir`, else the newest
    `/usr/lib/postgresql/*/bin` (Debian), else the folder of `postgres` on PATH; None when absent."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    candidates += [Path(p) for p in reversed(versions)]
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).parent)
    return next((c for c in candidates if (c / "postgres").is_file() and (c / "initdb").is_file()), None)


def assert_drawn_png(data: bytes | Path, min_size: tuple[int, int] = (300, 200), min_ink: float = 0.01) -> tuple[int, int]:
    """A PNG holding a drawn figure, not an empty canvas: decoded, at least `min_size` (width,
    height) pixels, and at least `min_ink` of its pixels differ from the background colour (the
    most common one), in more than a handful of colours (lines, text, fills).

    Returns:
        (width, height) of the image.
    """
    import io

    import matplotlib.image
    import numpy as np

    raw = data.read_bytes() if isinstance(data, Path) else data
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pixels = matplotlib.image.imread(io.BytesIO(raw), format="png")  # (H, W, 3|4) floats in [0, 1]
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1], f"{width}x{height} px, expected at least {min_size[0]}x{min_size[1]}"
    flat = (pixels[..., :3].reshape(-1, 3) * 255).round().astype(np.uint8)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    ink = 1 - counts.max() / counts.sum()
    assert ink >= min_ink, f"{ink:.2%} of the pixels are drawn: a blank figure"
    assert len(colours) > 8, f"only {len(colours)} colours: nothing but a frame"
    return width, height
