"""A package's public names imported on first use (PEP 562), so importing one submodule stays cheap.

    # tradexp/config/__init__.py
    __all__ = ["diff_configs", "validate_config"]
    __getattr__, __dir__ = lazy_exports(__name__, {
        "tradexp.config.history": ("diff_configs",),
        "tradexp.config.validation": ("validate_config",),
    })

`from tradexp.config import diff_configs` imports `tradexp.config.history` then, and only then; a
plain `import tradexp.config.history` (what `tradexp runs` does) no longer drags in every sibling
and, through them, torch and Lightning.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, Iterable[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module `__getattr__` and `__dir__` of `package` exporting each name from its home module.

    Args:
        package: The package's `__name__`.
        homes: Home module (absolute name) -> the names it exports.

    Returns:
        `(__getattr__, __dir__)` to assign at the package's top level. A resolved name is stored on
        the package, so `__getattr__` runs once per name.

    Raises:
        ValueError: A name is given two homes.
    """
    where: dict[str, str] = {}
    for module, names in homes.items():
        for name in names:
            if name in where:
                raise ValueError(f"`{name}` is exported from both `{where[name]}` and `{module}`")
            where[name] = module

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
