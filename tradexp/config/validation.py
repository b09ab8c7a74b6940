"""Domain rules for a resolved config, checked before anything is instantiated or trained.

Types and ranges are the constructors' own: each argument is typed (`PositiveInt`, `LearningRate`,
`Literal[...]`, see `tradexp.ranges`), so jsonargparse refuses `--data.window 0` or
`--model.lr 5` at parse time and `--help` shows the range. These rules are what no single type can
say: settings compared with each other or with the bars (a window that fits the bars, an embargo of
at least horizon + window - 1, a checkpoint metric the task logs, a split date inside the data), a
feature that exists, names MLflow accepts, and the Trainer's and ModelCheckpoint's arguments (not
tradexp's classes). Every broken rule is collected and all of them are raised together, one line
each: `config.path: value received; what is allowed`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from tradexp.config.data_rules import check_data
from tradexp.errors import ConfigError
from tradexp.metric_direction import metric_mode
from tradexp.tracking.naming import MAX_EXPERIMENT_NAME, MAX_RUN_NAME, tag_key_problem, template_problem

__all__ = ["validate_config", "config_problems", "monitorable_metrics"]

_TASK_METRICS = {"classification": ("loss", "acc", "balanced_acc", "f1", "auroc"), "regression": ("loss", "mse", "mae", "dir_acc")}


def _get(config: Any, dotted: str, default: Any = None) -> Any:
    node = config
    for part in dotted.split("."):
        if node is None:
            return default
        if isinstance(node, dict):
            node = node.get(part)
        elif hasattr(node, "__contains__") and hasattr(node, "get") and not isinstance(node, (str, bytes)):
            node = node.get(part) if part in node else None
        else:
            node = getattr(node, part, None)
    return default if node is None else node


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "items") and not isinstance(value, dict):
        value = dict(value.items())
    return str(value)


def monitorable_metrics(task: str) -> list[str]:
    """The epoch metrics a checkpoint or early stopping can monitor for `task`."""
    return ["train/loss"] + [f"val/{name}" for name in _TASK_METRICS.get(task, ("loss",))]


def _metric_problem(task: str, metric: Any) -> Optional[str]:
    if metric in monitorable_metrics(task) or str(metric).startswith(("val/trading/", "val/xs/")):
        return None
    known = ", ".join(monitorable_metrics(task))
    return f"a metric a {task} run logs: {known}, val/trading/<name> (trading callback) or val/xs/<name> (a universe)"


def _check_monitors(get: Callable[[str], Any], report: Callable[[str, Any, str], None]) -> None:
    task = get("data.task") or "classification"
    monitor, mode = get("checkpoint.monitor"), get("checkpoint.mode")
    if monitor is not None:
        allowed = _metric_problem(task, monitor)
        if allowed:
            report("checkpoint.monitor", monitor, allowed)
        direction = metric_mode(str(monitor))
        if not allowed and mode in ("min", "max") and mode != direction:
            report("checkpoint.mode", mode, f"{direction} for {monitor} ({'larger' if direction == 'max' else 'smaller'} is better)")
    if mode not in (None, "min", "max"):
        report("checkpoint.mode", mode, "min or max")
    save_top_k = get("checkpoint.save_top_k")
    if save_top_k is not None and save_top_k < -1:
        report("checkpoint.save_top_k", save_top_k, "-1 (keep all), 0 (none) or the number of best checkpoints to keep")
    for position, spec in enumerate(get("trainer.callbacks") or []):
        init_args = _get(spec, "init_args")
        callback_monitor = _get(init_args, "monitor") if init_args is not None else None
        if callback_monitor is not None:
            allowed = _metric_problem(task, callback_monitor)
            if allowed:
                report(f"trainer.callbacks[{position}].init_args.monitor", callback_monitor, allowed)


def _check_trainer(get: Callable[[str], Any], report: Callable[[str, Any, str], None]) -> None:
    max_epochs, max_steps = get("trainer.max_epochs"), get("trainer.max_steps")
    if max_epochs is not None and max_epochs < 1 and not (max_epochs == -1 and (max_steps or -1) > 0):
        report("trainer.max_epochs", max_epochs, "a whole number >= 1 (or -1 together with trainer.max_steps > 0)")
    for key, floor in (("accumulate_grad_batches", 1), ("check_val_every_n_epoch", 1), ("log_every_n_steps", 1)):
        value = get(f"trainer.{key}")
        if isinstance(value, int) and value < floor:
            report(f"trainer.{key}", value, f"a whole number >= {floor}")
    clip = get("trainer.gradient_clip_val")
    if isinstance(clip, (int, float)) and clip < 0:
        report("trainer.gradient_clip_val", clip, "a gradient norm >= 0 (0 or null = no clipping)")


def _check_tracking(get: Callable[[str], Any], report: Callable[[str, Any, str], None], note: Callable[[str], None]) -> None:
    if get("tracking") is None:
        return
    for what in ("experiment", "run"):
        template = get(f"tracking.{what}_template")
        problem = template_problem(str(template), what) if template is not None else None
        if problem:
            note(problem)
    for key, limit in (("experiment", MAX_EXPERIMENT_NAME), ("run_name", MAX_RUN_NAME)):
        name = get(f"tracking.{key}")
        if name is not None and not 0 < len(str(name)) <= limit:
            report(f"tracking.{key}", name, f"a name of 1..{limit} characters (MLflow's limit)")
    for key, value in dict(get("tracking.tags") or {}).items():
        problem = tag_key_problem(str(key), value)
        if problem:
            note(problem)
    uri = get("tracking.tracking_uri")
    if uri is not None and "://" not in str(uri):
        report("tracking.tracking_uri", uri, "a URI with a scheme: sqlite:///path/mlflow.db, http://host:5000, postgresql://...")


def _check_symbol_embedding(get: Callable[[str], Any], report: Callable[[str, Any, str], None]) -> None:
    """`model.symbol_embedding` needs a universe: a folder, glob or long file of symbols, or a synthetic one."""
    width = get("model.symbol_embedding")
    if width is None or get("data") is None:
        return
    from tradexp.data.universe import is_universe_path

    path = get("data.path")
    if path and not any(c in str(path) for c in "*?[") and not Path(str(path)).exists():
        return  # `data.path` itself is reported
    universe = is_universe_path(str(path)) if path else (get("data.synthetic.n_symbols") or 1) > 1
    if not universe:
        report(
            "model.symbol_embedding", width,
            "null for a single series; a per-symbol vector needs a universe (`data.path` a folder, glob or long file "
            "with a `symbol` column, or `data.synthetic.n_symbols` > 1)",
        )  # fmt: skip


def config_problems(config: Any) -> list[str]:
    """Every broken domain rule of a resolved config, one `path: value received; allowed` line each.

    Args:
        config: The resolved config of one subcommand (jsonargparse Namespace or nested dict).
    """
    problems: list[str] = []

    def report(path: str, value: Any, allowed: str) -> None:
        problems.append(f"{path}: {_shown(value)} received; {allowed}")

    def get(dotted: str) -> Any:
        return _get(config, dotted)

    if get("data") is not None:
        check_data(get, report)
    if get("trainer") is not None:
        _check_trainer(get, report)
    _check_monitors(get, report)
    _check_symbol_embedding(get, report)
    _check_tracking(get, report, problems.append)
    return problems


def validate_config(config: Any) -> None:
    """Check every domain rule and raise one ConfigError listing all problems.

    Args:
        config: The resolved config of one subcommand (jsonargparse Namespace or nested dict).

    Raises:
        ConfigError: Each problem on its own line as `path: value received; allowed`.
    """
    problems = config_problems(config)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigError(f"{len(problems)} {noun} in the config, nothing was run:\n  " + "\n  ".join(problems))
