"""CI runs the benchmark suite's quick mode as a smoke test: every benchmark runs and prints its table."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# The header of each benchmark's table and a row of figures under it (a number with its unit).
TABLES = {
    "data": (r"loading \d+ one-minute bars", r"target: synthetic market in < [\d.]+ s \([\d.]+ s\)"),
    "training": (r"model\s+batch\s+plain loop\s+tradexp\s+ratio", r"\d+ s/s\s+\d+ s/s\s+[\d.]+x"),
    "memory": (r"tradexp fit \(mlp\), \d+ bars x 32 features", r"peak RSS < 1\.5 GB \([\d.]+ GB\)"),
    "tracking": (r"case\s+s/epoch\s+vs bare\s+fixed s", r"[\d.]+\s+[\d.]+x\s+[\d.]+"),
    "windows": (r"case\s+peak RSS\s+over import", r"zero-copy WindowDataset \(measured\)\s+\d+ MB"),
    "callbacks": (r"ms / epoch\s+fixed s", r"callback hooks per epoch:\s+[\d.]+ ms"),
    "hpo": (r"per-trial overhead outside training", r"speed-up [\d.]+x"),
    "disk": (r"per HPO trial\s+cleanup off\s+cleanup on", r"lightning_logs/ bytes\s+[\d.]+ KB\s+[\d.]+ KB"),
    "reports": (r"report\s+seconds\s+target\s+size \(MB\)", r"\s[\d.]+\s+< \d+\s+[\d.]+"),
    "startup": (r"command\s+seconds\s+\(fresh process", r"(PASS|MISS)  target: tradexp runs < 2 s \([\d.]+ s\)"),
}


def _sections(out: str) -> dict[str, str]:
    """stdout of bench.py cut at its `=== <name>` headers."""
    parts = re.split(r"^=== (\w+)", out, flags=re.M)
    return {name: text for name, text in zip(parts[1::2], parts[2::2])}


@pytest.mark.slow
def test_bench_quick_runs_every_benchmark_and_each_prints_its_table(tmp_path):
    done = subprocess.run(
        # universe and serving (~100 s together even in --quick) are left to the full run: CI's budget is ~20 min
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", *TABLES],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1000,  # `disk` adds ~30 s CPU (~70 s on a loaded machine)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sections = _sections(done.stdout)
    for name, (header, row) in TABLES.items():
        assert name in sections, f"no `=== {name}` section"
        assert re.search(header, sections[name]), f"{name}: no table header /{header}/ in\n{sections[name][-2000:]}"
        assert re.search(row, sections[name]), f"{name}: no row of figures /{row}/ in\n{sections[name][-2000:]}"
    assert "crashed" not in done.stdout
    verdicts = sections["verdicts"]
    assert "target" in verdicts and re.search(r"\b(PASS|MET)\b", verdicts)


def test_bench_exits_non_zero_and_names_a_benchmark_that_crashed(tmp_path):
    # a benchmark script that dies: bench.py must report it and fail, not go green
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "bench.py").write_text((ROOT / "scripts" / "bench.py").read_text())
    (scripts / "bench_windows.py").write_text("import sys\nprint('windows table')\nraise RuntimeError('boom in the benchmark')\n")
    done = subprocess.run(
        [sys.executable, str(scripts / "bench.py"), "--quick", "--only", "windows"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MISS  bench_windows.py exited with 1 (crashed)" in done.stdout
    assert "RuntimeError: boom in the benchmark" in done.stderr  # the reason is shown
    assert "bench.py: 1 benchmark(s) crashed: windows" in done.stderr
