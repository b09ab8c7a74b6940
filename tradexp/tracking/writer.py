"""`RunWriter`: every write of one run goes to the store, or to the local spool once the server is gone."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Optional

from mlflow import MlflowClient

from callbacks.redaction import strip_credentials
from tradexp.tracking.run_status import hold_ctrl_c
from tradexp.tracking.spool import Spool, is_connection_error, replay_spool

__all__ = ["RunWriter"]

log = logging.getLogger(__name__)


class RunWriter:
    """Sends writes (`log_batch`, `log_text`, `log_artifact`, `set_terminated`) for one run.

    Each write holds a Ctrl-C until it is done (`hold_ctrl_c`). When the tracking server stops
    answering, this and every later write is appended to `<spool_dir>/<run_id>.jsonl` instead, and
    `replay()` at the end tries once to sync it (else `tradexp sync FILE` does it later). Values are
    written as given: redaction happens before (`TradexpLogger`).

    Args:
        client: Client of the run's store.
        run_id: The run.
        tracking_uri: The store (recorded in the spool without its password).
        spool_dir: Folder of the spool file.
    """

    def __init__(self, client: MlflowClient, run_id: str, tracking_uri: str, spool_dir: Path) -> None:
        self.client = client
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.spool_dir = Path(spool_dir)
        self._spool: Optional[Spool] = None

    @property
    def spool_path(self) -> Optional[Path]:
        """The spool file when the server stopped answering during this run, else None."""
        return self._spool.path if self._spool is not None else None

    def write(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Send one write to the store; if the server no longer answers, spool it locally instead."""
        if self._spool is None:
            try:
                with hold_ctrl_c():
                    getattr(self.client, op)(self.run_id, *args, **kwargs)
                return
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                path = self.spool_dir / f"{self.run_id}.jsonl"
                self._spool = Spool(path, self.tracking_uri, self.run_id)
                log.error("tracking server %s stopped answering (%s); spooling run data to %s", strip_credentials(self.tracking_uri), type(exc).__name__, path)
        if op == "log_batch":
            self._spool.log_batch(kwargs.get("metrics", ()), kwargs.get("params", ()), kwargs.get("tags", ()))
        elif op == "log_text":
            self._spool.log_text(*args)
        elif op == "set_terminated":
            self._spool.set_terminated(args[0], int(time.time() * 1000))
        elif op == "log_artifact":
            self._spool.log_artifact(*args)
        else:
            log.warning("tracking server down: `%s` was not recorded", op)

    def replay(self) -> bool:
        """Replay the spool into the server if there is one; True when nothing is left unsynced."""
        if self._spool is None:
            return True
        try:
            counts = replay_spool(self._spool.path, self.client)
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            log.error(
                "the tracking server %s is still unreachable: run %s stays RUNNING there; its data is kept in %s; replay it with `tradexp sync %s` once the server is back",
                strip_credentials(self.tracking_uri),
                self.run_id,
                self._spool.path,
                self._spool.path,
            )
            return False
        log.warning("tracking server is back: replayed spooled run data %s", counts)
        self._spool = None
        return True
