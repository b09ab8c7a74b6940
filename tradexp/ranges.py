"""The allowed range of a setting, declared once as the type of the constructor argument that consumes it.

    def __init__(self, window: PositiveInt = 32, lr: LearningRate = 1e-3, dropout: HalfOpenUnitInterval = 0.1): ...

jsonargparse (and so LightningCLI, `--help`, `--print_config`) checks these types when it parses a
config; `check_ranges` applies the same annotations when a class is built directly from Python, so
the rule is written once, in the signature. A broken range reads the same everywhere:
`model.lr: 5 received; a learning rate in (0, 1]`.

Rules that compare several settings (window vs bars, embargo vs horizon + window - 1, monitor vs
task) stay in `tradexp.config.validation`.
"""

from __future__ import annotations

import re
import typing

import yaml
from typing import Any, Callable, Literal, Mapping, Optional, Union

from jsonargparse.typing import ClosedUnitInterval, NonNegativeFloat, NonNegativeInt, OpenUnitInterval, PositiveFloat, PositiveInt, restricted_number_type

__all__ = [
    "ClosedUnitInterval",
    "HalfOpenUnitInterval",
    "LearningRate",
    "NoTradeBand",
    "NonNegativeFloat",
    "NonNegativeInt",
    "OpenUnitInterval",
    "PositiveFloat",
    "PositiveInt",
    "Resamples",
    "allowed",
    "check_ranges",
    "plain",
    "range_message",
]

LearningRate = restricted_number_type("LearningRate", float, [(">", 0), ("<=", 1)], docstring="A learning rate in (0, 1].")
HalfOpenUnitInterval = restricted_number_type("HalfOpenUnitInterval", float, [(">=", 0), ("<", 1)], docstring="A number in [0, 1).")
NoTradeBand = restricted_number_type("NoTradeBand", float, [(">=", 0), ("<", 0.5)], docstring="A half-width in [0, 0.5).")
Resamples = restricted_number_type("Resamples", int, (">=", 10), docstring="A number of resamples >= 10.")

# What each type allows, in words: (what it is, its bounds[, a hint]).
_WORDS: dict[str, tuple[str, ...]] = {
    "PositiveInt": ("a whole number", ">= 1"),
    "NonNegativeInt": ("a whole number", ">= 0"),
    "PositiveFloat": ("a number", "> 0"),
    "NonNegativeFloat": ("a number", ">= 0"),
    "OpenUnitInterval": ("a number", "in (0, 1)"),
    "ClosedUnitInterval": ("a number", "in [0, 1]"),
    "LearningRate": ("a learning rate", "in (0, 1]", ", typically 1e-4 .. 1e-2"),
    "HalfOpenUnitInterval": ("a number", "in [0, 1)"),
    "NoTradeBand": ("a half-width", "in [0, 0.5)"),
    "Resamples": ("a number of resamples", ">= 10"),
}


def allowed(kind: Any) -> Optional[str]:
    """`a learning rate in (0, 1]`: the words for a range type (or a Literal's choices); None for other types."""
    choices = _choices(kind)
    if choices is not None:
        return "one of " + ", ".join(str(c) for c in choices)
    words = _WORDS.get(getattr(kind, "__name__", ""))
    return None if words is None else _words(words)


def _words(words: tuple[str, ...]) -> str:
    return f"{words[0]} {words[1]}{words[2] if len(words) > 2 else ''}"


def _choices(kind: Any) -> Optional[tuple]:
    return typing.get_args(kind) if typing.get_origin(kind) is Literal else None


def _range_type(annotation: Any) -> Any:
    """The range type or Literal inside `annotation` (`Optional[PositiveInt]` -> PositiveInt), else None."""
    if getattr(annotation, "__name__", "") in _WORDS or _choices(annotation) is not None:
        return annotation
    if typing.get_origin(annotation) is Union:
        found = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _range_type(found[0]) if len(found) == 1 else None
    return None


def _violation(kind: Any, value: Any) -> Optional[str]:
    """Why `value` is outside `kind` (None when inside)."""
    choices = _choices(kind)
    if choices is not None:
        return None if value in choices else allowed(kind)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # a wrong type is the type checker's (or jsonargparse's) business, not a range
    try:
        kind(value)
    except ValueError:
        return allowed(kind)
    return None


