"""python scripts/freeze_constraints.py [--output constraints.txt] [--check]

Write `constraints.txt`: the exact versions, installed here, of everything `pip install -e ".[dev]"`
pulls in (pyproject.toml's dependencies and every extra, followed through their own requirements).
Run it after the suite passed with new versions; CI and README install with `-c constraints.txt`.
`--check` only compares and exits 1 when the file would change. torch is written without its local
label (`torch==2.13.0`, which the CPU wheel `2.13.0+cpu` satisfies).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "# Versions the test suite last passed with (written by scripts/freeze_constraints.py; do not edit by hand).\n"
    '# Install pinned:   pip install torch==2.13.0 && pip install -c constraints.txt -e ".[dev]"\n'
    '# Install unpinned: pip install -e ".[dev]" (the newest versions pyproject.toml allows)\n'
)


def _root_requirements(pyproject: Path) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return [Requirement(spec) for spec in specs]


def resolved_versions(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Installed version of every distribution the project needs, transitively (name -> version)."""
    seen: dict[str, str] = {}
    todo = [(req, frozenset()) for req in _root_requirements(pyproject)]
    while todo:
        req, extras = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # an optional requirement not installed here (e.g. a platform-only one)
        wanted = frozenset(req.extras)
        key = f"{name}[{','.join(sorted(wanted))}]"
        if key in seen:
            continue
        seen[key] = dist.version
        seen.setdefault(name, dist.version)
        for sub in dist.requires or []:
            todo.append((Requirement(sub), wanted))
    return {name: version for name, version in seen.items() if "[" not in name}


def constraints_text(versions: dict[str, str]) -> str:
    lines = [f"{name}=={re.sub(r'[+].*$', '', version)}" for name, version in sorted(versions.items())]
    return HEADER + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--output", default=str(ROOT / "constraints.txt"))
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from the installed versions")
    args = parser.parse_args()
    text = constraints_text(resolved_versions())
    out = Path(args.output)
    if args.check:
        same = out.is_file() and out.read_text() == text
        print("constraints.txt matches the installed versions" if same else "constraints.txt differs from the installed versions")
        return 0 if same else 1
    out.write_text(text)
    print(f"wrote {out} ({text.count(chr(10)) - HEADER.count(chr(10))} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
