"""The import-layering contract, read from the source with `ast` (every import, also inside functions).

- `callbacks` never imports `tradexp` (it is the reusable half: any LightningModule, any logger);
- `tradexp.data` and `tradexp.models` import none of `tradexp.tracking`, `tradexp.hpo`, `tradexp.reporting`;
- nothing but `tradexp/api.py` (and `tradexp/__init__.py`) imports `tradexp.api`: the API only re-exports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (package whose modules are checked, forbidden import prefixes, modules exempt)
CONTRACTS = [
    ("callbacks", ("tradexp",), ()),
    ("tradexp/data", ("tradexp.tracking", "tradexp.hpo", "tradexp.reporting"), ()),
    ("tradexp/models", ("tradexp.tracking", "tradexp.hpo", "tradexp.reporting"), ()),
    ("tradexp", ("tradexp.api",), ("tradexp/api.py", "tradexp/__init__.py")),
]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved), at any depth of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, root).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from tradexp import api`
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "lazy_exports" and len(node.args) == 2 and isinstance(node.args[1], ast.Dict):
            found.update(key.value for key in node.args[1].keys if isinstance(key, ast.Constant) and isinstance(key.value, str))  # imported on first use
    return found


def violations(package: str, forbidden: tuple[str, ...], exempt: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """`file: imports module` for every import in `package` that the contract forbids."""
    out = []
    for path in sorted((root / package).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in exempt:
            continue
        for module in sorted(imported_modules(path, root)):
            if any(module == prefix or module.startswith(prefix + ".") for prefix in forbidden):
                out.append(f"{relative}: imports {module}")
    return out


@pytest.mark.parametrize("package, forbidden, exempt", CONTRACTS, ids=[c[0] for c in CONTRACTS])
def test_import_layering_contract(package, forbidden, exempt):
    assert violations(package, forbidden, exempt) == []


def test_the_contract_catches_a_planted_violation(tmp_path):
    lazy = 'from tradexp.lazy_exports import lazy_exports\n__getattr__, __dir__ = lazy_exports(__name__, {"tradexp.tracking.naming": ("run_name",)})\n'
    (tmp_path / "tradexp/data").mkdir(parents=True)
    (tmp_path / "tradexp/data/planted.py").write_text(lazy)
    assert violations("tradexp/data", ("tradexp.tracking",), (), tmp_path) == ["tradexp/data/planted.py: imports tradexp.tracking.naming"]
    for folder, text in (
        ("callbacks", "def f():\n    from tradexp.run import fit\n"),
        ("tradexp/models", "from ..tracking import naming\n"),
        ("tradexp/hpo", "from tradexp import api\n"),
    ):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "planted.py").write_text(text)
    assert violations("callbacks", ("tradexp",), (), tmp_path) == ["callbacks/planted.py: imports tradexp.run", "callbacks/planted.py: imports tradexp.run.fit"]
    assert violations("tradexp/models", ("tradexp.tracking",), (), tmp_path) == [
        "tradexp/models/planted.py: imports tradexp.tracking",
        "tradexp/models/planted.py: imports tradexp.tracking.naming",
    ]
    assert violations("tradexp", ("tradexp.api",), ("tradexp/api.py",), tmp_path) == ["tradexp/hpo/planted.py: imports tradexp.api"]
