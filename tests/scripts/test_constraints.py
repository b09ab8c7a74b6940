"""constraints.txt pins every requirement of pyproject.toml inside its range, and the installs use it."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + [s for extra in project["optional-dependencies"].values() for s in extra]
    return [Requirement(spec) for spec in specs]


def test_every_requirement_is_pinned_within_its_range():
    pins = _pins()
    problems = []
    for req in _requirements():
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{req.name}: in pyproject.toml, not pinned in constraints.txt")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{req.name}: constraints.txt pins {pinned}, outside pyproject.toml's {req.specifier}")
    assert not problems, "run `python scripts/freeze_constraints.py` after the suite passes:\n" + "\n".join(problems)
    assert "tradexp" not in pins and str(pins["torch"]) == "2.13.0"  # no local label: the CPU wheel satisfies it


def test_readme_and_ci_install_with_the_constraints():
    readme = (ROOT / "README.md").read_text()
    assert "pip install torch==2.13.0 && pip install -c constraints.txt -e . && tradexp fit" in readme
    assert 'pip install torch==2.13.0 && pip install -c constraints.txt -e ".[dev]" && python -m pytest tests' in readme
    assert "unpinned" in readme
    assert 'pip install -q -c constraints.txt -e ".[dev]"' in (ROOT / ".ci" / "run").read_text()


def test_the_check_catches_a_pin_outside_its_range(tmp_path):
    req = Requirement("lightning>=2.6,<2.7")
    assert not req.specifier.contains(Version("2.7.0"), prereleases=True)
    assert req.specifier.contains(Version("2.6.6"), prereleases=True)
