"""CI runs the benchmark suite's quick mode as a smoke test: every benchmark runs and prints its figures."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_quick_runs_every_benchmark_and_prints_verdicts(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for name in ("data", "training", "memory", "tracking", "windows", "callbacks", "hpo", "reports", "startup"):
        assert f"=== {name}" in out, name
    assert "exited with" not in out, out[-3000:]  # no benchmark crashed
    verdicts = out.split("=== verdicts", 1)[1]
    assert "target" in verdicts and ("PASS" in verdicts or "MET" in verdicts)
