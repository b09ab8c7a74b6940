"""CI cannot go green by skipping: `.ci/run` requires every system part, and pytest shows each skip."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.conftest import REQUIRE_ALL, ROOT, import_or_missing, missing, postgres_bindir, shared_file


def test_ci_requires_every_part_and_runs_readme_command():
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert f"export {REQUIRE_ALL}=1" in commands
    assert commands.index(f"export {REQUIRE_ALL}=1") < commands.index("python -m pytest tests")
    assert "python -m pytest tests" in (ROOT / "README.md").read_text()  # the README's command, unchanged
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert re.search(r"(^|\s)-r\w*s", options["addopts"]), options["addopts"]  # skip reasons printed


def test_a_missing_part_skips_locally_and_fails_under_require_all(monkeypatch):
    monkeypatch.delenv(REQUIRE_ALL, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not installed"):
        missing("chromium not installed")
    with pytest.raises(pytest.skip.Exception, match="no_such_module_xyz"):
        import_or_missing("no_such_module_xyz", "no_such_module_xyz not installed")
    with pytest.raises(pytest.skip.Exception, match="nope.csv not present"):
        shared_file("nope.csv")
    monkeypatch.setenv(REQUIRE_ALL, "1")
    for call in (lambda: missing("chromium not installed"), lambda: import_or_missing("no_such_module_xyz", "x"), lambda: shared_file("nope.csv")):
        with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ALL}=1 requires it"):
            call()


def test_postgres_binaries_are_found_without_a_hard_coded_version():
    source = (ROOT / "tests" / "hpo" / "test_postgres.py").read_text()
    assert not re.search(r"postgresql/\d+", source)
    found = postgres_bindir()
    if found is None:
        missing("PostgreSQL binaries not installed (Debian package `postgresql`)")
    assert (found / "initdb").is_file() and (found / "postgres").is_file()
