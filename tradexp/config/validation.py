"""Domain rules for a resolved config, checked before anything is instantiated or trained."""

from __future__ import annotations

from typing import Any

from tradexp.errors import ConfigError

__all__ = ["validate_config"]


def _get(config: Any, dotted: str, default: Any = None) -> Any:
    node = config
    for part in dotted.split("."):
        if node is None:
            return default
        node = node.get(part) if hasattr(node, "get") else getattr(node, part, None)
    return default if node is None else node


def validate_config(config: Any) -> None:
    """Check every domain rule and raise one ConfigError listing all problems.

    Args:
        config: The resolved config of one subcommand (jsonargparse Namespace or nested dict).

    Raises:
        ConfigError: Each problem on its own line as `path: value received; allowed`.
    """
    problems: list[str] = []
    val_fraction = _get(config, "data.val_fraction", 0.15)
    test_fraction = _get(config, "data.test_fraction", 0.15)
    if val_fraction + test_fraction >= 1:
        problems.append(f"data.val_fraction + data.test_fraction: {val_fraction} + {test_fraction}; their sum must be below 1")
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the config:\n  " + "\n  ".join(problems))
