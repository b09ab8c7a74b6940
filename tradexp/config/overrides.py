"""Config overrides: dotted keys to values, from Python (`{"model.lr": 0.01}`) or a command line.

    dotted_overrides(["--trainer.max_epochs", "3", "--model.lr=0.01"])
    # {"trainer.max_epochs": "3", "model.lr": "0.01"}

Every command that takes `--key value` overrides besides its own options (`tradexp hpo`,
`walkforward`, `reproduce`, `config validate`) reads its own options with argparse
`parse_known_args` and turns the rest into a dict with `dotted_overrides`. Values stay strings:
jsonargparse converts them by the type of the key, exactly as it does for `tradexp fit --key value`.
The dict then goes to LightningCLI as it is (`tradexp.run.build`); nothing is dumped to YAML text.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

import yaml

__all__ = ["Overrides", "as_overrides", "dotted_overrides", "override_args", "tiny_fit_overrides"]

# Dotted keys to values (`{"trainer.max_epochs": 2}`), or command-line words (`["--trainer.max_epochs", "2"]`).
Overrides = Union[Mapping[str, Any], Sequence[str], None]


def dotted_overrides(args: Sequence[str]) -> dict[str, str]:
    """`["--a.b", "1", "--c=2", "d=3"]` -> `{"a.b": "1", "c": "2", "d": "3"}`; later keys win.

    A value may start with `-` (`--model.lr -0.1`); a word starting with `--` is always a key.

    Raises:
        ValueError: A key without a value, or a word that is neither `--key`, `--key=value` nor `key=value`.
    """
    overrides: dict[str, str] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        if item.startswith("--") and "=" not in item:
            if not items or items[0].startswith("--"):
                raise ValueError(f"override {item!r} has no value; write {item} VALUE or {item}=VALUE")
            overrides[item[2:]] = items.pop(0)
        elif item.startswith("--"):
            key, _, value = item[2:].partition("=")
            overrides[key] = value
        elif "=" in item and not item.startswith("-"):
            key, _, value = item.partition("=")
            overrides[key] = value
        else:
            raise ValueError(f"{item!r} is not an override; write --key VALUE, --key=VALUE or key=VALUE")
    return overrides


def as_overrides(overrides: Overrides) -> dict[str, Any]:
    """Overrides as one dict of dotted keys, whichever form they were given in."""
    if not overrides:
        return {}
    if isinstance(overrides, Mapping):
        return {str(key): value for key, value in overrides.items()}
    if isinstance(overrides, str):
        raise TypeError(f"overrides: a string {overrides!r} received; give a dict of dotted keys or a list of `--key=value` words")
    return dotted_overrides(overrides)


def override_args(overrides: Overrides) -> list[str]:
    """Command-line words for overrides: `{"data.features": ["rsi_14"]}` -> `["--data.features=[rsi_14]"]`.

    For building a `tradexp ...` command line (tests, scripts, subprocesses); Python callers pass the
    dict itself to `tradexp.run.build`.
    """
    words = []
    for key, value in as_overrides(overrides).items():
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        if text.endswith("..."):  # a scalar document: `3\n...`
            text = text[: -len("...")].strip()
        words.append(f"--{key}={text}")
    return words


def tiny_fit_overrides(max_epochs: int = 2) -> dict[str, Any]:
    """Overrides that make any config fit in about a second on 2 CPU cores (tests, benchmarks).

    600 synthetic bars, windows of 8, batches of 64, `max_epochs` epochs, no progress bar or model
    summary, a logged point every step.
    """
    return {
        "trainer.max_epochs": max_epochs,
        "trainer.enable_progress_bar": False,
        "trainer.enable_model_summary": False,
        "trainer.log_every_n_steps": 1,
        "data.synthetic.n_bars": 600,
        "data.window": 8,
        "data.batch_size": 64,
    }
