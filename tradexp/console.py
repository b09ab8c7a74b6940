"""What a command tells the user at its end: the headline of the run, its report and where to look.

Every command that evaluates a model ends with the same few lines (`fit`, `hpo`, `walkforward`,
`predict`):

    print_headline(metrics, run_id=run_id, tracking_uri=uri)

    Sharpe after costs  0.84  vs buy-and-hold 0.31  (beats it)
    max drawdown        12.3%
    verdict             not significant (p = 0.21, 112 test samples)
    warning             only 112 test samples (fewer than 250): the evidence is thin
    report              /home/me/mlartifacts/tradexp_development_synthetic/<run>/artifacts/report/run_report.html
    look                tradexp ui   then open http://127.0.0.1:5000

The numbers come from `tradexp.evaluation.headline.headline_info` (never computed here); this module
only words them, for the terminal (`headline_lines`) and for the MLflow run description
(`headline_markdown`, set by `describe_run`).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlparse
from urllib.request import url2pathname

from tradexp.evaluation.headline import Headline, headline_info

__all__ = [
    "REPORT_ARTIFACT",
    "NOTE_TAG",
    "headline_rows",
    "headline_lines",
    "headline_markdown",
    "print_headline",
    "report_location",
    "describe_run",
    "describe_study",
    "print_study_headline",
    "print_fit_summary",
    "ui_command",
    "silence_known_noise",
]

log = logging.getLogger(__name__)

REPORT_ARTIFACT = "report/run_report.html"  # where `RunReport` writes the training report in a run
NOTE_TAG = "mlflow.note.content"  # the run description the MLflow UI shows (markdown)

Metrics = Union[Mapping[str, float], Headline]


def _info(metrics: Metrics, split: str) -> Headline:
    return metrics if isinstance(metrics, Headline) else headline_info(metrics, split=split)


def _num(value: Optional[float], fmt: str = ".2f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _sharpe_text(info: Headline) -> str:
    text = _num(info.sharpe) + ("" if info.buy_hold_sharpe is None else f"  vs buy-and-hold {_num(info.buy_hold_sharpe)}")
    if info.beats_buy_and_hold is not None:
        text += "  (beats it)" if info.beats_buy_and_hold else "  (does not beat it)"
    return text


def _verdict_text(info: Headline) -> str:
    samples = "?" if info.n_samples is None else str(info.n_samples)
    split = "test" if info.split == "test" else f"{info.split}"
    if info.verdict is None:
        return "no significance test on this split" if info.n_samples is None else f"no significance test ({samples} {split} samples)"
    return f"{info.verdict} (p = {info.sharpe_pvalue:.3g}, {samples} {split} samples)"


def headline_rows(info: Headline) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the terminal, markdown and HTML forms."""
    rows = [("Sharpe after costs", _sharpe_text(info)), ("max drawdown", "n/a" if info.max_drawdown is None else f"{info.max_drawdown:.1%}"), ("verdict", _verdict_text(info))]
    if info.rank_ic_mean is not None:  # a universe: the cross-sectional answer beside the pooled one
        pvalue = "" if info.rank_ic_pvalue is None else f"  (p = {info.rank_ic_pvalue:.3g}, bootstrap over dates)"
        rows.append(("mean rank IC", f"{info.rank_ic_mean:.4f}{pvalue}"))
        baseline = "" if info.equal_weight_sharpe is None else f"  vs equal weight {_num(info.equal_weight_sharpe)}"
        rows.append(("long-short Sharpe", _num(info.long_short_sharpe) + baseline))
    rows += [("warning", text) for text in info.warnings]
    return rows


def headline_lines(metrics: Metrics, split: str = "test", report: Optional[str] = None, look: Optional[str] = "tradexp ui") -> list[str]:
    """The headline as terminal lines: Sharpe vs buy-and-hold, drawdown, verdict, warnings, report, where to look.

    Args:
        metrics: A run's metrics (`test/trading/sharpe`, ...) or an already computed `Headline`.
        split: The split the metrics describe (`test`, `val`, `oos` for pooled walk-forward folds).
        report: Path or URI of the HTML report, shown as the `report` line.
        look: Command that opens the UI (None: no `look` line).
    """
    info = _info(metrics, split)
    rows = headline_rows(info)
    if report:
        rows.append(("report", str(report)))
    if look:
        rows.append(("look", f"{look}   then open http://127.0.0.1:5000"))
    return [f"  {label:<19} {value}" for label, value in rows]


