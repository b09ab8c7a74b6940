"""One background thread per reporting callback, for drawing and writing its figures off the loop.

    writes = BackgroundWrites("DataDistribution")
    writes.submit(report, samples)     # returns at once; runs in the callback's own thread, in order
    writes.wait()                      # blocks until all of it ran: the results, or the first failure raised

The figures are `matplotlib.figure.Figure` objects made without pyplot (`callbacks._figures`), one
figure per call, so drawing in a thread touches no shared pyplot state; matplotlib's font cache is
kept per thread. Work runs in submission order, so a later write of a file replaces an earlier one.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Optional

__all__ = ["BackgroundWrites"]


class BackgroundWrites:
    """A lazily started single worker thread and the work handed to it since the last `wait`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: Optional[ThreadPoolExecutor] = None
        self._pending: list[Future] = []

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `fn(*args, **kwargs)` in the worker thread, after everything submitted before it."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-writes")
        self._pending.append(self._executor.submit(fn, *args, **kwargs))

    @property
    def pending(self) -> int:
        """Submitted calls not yet waited for (finished or not)."""
        return len(self._pending)

    def wait(self) -> list[Any]:
        """Block until every submitted call has run; return their results in order, or raise the first
        one's exception.

        The worker thread is stopped (a later `submit` starts a new one), so nothing outlives the
        hook that waited: no thread is left behind a finished fit.
        """
        pending, self._pending = self._pending, []
        errors = [future.exception() for future in pending]  # each blocks until its call is done
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        first = next((error for error in errors if error is not None), None)
        if first is not None:
            raise first
        return [future.result() for future in pending]

    def __getstate__(self) -> dict[str, Any]:  # a callback may be deep-copied or pickled: threads are not
        return {"name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"])
