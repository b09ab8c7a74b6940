"""How a run ends: the honest MLflow status for an exception, and the Ctrl-C guard around store writes."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any, Optional

import optuna
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["run_status_for", "hold_ctrl_c"]


def run_status_for(exc: Optional[BaseException]) -> str:
    """MLflow status for a run that ends with `exc` (None = clean end).

    KeyboardInterrupt and SIGTERM (Lightning's `SIGTERMException`) are KILLED; an Optuna
    `TrialPruned` is FINISHED (a pruned trial is not a failure; its state is tagged); any other
    exception is FAILED.
    """
    if exc is None:
        return "FINISHED"
    if isinstance(exc, (KeyboardInterrupt, SIGTERMException)):
        return "KILLED"
    if isinstance(exc, optuna.TrialPruned):
        return "FINISHED"
    return "FAILED"


def _deliver(handler: Any, frame: Any) -> None:
    """Act on a held SIGINT as `handler` (the one installed before the guard) would have."""
    if handler is signal.SIG_DFL:  # the process asked to die on Ctrl-C: it does, now that the write is done
        signal.raise_signal(signal.SIGINT)
    elif callable(handler):  # Python's default_int_handler raises KeyboardInterrupt; others do what they do
        handler(signal.SIGINT, frame)


@contextlib.contextmanager
def hold_ctrl_c() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) until the block ends, then hand it to the handler that was installed.

    A KeyboardInterrupt in the middle of a sqlite write leaves the transaction open and the database
    locked for this process, so the run could not then be ended KILLED. Whatever SIGINT handler is
    installed (Python's default, Lightning's or a user's, or SIG_DFL) is restored at the end and then
    called with the held signal, so Ctrl-C does what it would have done, one write later. The guard
    does not apply, and the block runs unchanged, where it cannot or need not: outside the main
    thread (Python delivers signals to the main thread only and lets no other thread set a handler),
    when SIGINT is ignored (SIG_IGN: there is nothing to hold), or when the handler was installed
    outside Python (`signal.getsignal` returns None: it could not be restored).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None or previous is signal.SIG_IGN:
        yield
        return
    held: list[Any] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:  # the user's stop wins over whatever the write did
            _deliver(previous, held[0])