def headline_markdown(metrics: Metrics, split: str = "test", report_link: Optional[str] = None, title: str = "Headline") -> str:
    """The headline as the markdown of an MLflow run description (a table, then the report link)."""
    info = _info(metrics, split)
    lines = [f"**{title}** ({info.split} split)", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {value.replace('|', '/')} |" for label, value in headline_rows(info)]
    if report_link:
        lines += ["", f"Report: [{REPORT_ARTIFACT}]({report_link})"]
    return "\n".join(lines)


def report_location(client: Any, run_id: str, artifact: str = REPORT_ARTIFACT, run: Any = None) -> Optional[str]:
    """Where a run's report is: a local file path when the artifacts are local and it exists, else its URI.

    Args:
        run: The run as `client.get_run` returned it, when the caller has it (one read fewer).

    Returns None when the run has no such artifact (e.g. `RunReport` is not among the callbacks).
    """
    from tradexp.tracking.store import list_run_artifacts

    try:
        run = run if run is not None else client.get_run(run_id)
        folder, _, name = artifact.rpartition("/")
        listed = {a.path for a in list_run_artifacts(client, run, folder or None)}
    except Exception as err:  # noqa: BLE001 - the summary must not fail on a store that cannot answer
        log.debug("report location of run %s: %s", run_id, err)
        return None
    if artifact not in listed:
        return None
    uri = run.info.artifact_uri.rstrip("/")
    if uri.startswith("file:"):
        return str(Path(url2pathname(urlparse(uri).path)) / artifact)
    return f"{uri}/{artifact}"


def print_headline(
    metrics: Metrics,
    *,
    run_id: Optional[str] = None,
    client: Any = None,
    report: Optional[str] = None,
    split: str = "test",
    title: Optional[str] = None,
    look: Optional[str] = "tradexp ui",
) -> None:
    """Print the headline block that ends `fit`, `hpo`, `walkforward` and `predict` (CLI only).

    Args:
        metrics: Metric name -> value (`test/trading/sharpe`, `test/baseline/buy_and_hold/sharpe`,
            `test/significance/probabilistic_sharpe`, ...), or a `Headline`.
        run_id: The run the metrics belong to; with `client`, its report is looked up.
        client: An `MlflowClient` on the run's store.
        report: Path of the report, when known already (wins over the lookup).
        split: `test`, `val` or `oos` (pooled walk-forward blocks).
        title: First line (default: `Headline (<split>)` plus the run id).
        look: The command that opens the UI; None leaves the line out.
    """
    if report is None and run_id and client is not None:
        report = report_location(client, run_id)
    heading = title or f"Headline ({split} split)" + (f", run {run_id}" if run_id else "")
    print(heading)
    print("\n".join(headline_lines(metrics, split=split, report=report, look=look)))


def describe_run(client: Any, run_id: str, metrics: Optional[Mapping[str, float]] = None, split: str = "test", extra: str = "") -> str:
    """Set the run's MLflow description (`mlflow.note.content`) to its headline and a link to its report.

    Args:
        client: `MlflowClient` on the run's store.
        run_id: The run.
        metrics: Its metrics (default: read from the store).
        split: The split of the headline.
        extra: Markdown appended (e.g. a study's best child).

    Returns:
        The markdown written.
    """
    run = client.get_run(run_id)
    metrics = run.data.metrics if metrics is None else metrics
    link = None
    if report_location(client, run_id, run=run) is not None:
        link = f"#/experiments/{run.info.experiment_id}/runs/{run_id}/artifacts/{REPORT_ARTIFACT}"
    text = headline_markdown(metrics, split=split, report_link=link)
    tags = run.data.tags
    if tags.get("tradexp.trial") is not None and tags.get("mlflow.parentRunId"):
        parent = tags["mlflow.parentRunId"]
        extra = (extra + "\n\n" if extra else "") + (
            f"Trial {tags['tradexp.trial']} of study `{tags.get('tradexp.study', '?')}`: "
            f"[parent run](#/experiments/{run.info.experiment_id}/runs/{parent}); scored on validation only"
        )
    if extra:
        text += "\n\n" + extra
    client.set_tag(run_id, NOTE_TAG, text)
    return text


def ui_command(tracking_uri: Optional[str]) -> str:
    """`tradexp ui`, with `--tracking-uri` when the store is not the one `tradexp ui` opens by default."""
    from tradexp.tracking.store import resolve_tracking_uri

    from callbacks.redaction import strip_credentials

    if tracking_uri is None or tracking_uri == resolve_tracking_uri(None):
        return "tradexp ui"
    return f"tradexp ui --tracking-uri {strip_credentials(tracking_uri)}"


def _scalar_metrics(trainer: Any) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}


def print_fit_summary(trainer: Any) -> None:
    """Print what a fit ends with: the run and its store, the classification scores, the best
    checkpoint, then the headline, the report and `tradexp ui` (rank zero only; CLI and scripts)."""
    from lightning.pytorch.loggers import MLFlowLogger

    from callbacks.redaction import strip_credentials

    if not trainer.is_global_zero:
        return
    metrics = _scalar_metrics(trainer)
    split = "test" if any(k.startswith("test/") for k in metrics) else "val"
    print()
    run_id = client = None
    look = "tradexp ui"
    for logger in trainer.loggers:
        if not isinstance(logger, MLFlowLogger):
            continue
        spool = getattr(logger, "spool_path", None)
        if spool is not None:  # the tracking server is down: asking it anything would fail
            print(f"MLflow run: {logger.run_id}  NOT complete on {logger.tracking_uri} (server unreachable)")
            print(f"  kept in:  {spool}   replay with: tradexp sync {spool}")
            continue
        client = logger.experiment
        run_id = logger.run_id
        experiment = client.get_experiment(logger.experiment_id)
        print(f"MLflow run: {run_id}  (experiment {experiment.name!r})")
        print(f"  store:    {strip_credentials(client.tracking_uri)}")  # shown, so without a password
        look = ui_command(client.tracking_uri)
    scores = [f"{k} {metrics[k]:.4f}" for k in (f"{split}/loss", f"{split}/acc", f"{split}/balanced_acc", f"{split}/auroc", f"{split}/mse", f"{split}/dir_acc") if k in metrics]
    if scores:
        print("  " + "   ".join(scores))
    checkpoint = trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_path", "") if checkpoint is not None else ""
    if best:  # a released local copy is in the run's artifacts
        print(f"  best checkpoint: {best if Path(best).is_file() or run_id is None else f'runs:/{run_id}/checkpoints/best.ckpt'}")
    print_headline(metrics, run_id=run_id, client=client, split=split, look=look)


