"""Load a config the way `tradexp fit` does (YAML files + dotted overrides), validate it, build nothing.

    from tradexp.config.loading import load_config
    config = load_config("configs/lstm.yaml", {"model.lr": 3e-3, "data.window": 16})
    config["model"]["net"]["init_args"]["hidden_size"]
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import jsonargparse
import yaml

__all__ = ["load_config", "config_args", "TRAINER_ONLY_KEYS"]

ConfigPaths = Union[str, Path, Iterable[Union[str, Path]], None]
Overrides = Union[Mapping[str, Any], Sequence[str], None]

# Keys a `fit` run stores that belong to the subcommand, not to the config `build` parses.
TRAINER_ONLY_KEYS = ("ckpt_path", "weights_only")


def config_args(config: ConfigPaths = None, overrides: Overrides = None) -> list[str]:
    """The command-line arguments for YAML path(s) and overrides, as `build` passes them."""
    from tradexp.api import override_args

    paths = [] if config is None else [config] if isinstance(config, (str, Path)) else list(config)
    args: list[str] = []
    for path in paths:
        args += ["--config", str(path)]
    return args + override_args(overrides)


def load_config(config: ConfigPaths = None, overrides: Overrides = None) -> dict[str, Any]:
    """Parse YAML path(s) and overrides exactly as `tradexp fit` does, check every domain rule,
    and return the resolved config as a nested dict (what a run stores as `config/config.yaml`).

    Nothing is instantiated: no data is loaded, no run is created.

    Args:
        config: One YAML path or several (later ones override earlier ones); None = defaults.
        overrides: Dotted keys to values (`{"model.lr": 0.01}`) or CLI-style strings (`["--model.lr=0.01"]`).

    Returns:
        The resolved config (every key, defaults filled in).

    Raises:
        ConfigError: Every broken domain rule, one line each.
        ValueError: A value of the wrong type (as jsonargparse reports it).
    """
    from tradexp.cli import TradexpCLI
    from tradexp.config.parser import one_line

    class _ParseOnly(TradexpCLI):
        def instantiate_classes(self) -> None:  # parse and validate only
            return None

    try:
        with warnings.catch_warnings():  # args given while sys.argv also has some: intended here
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            cli = _ParseOnly(args=config_args(config, overrides), run=False, parser_kwargs={"parser_mode": "yaml", "exit_on_error": False})
    except jsonargparse.ArgumentError as exc:  # not a ValueError
        raise ValueError(one_line(str(exc))) from None
    return yaml.safe_load(cli.parser.dump(cli.config, skip_none=False))
