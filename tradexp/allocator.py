"""glibc's mmap threshold, fixed so that a freed large array leaves the process's RSS.

glibc raises the threshold to the size of each mapped block freed (up to 32 MiB), so after the
first batch or bootstrap chunk is freed, later arrays of that size land on the heap and stay in the
process's RSS after they are freed: a 1M-bar fit peaked at 1.80 GB this way, 1.43 GB with the
threshold fixed at 8 MiB (`scripts/bench_memory.py`), for 2-6 s more on a 59-62 s fit (4 MiB cost 6-10 s:
the 4 MiB batches were mapped and unmapped each step; 16 MiB kept 1.53 GB).
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD_BYTES", "return_large_frees_to_the_os"]

# glibc's M_MMAP_THRESHOLD (malloc.h): allocations at least this large get their own mapping, returned on free.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 8 << 20
_ENV = "MALLOC_MMAP_THRESHOLD_"  # glibc reads it at start: the processes this one starts get the same


def return_large_frees_to_the_os() -> None:
    """Fix glibc's mmap threshold at 8 MiB for this process and the ones it starts (HPO workers, servers).

    A value the user set (`MALLOC_MMAP_THRESHOLD_`) is kept; elsewhere than glibc this does nothing.
    """
    if not sys.platform.startswith("linux") or _ENV in os.environ:
        return
    try:
        accepted = ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # musl or no libc.so.6: its allocator has its own policy
        return
    if accepted:  # mallopt returns 0 for a value it refuses
        os.environ[_ENV] = str(MMAP_THRESHOLD_BYTES)
