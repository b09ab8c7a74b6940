"""Checkpoints written off the training thread, complete before anything reads them.

`BackgroundCheckpointIO` is Lightning's `AsyncCheckpointIO` (one writer thread; the state is cloned
on the training thread, then `torch.save` runs in the background) with two orderings Lightning's
leaves open:

- removals (ModelCheckpoint dropping an older best) go through the same single writer thread, after
  the saves submitted before them, so a removal never races the save of the file it removes;
- once the trainer is interrupted (Ctrl-C, SIGTERM, an exception), saves are synchronous and wait
  for the queue first: Lightning calls the loggers' `finalize` (which uploads `last.ckpt` to the
  run) before its teardown joins the writer thread, so a checkpoint saved from `on_exception` must
  be on disk when that hook returns.

`with_background_checkpointing(trainer_kwargs)` adds it to a Trainer's plugins unless a
CheckpointIO plugin is already given.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import lightning.pytorch as pl
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import AsyncCheckpointIO
from typing_extensions import override

__all__ = ["BackgroundCheckpointIO", "with_background_checkpointing"]

log = logging.getLogger(__name__)


class BackgroundCheckpointIO(AsyncCheckpointIO):
    """Save (and remove) checkpoints on one background thread; synchronous once the trainer is interrupted.

    Args:
        checkpoint_io: The plugin that writes the files (default: Lightning's `TorchCheckpointIO`).
    """

    def __init__(self, checkpoint_io: Optional[CheckpointIO] = None) -> None:
        super().__init__(checkpoint_io)
        self.trainer: Optional["pl.Trainer"] = None

    def wait(self) -> None:
        """Block until every submitted save and removal is done; re-raise a writer error."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @override
    def save_checkpoint(self, *args: Any, **kwargs: Any) -> None:
        if self.trainer is not None and self.trainer.interrupted:
            self.wait()
            self.checkpoint_io.save_checkpoint(*args, **kwargs)
            return
        super().save_checkpoint(*args, **kwargs)

    @override
    def remove_checkpoint(self, path: Any) -> None:
        if self.trainer is not None and self.trainer.interrupted:
            self.wait()
            self.checkpoint_io.remove_checkpoint(path)
            return
        self._ensure_setup()

        def _remove() -> None:
            try:
                self.checkpoint_io.remove_checkpoint(path)
            except BaseException as exc:  # surfaced on the next save or at teardown, as Lightning's saves are
                self._error = exc

        self._executor.submit(_remove)


class _AttachTrainer(Callback):
    """Gives the plugin the trainer, so it knows when the fit is interrupted (public `trainer.interrupted`)."""

    def __init__(self, plugin: BackgroundCheckpointIO) -> None:
        self.plugin = plugin

    @override
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        self.plugin.trainer = trainer


def with_background_checkpointing(trainer_kwargs: dict[str, Any], configured_plugins: Any = None, checkpoint_io: Optional[CheckpointIO] = None) -> dict[str, Any]:
    """Trainer kwargs with a `BackgroundCheckpointIO` plugin (and its helper callback) added.

    Args:
        trainer_kwargs: Keyword arguments for `Trainer` (not mutated); `callbacks` extended.
        configured_plugins: The `trainer.plugins` of the config, kept; when one of them is already a
            CheckpointIO the kwargs come back unchanged.
        checkpoint_io: What writes the files in the background (default: the strategy's, `torch.save`).

    Returns:
        New kwargs with `plugins` and `callbacks` set.
    """
    plugins = configured_plugins if isinstance(configured_plugins, list) else [p for p in [configured_plugins] if p is not None]
    if any(isinstance(p, CheckpointIO) for p in plugins):
        return dict(trainer_kwargs)
    plugin = BackgroundCheckpointIO(checkpoint_io)
    callbacks = list(trainer_kwargs.get("callbacks") or [])
    return {**trainer_kwargs, "plugins": [*plugins, plugin], "callbacks": [*callbacks, _AttachTrainer(plugin)]}