def check_ranges(owner: Callable[..., Any], values: Mapping[str, Any], prefix: str = "") -> None:
    """Check `values` against the range types that `owner`'s annotations declare for them.

    Args:
        owner: A function (its parameters) or a dataclass (its fields) whose annotations hold the types.
        values: Argument name -> value (e.g. `locals()` at the top of `__init__`); names without a
            range type are ignored.
        prefix: Config path of the owner, e.g. `model.` (named in the message).

    Raises:
        ValueError: For the first value outside its range: `` `model.lr` must be in (0, 1], got 5 ``.
    """
    hints = typing.get_type_hints(owner)
    for name, value in values.items():
        kind = _range_type(hints.get(name))
        if kind is None or value is None:
            continue
        problem = _violation(kind, value)
        if problem:
            bound = problem if _choices(kind) is not None else _WORDS[kind.__name__][1]
            raise ValueError(f"`{prefix}{name}` must be {bound}, got {value!r}")


def plain(value: Any) -> Any:
    """`value` with range-typed numbers (e.g. a parsed `PositiveInt`) as plain int/float, in lists and dicts too.

    Hyperparameters saved in a checkpoint must be plain values: `torch.load(weights_only=True)`
    refuses any other class (a `jsonargparse.typing.PositiveInt` included).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value) if type(value) in (list, tuple) else [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


_NOT_OF_TYPE = re.compile(r"Not of type (?P<type>\w+): (?P<reason>[^\n]*)")
_KEY = re.compile(r'Parser key "(?P<key>[^"]+)"')
_CLASS_PATH = re.compile(r"Problem with given class_path '(?P<path>[^']+)'")


_LITERAL = re.compile(r"Expected a typing\.Literal\[(?P<choices>[^\]]*)\]\. Got value: (?P<value>[^\n]*)")


def range_message(message: str) -> Optional[str]:
    """jsonargparse's range or choice error as `model.lr: 5 received; a learning rate in (0, 1]`
    or `tracking.stage: 'prod' received; one of development, staging, production` (None for other errors).

    Nested settings get their full path: `model.net.init_args.dropout`, or
    `trainer.callbacks[TradingEvaluation].init_args.cost_bps` inside a list of classes.
    """
    keys = _KEY.findall(message)
    match, literal = _NOT_OF_TYPE.search(message), _LITERAL.search(message)
    if not keys:
        return None
    if match and match["type"] in _WORDS:
        reason = match["reason"]
        if " does not conform to restriction " in reason:
            value = reason.split(" does not conform to restriction ")[0]
        else:  # not a number at all: `invalid literal for int() with base 10: 'abc'`
            value = reason.rsplit(": ", 1)[-1]
        words = _words(_WORDS[match["type"]])
    elif literal and "Union subtypes" not in message:
        value = repr(literal["value"])
        words = "one of " + ", ".join(choice.strip().strip("'\"") for choice in literal["choices"].split(","))
    else:
        return None
    classes = _CLASS_PATH.findall(message)
    path = keys[0]
    if len(keys) > 1:
        if "Union subtypes" in message and classes:  # one entry of a list of classes
            path += f"[{classes[-1].rsplit('.', 1)[-1]}]"
        path += "".join(f".init_args.{key}" for key in keys[1:])
    return f"{path}: {value} received; {words}"


def _represent_plain(dumper: "yaml.SafeDumper", value: Any) -> Any:
    return dumper.represent_data(plain(value))


# A range-typed value written where a plain `int`/`float` is declared (e.g. `--model.net.class_path` of a
# user net whose `hidden_sizes: list[int]` received values parsed under a `list[PositiveInt]`) must still
# dump as a number: jsonargparse writes configs with `yaml.safe_dump`, which knows only exact types.
for _number_type in (
    ClosedUnitInterval,
    HalfOpenUnitInterval,
    LearningRate,
    NoTradeBand,
    NonNegativeFloat,
    NonNegativeInt,
    OpenUnitInterval,
    PositiveFloat,
    PositiveInt,
    Resamples,
):
    yaml.SafeDumper.add_representer(_number_type, _represent_plain)
