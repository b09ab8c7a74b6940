"""A run heartbeat: a background thread that stamps the run so a killed process can be found later."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

__all__ = ["Heartbeat", "HEARTBEAT_TAG"]

log = logging.getLogger(__name__)

HEARTBEAT_TAG = "tradexp.heartbeat"


class Heartbeat:
    """Calls `beat(now_epoch_seconds)` every `interval` seconds on a daemon thread until `stop()`.

    Errors in `beat` are logged at debug level and never reach the training loop.

    Args:
        beat: Writes the heartbeat (e.g. sets a tag on the run).
        interval: Seconds between beats.
    """

    def __init__(self, beat: Callable[[float], None], interval: float = 30.0) -> None:
        if interval <= 0:
            raise ValueError(f"`heartbeat_interval` must be > 0 seconds, got {interval}")
        self._beat = beat
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tradexp-heartbeat", daemon=True)

    def start(self, beat_now: bool = True) -> "Heartbeat":
        """Start beating every `interval` seconds; `beat_now=False` when the first beat was already written."""
        if beat_now:
            self._safe_beat()
        self._thread.start()
        return self

    def _safe_beat(self) -> None:
        try:
            self._beat(time.time())
        except Exception as exc:  # the heartbeat must never disturb training
            log.debug("heartbeat failed: %s", exc)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._safe_beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
