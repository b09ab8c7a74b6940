"""`tradexp` fixes glibc's mmap threshold, so a freed large array leaves the process's RSS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# In a fresh process: free a 16 MiB array (glibc then raises its threshold to 16 MiB), then count
# the mapped blocks a 10 MiB array adds (above tradexp's 8 MiB threshold): 0 when it lands on the heap, 1 when it gets its own mapping.
_PROBE = """
import ctypes, sys
import numpy as np
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tradexp":
    from tradexp.allocator import return_large_frees_to_the_os
    return_large_frees_to_the_os()
big = np.ones(16 << 20, dtype=np.uint8); del big
before = libc.mallinfo2().hblks
mid = np.ones(10 << 20, dtype=np.uint8)
print(libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
@pytest.mark.parametrize(("side", "mapped"), [("glibc default", "0"), ("tradexp", "1")])
def test_a_large_array_gets_its_own_mapping_after_a_larger_one_was_freed(side, mapped):
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_MMAP_THRESHOLD_"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", _PROBE, side.split()[0]], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == mapped, f"{side}: {done.stdout.strip()} new mapped block(s) for a 10 MiB array after a 16 MiB one was freed"
