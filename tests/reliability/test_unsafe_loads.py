"""No code path can unpickle: a syntax-tree scan of every loader call, and poisoned checkpoints refused.

The scan reads each module's syntax tree (not its lines), follows import aliases
(`from torch import load as L`, `import pickle as pk`) and calls spread over several lines, and
checks the keyword arguments the call really passes. A call that must stay is allow-listed below
with the reason it is safe; an allow-list entry that no longer matches anything fails too.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Optional

import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import CONFIGS, ROOT, TINY
from tests.reliability.conftest import TRACEBACK, all_runs
from tradexp.api import override_args

SCANNED = ("tradexp", "callbacks", "scripts")
# (file, qualified call) -> why it is safe. Keep it short; every entry is a reviewed exception.
ALLOWED: dict[tuple[str, str], str] = {
    ("tradexp/lifecycle/predict.py", "mlflow.pyfunc.load_model"): (
        "tradexp logs models from code (python_model is the path of lifecycle/model_code.py, nothing cloudpickled) "
        "and their weights load with torch.load(weights_only=True); a model URI the user names is code they chose to run"
    )
}

_PICKLE_MODULES = ("pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve")


def _alias_map(tree: ast.AST) -> dict[str, str]:
    """Local name -> qualified name for every import in the module (`L` -> `torch.load`)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualified(node: ast.AST, aliases: dict[str, str]) -> Optional[str]:
    """`np.load` -> `numpy.load`; `self.net.load_from_checkpoint` -> `?.net.load_from_checkpoint`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    elif parts:
        parts.append("?")  # a call on an expression: keep the attribute chain
    else:
        return None
    return ".".join(reversed(parts))


def _keyword(call: ast.Call, name: str) -> Optional[ast.AST]:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: Optional[ast.AST]) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _problem(name: str, call: Optional[ast.Call]) -> Optional[str]:
    """Why this use of `name` could run code from a file, or None when it cannot."""
    last = name.rsplit(".", 1)[-1]
    if name == "torch.load" or name.endswith(".torch.load"):
        return None if call is not None and _is_true(_keyword(call, "weights_only")) else "torch.load without weights_only=True"
    if name.split(".")[0] in _PICKLE_MODULES and last in ("load", "loads", "Unpickler", "open"):
        return f"{name} unpickles"
    if last == "Unpickler":
        return f"{name} unpickles"
    if name in ("numpy.load", "numpy.lib.npyio.load"):
        if call is None:
            return "numpy.load passed around (allow_pickle unknown)"
        flag = _keyword(call, "allow_pickle")
        return None if flag is None or (isinstance(flag, ast.Constant) and flag.value is False) else "numpy.load with allow_pickle"
    if name in ("pandas.read_pickle", "pandas.io.pickle.read_pickle") or last == "read_pickle":
        return "read_pickle unpickles"
    if last == "load_from_checkpoint":
        return None if call is not None and _is_true(_keyword(call, "weights_only")) else "load_from_checkpoint without weights_only=True"
    if name.startswith("mlflow.") and last == "load_model":
        return f"{name} may unpickle the model"
    if name in ("yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all", "yaml.full_load_all"):
        return f"{name} builds Python objects"
    if name == "yaml.load":
        loader = _keyword(call, "Loader") if call is not None else None
        if loader is None and call is not None and len(call.args) > 1:
            loader = call.args[1]
        return (
            None if loader is not None and (getattr(loader, "attr", None) or getattr(loader, "id", "")).endswith(("SafeLoader", "CSafeLoader")) else "yaml.load without SafeLoader"
        )
    if name in ("yaml.Loader", "yaml.UnsafeLoader", "yaml.FullLoader", "yaml.CLoader", "yaml.CUnsafeLoader", "yaml.CFullLoader"):
        return f"{name} builds Python objects"
    return None


def unsafe_loads(source: str, filename: str = "<source>") -> list[tuple[int, str, str]]:
    """Every loader use in `source` that could execute code: (line, qualified name, why)."""
    tree = ast.parse(source, filename)
    aliases = _alias_map(tree)
    found, calls = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _qualified(node.func, aliases)
            calls.add(id(node.func))
            if name and (why := _problem(name, node)):
                found.append((node.lineno, name, why))
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:  # class Mine(pickle.Unpickler)
                name = _qualified(base, aliases)
                calls.add(id(base))
                if name and (why := _problem(name, None)):
                    found.append((node.lineno, name, why))
    for node in ast.walk(tree):  # a loader referenced without being called (`loader = torch.load`)
        if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in calls and isinstance(node.ctx, ast.Load):
            name = _qualified(node, aliases)
            if name and name != getattr(node, "id", None) and (why := _problem(name, None)) and not name.startswith("yaml."):
                found.append((node.lineno, name, why + " (referenced, not called)"))
    return sorted(set(found))


PLANTED = """
import pickle as pk
import numpy
import pandas as pd
import mlflow
from torch import load as restore
import yaml