# Messages that do not concern a tradexp user, matched exactly (every other warning stays visible).
_NOISE_WARNINGS = (
    # torch 2.13 deprecates LeafSpec; Lightning 2.6's own _pytree.py still builds one on every loop.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # MLflow registers LocalArtifactDatasetSource twice and warns on every dataset input logged.
    (r"The specified dataset source can be interpreted in multiple ways", UserWarning),
)
_NOISE_LOG_PREFIXES = ("💡 Tip: For seamless cloud logging", "💡 Tip: For seamless cloud uploads")  # litlogger / litmodels adverts


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_NOISE_LOG_PREFIXES)


def silence_known_noise() -> None:
    """Hide the three known messages that are noise to a tradexp user: Lightning's litlogger/litmodels
    tips, MLflow's `dataset source can be interpreted in multiple ways` UserWarning and torch's
    `LeafSpec` deprecation raised from inside Lightning. Nothing else is filtered. Idempotent."""
    for message, category in _NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropAdverts) for f in logger.filters):
            logger.addFilter(_DropAdverts())


def _run_link(client: Any, run_id: str) -> str:
    experiment_id = client.get_run(run_id).info.experiment_id
    return f"[{run_id}](#/experiments/{experiment_id}/runs/{run_id})"


def describe_study(client: Any, parent_run_id: str, summary: Mapping[str, Any], retrain_run_id: Optional[str] = None) -> str:
    """Set a study parent run's MLflow description: its best child (trial, value, params, link) and,
    when the best configuration was retrained and tested, that run's headline.

    Args:
        client: `MlflowClient` on the store.
        parent_run_id: The study's parent run.
        summary: The study summary (`study_name`, `metric`, `n_trials`, `states`, `best_trial`,
            `best_value`, `best_params`, `best_run_id`), as `StudyRun.log_summary` returns it.
        retrain_run_id: The retrained best configuration's run, if any.

    Returns:
        The markdown written.
    """
    states = ", ".join(f"{k} {v}" for k, v in sorted(dict(summary.get("states", {})).items()))
    lines = [f"**Study `{summary.get('study_name', '?')}`**: {summary.get('n_trials', 0)} trials ({states})", ""]
    best_run = summary.get("best_run_id")
    if summary.get("best_trial") is None:
        lines.append("No trial completed yet.")
    else:
        link = _run_link(client, best_run) if best_run else "?"
        lines.append(f"Best child: trial {summary['best_trial']}, {summary.get('metric', 'value')} = {summary.get('best_value'):.6g}, run {link}")
        params = dict(summary.get("best_params") or {})
        if params:
            lines += ["", "| param | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in params.items()]
    if report_location(client, parent_run_id, "report/study_report.html") is not None:
        experiment_id = client.get_run(parent_run_id).info.experiment_id
        lines += ["", f"Report: [report/study_report.html](#/experiments/{experiment_id}/runs/{parent_run_id}/artifacts/report/study_report.html)"]
    if retrain_run_id:
        retrained = client.get_run(retrain_run_id)
        lines += ["", f"Best configuration retrained and tested: run {_run_link(client, retrain_run_id)}", ""]
        lines.append(headline_markdown(retrained.data.metrics, title="Headline of the retrained best"))
    text = "\n".join(lines)
    client.set_tag(parent_run_id, NOTE_TAG, text)
    return text


def print_study_headline(tracking_uri: Optional[str], parent_run_id: str, retrain_run_id: Optional[str]) -> None:
    """End `tradexp hpo`: the headline of the retrained best configuration on the test split, or how to get one.

    The trials are scored on validation only (the test split stays untouched during a search), so the
    test headline exists once the best configuration is retrained (`--retrain_best`).
    """
    from tradexp.tracking.store import open_store

    look = ui_command(tracking_uri) + " --optuna"
    if not retrain_run_id:
        print("Headline: none yet: trials are scored on validation only; `--retrain_best` retrains the best and tests it")
        print(f"  look                {look}   then open http://127.0.0.1:5000 (MLflow) and http://127.0.0.1:8080 (Optuna)")
        return
    client = open_store(tracking_uri)
    metrics = client.get_run(retrain_run_id).data.metrics
    print_headline(metrics, run_id=retrain_run_id, client=client, title=f"Headline of the retrained best (test split), run {retrain_run_id}", look=look)
