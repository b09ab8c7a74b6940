"""`EnvironmentCapture`: where and how a run was made — machine, packages, command line, seeds, git.

Files (in the run, or under `trainer.log_dir`):
- `environment/environment.json`: `python` (version), `platform` (string), `os`, `hardware` (CPU, memory, GPUs), `versions`
  (torch, lightning, mlflow, optuna, ...), `packages` ({name: version}), `command_line` (redacted),
  `seeds`, `env` (allow-listed variables only, redacted), `trainer` (strategy, devices, precision),
  `git` (without the diff), `working_dir`, `captured_at`;
- `environment/packages.txt` (`name==version` per line, pip-installable);
- `environment/git.json` (commit, branch, dirty, remote without credentials, untracked files) and
  `environment/git_diff.patch` (the uncommitted diff against HEAD, capped at `max_diff_bytes` with a
  note when cut). Outside a git checkout, `git.json` says so and there is no patch.

Secrets never leave the machine: see `callbacks.redaction` for the rules.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, Sequence

import lightning.pytorch as pl
import torch
from typing_extensions import override

from callbacks._run_output import ReportingCallback
from callbacks.git_state import git_state
from callbacks.redaction import ENV_ALLOWLIST, redact_argv, redact_env, redact_text

__all__ = ["EnvironmentCapture"]

_VERSIONED = ("torch", "lightning", "mlflow", "optuna", "numpy", "pandas", "torchmetrics", "torchinfo", "scipy", "matplotlib")
_SEED_VARIABLES = ("PL_GLOBAL_SEED", "PL_SEED_WORKERS", "PYTHONHASHSEED")


def _packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def _memory_bytes() -> Optional[int]:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="ignore").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _hardware() -> dict[str, Any]:
    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({"index": index, "name": props.name, "memory_bytes": int(props.total_memory), "capability": f"{props.major}.{props.minor}"})
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": affinity,
        "memory_bytes": _memory_bytes(),
        "gpus": gpus,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "mps": bool(torch.backends.mps.is_available()),
        "torch_threads": torch.get_num_threads(),
    }


def _trainer_facts(trainer: "pl.Trainer") -> dict[str, Any]:
    return {
        "strategy": type(trainer.strategy).__name__,
        "accelerator": type(trainer.accelerator).__name__,
        "num_devices": trainer.num_devices,
        "num_nodes": trainer.num_nodes,
        "world_size": trainer.world_size,
        "precision": str(trainer.precision),
        "max_epochs": trainer.max_epochs,
    }


def _get_environment_info(argv: Sequence[str], environ: dict[str, str], allow: Sequence[str], packages: dict[str, str]) -> dict[str, Any]:
    """Everything about the process that does not depend on the trainer (pure apart from reading the machine)."""
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(), "hostname": socket.gethostname()},
        "hardware": _hardware(),
        "versions": {name: packages.get(name) for name in _VERSIONED},
        "packages": packages,
        "command_line": redact_argv(argv),
        "seeds": {**{name: environ.get(name) for name in _SEED_VARIABLES}, "torch_initial_seed": int(torch.initial_seed())},
        "env": redact_env(environ, allow),
        "working_dir": redact_text(os.getcwd()),
        "captured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


class EnvironmentCapture(ReportingCallback):
    """Records the machine, packages, redacted command line, seeds and git state once per run, at setup.

    Runs on global rank zero only (no collective calls).

    Args:
        env_allowlist: Extra glob patterns of environment variable names to record (on top of
            `callbacks.redaction.ENV_ALLOWLIST`); values are still redacted when the name looks secret.
        git_path: A folder inside the checkout to describe (default: the working directory).
        max_diff_bytes: Cap of `git_diff.patch` in bytes (>= 0; 0 = record no diff).
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(self, env_allowlist: Sequence[str] = (), git_path: str = ".", max_diff_bytes: int = 1_000_000, strict: bool = False) -> None:
        super().__init__(strict=strict)
        if isinstance(env_allowlist, str) or not all(isinstance(p, str) and p for p in env_allowlist):
            raise ValueError(f"`env_allowlist` must be a list of name patterns such as ['MYAPP_*'], got {env_allowlist!r}")
        if not isinstance(max_diff_bytes, int) or max_diff_bytes < 0:
            raise ValueError(f"`max_diff_bytes` must be an int >= 0, got {max_diff_bytes!r}")
        self.env_allowlist = list(env_allowlist)
        self.git_path = git_path
        self.max_diff_bytes = max_diff_bytes
        self._done: set[str] = set()

    @override
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if not trainer.is_global_zero or self.output is None or self.output.key in self._done:
            return
        with self.reporting_errors(trainer, "setup"):
            self._done.add(self.output.key)
            self._capture(trainer)

    def _capture(self, trainer: "pl.Trainer") -> None:
        packages = _packages()
        info = _get_environment_info(sys.argv, dict(os.environ), [*ENV_ALLOWLIST, *self.env_allowlist], packages)
        info["trainer"] = _trainer_facts(trainer)
        git = git_state(self.git_path, max_diff_bytes=max(self.max_diff_bytes, 1))
        diff = git.pop("diff", None)
        if git.get("available") and self.max_diff_bytes == 0:
            git["diff_note"] = "diff not recorded (max_diff_bytes=0)"
        elif git.get("diff_truncated"):
            git["diff_note"] = f"diff cut at {self.max_diff_bytes} of {git['diff_bytes']} bytes (raise `max_diff_bytes` to keep it all)"
        if git.get("root"):
            git["root"] = redact_text(git["root"])
        info["git"] = git
        out = self.output
        out.write_text(json.dumps(info, indent=2, default=str), "environment/environment.json")
        out.write_text("".join(f"{name}=={version}\n" for name, version in packages.items()), "environment/packages.txt")
        out.write_text(json.dumps(git, indent=2, default=str), "environment/git.json")
        if git.get("available") and self.max_diff_bytes > 0:
            note = f"\n# {git['diff_note']}\n" if git.get("diff_truncated") else ""
            out.write_text((diff or "") + note, "environment/git_diff.patch")
