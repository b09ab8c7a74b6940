"""Every unknown config key at once, each with the nearest valid key: `did you mean model.lr?`.

jsonargparse 4.x stops at the first unknown YAML key (`Subcommand 'fit' does not accept option
'model.learning_rate'`) and lists unknown command-line options without a hint (`unrecognized
arguments: --model.learnin_rate 0.1`). `unknown_keys_message` turns either into one message that
names all of them:

    unknown keys: --model.learnin_rate (did you mean --model.lr?), --data.windw (did you mean --data.window?)
"""

from __future__ import annotations

import difflib
import inspect
import re
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import yaml

__all__ = ["valid_keys", "nearest_key", "unknown_keys_message", "yaml_keys", "config_paths"]

# Names other frameworks use for tradexp's keys (difflib cannot guess `learning_rate` -> `lr`).
_ALIASES = {
    "learning_rate": "lr",
    "learningrate": "lr",
    "lr_rate": "lr",
    "epochs": "max_epochs",
    "n_epochs": "max_epochs",
    "num_epochs": "max_epochs",
    "window_size": "window",
    "lookback": "window",
    "seq_len": "window",
    "batchsize": "batch_size",
    "hidden_dim": "hidden_size",
    "hidden": "hidden_size",
    "layers": "num_layers",
    "n_layers": "num_layers",
}


def _net_keys() -> set[str]:
    """`model.net.init_args.<arg>` of every tradexp net (a subclass spec: jsonargparse lists none of them)."""
    from tradexp.models import nets

    keys = {"model.net.class_path", "model.net.init_args"}
    for _, cls in inspect.getmembers(nets, inspect.isclass):
        if cls.__module__ == nets.__name__ and issubclass(cls, nets.nn.Module):
            keys |= {f"model.net.init_args.{name}" for name in inspect.signature(cls.__init__).parameters if name != "self"}
    return keys


def valid_keys(parser: Any) -> set[str]:
    """The dotted keys a (sub)command parser accepts, defaults' keys plus the nets' init args."""
    keys = {key for key in parser.get_defaults().keys() if not key.startswith("__")}
    if "model.net" in keys:
        keys |= _net_keys()
    return keys


def nearest_key(key: str, valid: Iterable[str]) -> Optional[str]:
    """The valid key closest to `key`: same section first, known aliases, then difflib over all keys."""
    valid = sorted(set(valid))
    section, _, leaf = key.rpartition(".")
    siblings = [v for v in valid if v.rpartition(".")[0] == section]
    alias = _ALIASES.get(leaf.lower())
    if alias is not None:
        for candidate in [f"{section}.{alias}" if section else alias] + [v for v in valid if v.endswith("." + alias)]:
            if candidate in valid:
                return candidate
    if siblings:
        leaves = {v.rpartition(".")[2]: v for v in siblings}
        close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.6)
        if close:
            return leaves[close[0]]
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return close[0] if close else None


def _is_known(key: str, valid: set[str]) -> bool:
    """A key is known when it or a parent is a valid key (values under a dict/class key are checked later)."""
    parts = key.split(".")
    return any(".".join(parts[:n]) in valid for n in range(1, len(parts) + 1))


def yaml_keys(data: Any, prefix: str = "") -> list[str]:
    """Dotted leaf keys of a YAML mapping: `{"model": {"lr": 1}}` -> `["model.lr"]`."""
    if not isinstance(data, dict):
        return [prefix] if prefix else []
    keys: list[str] = []
    for name, value in data.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        keys += yaml_keys(value, path) if isinstance(value, dict) and value else [path]
    return keys


def config_paths(args: Sequence[str]) -> list[str]:
    """The `--config PATH` / `--config=PATH` values of an argument list, in order."""
    paths = []
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            paths.append(args[i + 1])
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
    return paths


def _unknown_in_yaml(paths: Sequence[str], valid: set[str]) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError):
            continue  # jsonargparse reports a missing or broken file itself
        for key in yaml_keys(data):
            if not _is_known(key, valid):
                found.append((path, key))
    return found


def unknown_keys_message(message: str, args: Sequence[str], valid: set[str]) -> Optional[str]:
    """One message naming every unknown key of `args` (options and `--config` YAML files) with a hint.

    Args:
        message: jsonargparse's error message.
        args: The arguments the parser was given.
        valid: The keys the parser accepts (`valid_keys`).

    Returns:
        The message, or None when `message` is not about unknown keys.
    """
    unknown_option = re.match(r"unrecognized arguments: (.*)", message.strip())
    not_accepted = re.search(r"does not accept option '([^']+)'|Option '([^']+)' is not accepted", message)
    if not unknown_option and not not_accepted:
        return None
    items: list[str] = []
    tokens = unknown_option.group(1).split() if unknown_option else [a for a in args if a.startswith("--")]
    for token in tokens:
        if not token.startswith("--"):
            continue
        key = token[2:].split("=", 1)[0]
        if key in ("config", "print_config", "help") or _is_known(key, valid):
            continue
        hint = nearest_key(key, valid)
        items.append(f"--{key}" + (f" (did you mean --{hint}?)" if hint else ""))
    for path, key in _unknown_in_yaml(config_paths(args), valid):
        hint = nearest_key(key, valid)
        items.append(f"{key} in {path}" + (f" (did you mean {hint}?)" if hint else ""))
    group = re.search(r"Group '([^']+)' does not accept option '([^']+)'", message)
    if not items and group:  # overrides passed as a mapping (the Python API), not as arguments
        key = f"{group.group(1)}.{group.group(2)}"
        hint = nearest_key(key, valid)
        items.append(key + (f" (did you mean {hint}?)" if hint else ""))
    if not items and not_accepted and "class_path" in message:  # an init arg of a class spec (`model.net`)
        option = not_accepted.group(1) or not_accepted.group(2)
        nested = re.search(r'Parser key "([^"]+)"', message)
        section = f"{nested.group(1)}.init_args" if nested else ""
        hint = nearest_key(f"{section}.{option}" if section else option, {v for v in valid if v.startswith(section)})
        items.append(f"{section + '.' if section else ''}{option}" + (f" (did you mean {hint}?)" if hint else ""))
    if not items:
        return None
    return f"unknown key{'s' if len(items) > 1 else ''}: " + ", ".join(items)
