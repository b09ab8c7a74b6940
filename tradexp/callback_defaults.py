"""The callbacks `tradexp fit` puts on the trainer by default (each can be removed in YAML).

Each entry is a LightningCLI class spec; `trainer.callbacks` in a config replaces the whole list,
so a config that lists its own callbacks switches these off.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CALLBACKS"]

DEFAULT_CALLBACKS: list[dict] = [
]