restore(path)
restore(
    path,
    map_location="cpu",
    weights_only=False,
)
pk.loads(blob)
numpy.load(path, allow_pickle=True)
pd.read_pickle(path)
Model.load_from_checkpoint(path)
mlflow.pytorch.load_model(uri)
yaml.load(text, Loader=yaml.Loader)
class Mine(pk.Unpickler): pass
loader = restore
"""

SAFE = """
import torch, numpy as np, yaml
from torch import load
torch.load(
    path,
    map_location="cpu",
    weights_only=True,
)
load(path, weights_only=True)
np.load(path)
np.load(path, allow_pickle=False)
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
Model.load_from_checkpoint(path, weights_only=True)
"""


def test_the_scan_finds_every_planted_unsafe_load_and_passes_the_safe_ones():
    found = unsafe_loads(PLANTED)
    assert [(line, name) for line, name, _ in found] == [
        (9, "torch.load"),
        (10, "torch.load"),
        (15, "pickle.loads"),
        (16, "numpy.load"),
        (17, "pandas.read_pickle"),
        (18, "Model.load_from_checkpoint"),
        (19, "mlflow.pytorch.load_model"),
        (20, "yaml.load"),
        (21, "pickle.Unpickler"),
        (22, "torch.load"),
    ]
    assert unsafe_loads(SAFE) == []


def test_no_unsafe_load_anywhere_in_the_code():
    offenders, used = [], set()
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for line, name, why in unsafe_loads(path.read_text(), relative):
                if (relative, name) in ALLOWED:
                    used.add((relative, name))
                else:
                    offenders.append(f"{relative}:{line}: {name}: {why}")
    assert offenders == []
    assert set(ALLOWED) - used == set(), "stale allow-list entries"
    assert all(reason.strip() for reason in ALLOWED.values())


# -- poisoned checkpoints on the command line -----------------------------------------------------
from tests.reliability.faults import Payload, exit_code  # noqa: E402

FIT = ["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args({**TINY, "trainer.max_epochs": 1}), "--trainer.callbacks=[]", "--tracking.keep_local_checkpoints=true"]


def _poison(path: Path, marker: Path) -> None:
    torch.save({"state_dict": {}, "epoch": 0, "global_step": 1, "payload": Payload(marker)}, path)


def test_a_poisoned_last_checkpoint_found_by_ckpt_path_last_is_refused(mlflow_uri, tmp_path, capfd):
    assert exit_code(FIT) == 0
    (last,) = Path("lightning_logs").glob("*/*/checkpoints/last.ckpt")
    marker = tmp_path / "PWNED"
    _poison(last, marker)
    capfd.readouterr()
    assert exit_code([*FIT, "--ckpt_path=last"]) == 2
    stdout, stderr = capfd.readouterr()
    lines = [line for line in (stdout + stderr).splitlines() if "tradexp: error:" in line]
    assert len(lines) == 1 and "refused: it does not load as plain weights (weights_only=True)" in lines[0], stdout + stderr
    assert str(last.resolve()) in lines[0]
    assert TRACEBACK not in stdout + stderr
    assert not marker.exists()
    (run,) = all_runs(MlflowClient(mlflow_uri))  # the first fit's run, untouched
    assert run.info.status == "FINISHED"


@pytest.mark.parametrize("subcommand", ["validate", "predict"])
def test_validate_and_predict_refuse_a_checkpoint_with_a_pickle_payload(mlflow_uri, tmp_path, capfd, subcommand):
    marker, path = tmp_path / "PWNED", tmp_path / "evil.ckpt"
    _poison(path, marker)
    assert exit_code([subcommand, *FIT[1:], f"--ckpt_path={path}"]) == 2
    stdout, stderr = capfd.readouterr()
    lines = [line for line in (stdout + stderr).splitlines() if "tradexp: error:" in line]
    assert lines == [f"tradexp: error: ckpt_path: '{path}' refused: it does not load as plain weights (weights_only=True): {lines[0].split('(weights_only=True): ', 1)[1]}"]
    assert "GLOBAL posix.system" in lines[0]
    assert TRACEBACK not in stdout + stderr
    assert not marker.exists()
    assert all_runs(MlflowClient(mlflow_uri)) == []
    assert shutil.which("touch")  # the payload would have worked: the marker's absence means it never ran


@pytest.mark.parametrize(
    "net, refusal",
    [
        ({"class_path": "torch.nn.Identity", "init_args": {}}, "refused: its net `torch.nn.Identity` is neither a tradexp net nor the configured `model.net`"),
        ({"name": "mlp", "init_args": {}}, "was written by an older tradexp (its `net` has no class_path); load it with tradexp.models.load_trading_module"),
    ],
)
def test_a_checkpoint_naming_another_net_class_is_refused(mlflow_uri, tmp_path, capfd, net, refusal):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}, "epoch": 0, "global_step": 1, "hyper_parameters": {"net": net, "lr": 0.001}}, path)  # plain weights
    assert exit_code(["validate", *FIT[1:], f"--ckpt_path={path}"]) == 2
    stdout, stderr = capfd.readouterr()
    assert [line for line in (stdout + stderr).splitlines() if "tradexp: error:" in line] == [f"tradexp: error: ckpt_path: '{path}' {refusal}"]
    assert all_runs(MlflowClient(mlflow_uri)) == []
