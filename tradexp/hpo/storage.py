"""Where studies live: an Optuna RDB storage with heartbeats, opened safely from many processes at once.

A study runs on a relational store (SQLite on one machine, PostgreSQL or MySQL for many) because
only RDB storage has heartbeats in Optuna: a trial whose worker was killed stops beating, is failed
by the next worker that starts a trial and is retried (`RetryHeartbeatStaleTrialCallback`).
JournalStorage has no heartbeat (a killed trial would stay RUNNING forever), so it is not offered.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import random
import time
import warnings
from pathlib import Path
from typing import Optional

import optuna
import sqlalchemy.exc
from optuna.exceptions import DuplicatedStudyError, ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from callbacks.redaction import strip_credentials
from tradexp.errors import ConfigError
from tradexp.tracking.store import file_lock, sqlite_path

__all__ = ["default_storage_url", "open_storage", "create_or_load_study", "sqlite_file"]

log = logging.getLogger(__name__)

_RDB_SCHEMES = ("sqlite", "postgresql", "mysql")


sqlite_file = sqlite_path  # the one sqlite-URL parser (tradexp.tracking.store), under its old name here


def default_storage_url(tracking_uri: str) -> str:
    """`sqlite:///<dir>/optuna.db` beside a sqlite MLflow store, else `optuna.db` in the working directory."""
    db = sqlite_path(tracking_uri)
    return f"sqlite:///{(db.resolve().with_name('optuna.db') if db is not None else Path('optuna.db').resolve())}"


def _absolute(url: str) -> str:
    db = sqlite_path(url)
    if db is not None and not db.is_absolute():
        return url.replace(f"///{db}", f"///{db.resolve()}", 1)
    return url


def _with_driver(url: str) -> str:
    """`postgresql://` means psycopg 3 to SQLAlchemy 2; use psycopg2 when only it is installed."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    return url


def _file_lock(path: Optional[Path]) -> contextlib.AbstractContextManager:
    """An exclusive lock on `<path>.lock` (no-op when `path` is None: a server database)."""
    return file_lock(path) if path is not None else contextlib.nullcontext()


def open_storage(url: str, heartbeat_interval: int = 30, max_retry: int = 2, attempts: int = 5) -> RDBStorage:
    """Open (creating if needed) the Optuna RDB storage at `url`, with heartbeats and trial retry.

    A fresh SQLite file is created under a file lock so several processes opening it at once all
    succeed; on a server, creating the tables concurrently is retried a few times.

    Args:
        url: `sqlite:///path/optuna.db`, `postgresql://user@host:port/db`, `mysql://...`.
        heartbeat_interval: Seconds between heartbeats of a running trial.
        max_retry: How often a trial whose worker died is re-queued.
        attempts: Tries on a server before giving up.

    Raises:
        ConfigError: On an unsupported URL.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if "://" not in url or scheme not in _RDB_SCHEMES:
        raise ConfigError(
            f"Optuna storage `{url}` is not supported; use `sqlite:///path/optuna.db` or `postgresql://user@host:port/db` "
            "(relational stores have heartbeats, so a killed worker's trial is failed and retried)"
        )
    url = _with_driver(_absolute(url))
    db = sqlite_path(url)
    engine_kwargs = {"connect_args": {"timeout": 60}} if db is not None else {"pool_pre_ping": True}
    with _file_lock(db), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        for attempt in range(1, attempts + 1):
            try:
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=2 * heartbeat_interval,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
                )
            except ImportError as exc:
                raise ConfigError(
                    f"no database driver for Optuna storage {strip_credentials(url)}: {exc}; for PostgreSQL `pip install psycopg2-binary` (or `tradexp[postgres]`)"
                ) from None
            except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
                if attempt == attempts:
                    raise ConfigError(f"cannot open Optuna storage {strip_credentials(url)}: {str(exc).splitlines()[0]}") from exc
                time.sleep(0.2 * attempt + random.random() * 0.3)
    raise AssertionError("unreachable")


def create_or_load_study(name: str, storage: RDBStorage, direction: str, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner) -> tuple[optuna.Study, bool]:
    """Create the study `name`, or load it when it exists; returns `(study, created_here)`.

    Exactly one of several processes racing to create the same study gets `created_here=True`.

    Raises:
        ConfigError: When an existing study was created with the other direction.
    """
    db = sqlite_path(storage.url)
    with _file_lock(db):
        try:
            study = optuna.create_study(study_name=name, storage=storage, direction=direction, sampler=sampler, pruner=pruner)
            return study, True
        except DuplicatedStudyError:
            study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    existing = study.direction.name.lower()
    if existing != direction:
        raise ConfigError(f"study `{name}` in {storage.url} was created to {existing} its metric, not {direction}; use another `study_name` or the same `direction`")
    return study, False
