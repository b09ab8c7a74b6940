"""The model registry with a gate: versions carry their evidence, `champion` needs a significant result.

    register("3f2a...", "spy-mlp", alias="champion")        # refused unless the evidence holds
    register("3f2a...", "spy-mlp", alias="champion", force=True, reason="paper trading only")

The gate reads the one definition of a run's verdict (`tradexp.evaluation.headline.headline_info`);
a study's retrained best also needs the study's deflated Sharpe >= `MIN_DEFLATED_SHARPE`.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, Optional

from mlflow import MlflowClient
from mlflow.entities import LoggedModel, Run

from tradexp.errors import TradexpError
from tradexp.evaluation.headline import headline_info

__all__ = [
    "Registration",
    "RegistryError",
    "PromotionRefused",
    "register",
    "find_logged_model",
    "gather_evidence",
    "promotion_gaps",
    "list_models",
    "GATED_ALIASES",
    "MIN_DEFLATED_SHARPE",
]

log = logging.getLogger(__name__)

GATED_ALIASES = ("champion",)  # `candidate`, `shadow` and any other alias are not gated
MIN_DEFLATED_SHARPE = 0.95
_TEST_METRICS = (
    "test/loss",
    "test/acc",
    "test/auroc",
    "test/dir_acc",
    "test/trading/sharpe",
    "test/trading/hit_rate",
    "test/trading/max_drawdown",
    "test/trading/n_periods",
    "test/baseline/buy_and_hold/sharpe",
)
# A universe's evidence: the ranking across symbols, dates as the independent unit (`test/xs/*`).
_XS_METRICS = ("test/xs/rank_ic_mean", "test/xs/rank_ic_pvalue", "test/xs/icir", "test/xs/long_short/sharpe", "test/xs/long_short/sharpe_ci_low")
XS_ALPHA = 0.05  # level of the universe verdict on the rank IC p-value
# Params that make two runs "the same config" for the walk-forward evidence (split dates differ by design).
_SAME_CONFIG_DATA = ("data.path", "data.features", "data.window", "data.horizon", "data.task", "data.scaler", "data.dead_zone")


class RegistryError(TradexpError):
    """A run cannot be registered (no logged model, unknown run, ...)."""


class PromotionRefused(RegistryError):
    """Promotion to a gated alias refused: names the evidence that is missing."""


class Registration(NamedTuple):
    """What `register` did."""

    name: str
    version: str
    alias: Optional[str]
    model_uri: str  # models:/NAME/VERSION
    tags: dict[str, str]
    forced: bool


def find_logged_model(client: MlflowClient, run: Run) -> LoggedModel:
    """The run's READY LoggedModel named `model` (the newest when several).

    Raises:
        RegistryError: When the run logged none.
    """
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string="name = 'model'")
    mine = [m for m in models if m.source_run_id == run.info.run_id and str(m.status).endswith("READY")]
    if not mine:
        raise RegistryError(f"run {run.info.run_id} has no logged model; fit it again with `--tracking.log_model true` (the default)")
    return max(mine, key=lambda m: m.creation_timestamp)


def _deflated_sharpe(client: MlflowClient, run: Run) -> tuple[Optional[str], Optional[float]]:
    """(study parent run id, its deflated Sharpe) when the run is a study's retrained best."""
    parent_id = run.data.tags.get("tradexp.study.parent_run")
    if not parent_id:
        return None, None
    try:
        metrics = client.get_run(parent_id).data.metrics
    except Exception as exc:  # noqa: BLE001 - a deleted parent is missing evidence, not a crash
        log.warning("study parent run %s unreadable: %s", parent_id, exc)
        return parent_id, None
    value = metrics.get("hpo/deflated_sharpe", metrics.get("deflated_sharpe"))
    return parent_id, None if value is None else float(value)


def _walk_forward_oos(client: MlflowClient, run: Run) -> tuple[Optional[str], Optional[float]]:
    """(walk-forward parent run id, its pooled out-of-sample Sharpe) for a walk-forward of the same config."""
    if run.data.tags.get("tradexp.walk_forward"):  # a fold itself: its own parent
        parent_id = run.data.tags["tradexp.walk_forward"]
        sharpe = client.get_run(parent_id).data.metrics.get("oos/trading/sharpe")
        return parent_id, None if sharpe is None else float(sharpe)
    params = run.data.params
    keys = [k for k in params if k.startswith("model.")] + [k for k in _SAME_CONFIG_DATA if k in params]
    folds = client.search_runs([run.info.experiment_id], filter_string="tags.`tradexp.type` = 'fold'", order_by=["attributes.start_time DESC"], max_results=200)
    for fold in folds:
        if all(fold.data.params.get(k) == params[k] for k in keys) and fold.data.tags.get("tradexp.walk_forward"):
            parent_id = fold.data.tags["tradexp.walk_forward"]
            sharpe = client.get_run(parent_id).data.metrics.get("oos/trading/sharpe")
            if sharpe is not None:
                return parent_id, float(sharpe)
    return None, None


def gather_evidence(client: MlflowClient, run: Run, model: LoggedModel) -> dict[str, str]:
    """The version tags: source run, data, test metrics, verdict and p-values, deflated Sharpe, OOS, report."""
    metrics = run.data.metrics
    headline = headline_info(metrics)
    universe = "tradexp.universe.size" in run.data.tags
    tags = {
        "tradexp.source_run": run.info.run_id,
        "tradexp.model_id": model.model_id,
        "tradexp.run_name": run.info.run_name or "",
        "tradexp.dataset": run.data.tags.get("tradexp.dataset", ""),
        "tradexp.dataset.digest": run.data.tags.get("tradexp.dataset.digest", model.tags.get("tradexp.dataset.digest", "")),
        "tradexp.verdict": headline.verdict or "not evaluated",
        "tradexp.report": f"{run.info.artifact_uri}/report/run_report.html",
    }
    for key in ("start", "end", "test_start", "test_end"):
        value = model.tags.get(f"tradexp.dataset.{key}")
        if value:
            tags[f"tradexp.dataset.{key}"] = value
    if headline.sharpe_pvalue is not None:
        tags["tradexp.sharpe_pvalue"] = f"{headline.sharpe_pvalue:.6g}"
    if headline.accuracy_pvalue is not None:
        tags["tradexp.accuracy_pvalue"] = f"{headline.accuracy_pvalue:.6g}"
    if headline.warnings:
        tags["tradexp.warnings"] = "; ".join(headline.warnings)
    for key in _TEST_METRICS + (_XS_METRICS if universe else ()):
        if key in metrics:
            tags[f"tradexp.{key.replace('/', '.')}"] = f"{metrics[key]:.6g}"
    if universe and headline.verdict is None:  # no per-series test Sharpe: the cross-sectional evidence decides
        tags.update(_universe_verdict(metrics, run.data.tags["tradexp.universe.size"]))
    study, deflated = _deflated_sharpe(client, run)
    if study:
        tags["tradexp.study.parent_run"] = study
        tags["tradexp.deflated_sharpe"] = "missing" if deflated is None else f"{deflated:.6g}"
    walk_forward, oos = _walk_forward_oos(client, run)
    if walk_forward:
        tags["tradexp.walk_forward.run"] = walk_forward
        tags["tradexp.walk_forward.oos_sharpe"] = f"{oos:.6g}"
    return tags


def _universe_verdict(metrics: dict[str, float], size: str) -> dict[str, str]:
    """A universe run's verdict: its mean rank IC is significant (block bootstrap over dates) and its
    top/bottom long-short earns a positive Sharpe after costs."""
    tags = {"tradexp.universe.size": size, "tradexp.evidence": "cross-sectional (test/xs/*)"}
    pvalue, rank_ic, sharpe = (metrics.get(f"test/xs/{k}") for k in ("rank_ic_pvalue", "rank_ic_mean", "long_short/sharpe"))
    if pvalue is None or rank_ic is None:
        tags["tradexp.verdict"] = "not evaluated"
        return tags
    significant = pvalue < XS_ALPHA and rank_ic > 0 and (sharpe is None or sharpe > 0)
    tags["tradexp.verdict"] = "significant" if significant else "not significant"
    return tags


def promotion_gaps(tags: dict[str, str]) -> list[str]:
    """The evidence a version lacks for `champion` (empty when it may be promoted)."""
    gaps = []
    if tags.get("tradexp.evidence", "").startswith("cross-sectional") and tags.get("tradexp.verdict") != "significant":
        p, ic, ls = (tags.get(f"tradexp.test.xs.{k}", "missing") for k in ("rank_ic_pvalue", "rank_ic_mean", "long_short.sharpe"))
        gaps.append(
            f"a universe run: its cross-sectional evidence is {tags.get('tradexp.verdict')!r} (rank IC mean {ic}, p = {p}; "
            f"long-short Sharpe after costs {ls}); `champion` needs p < {XS_ALPHA} with a positive rank IC and long-short Sharpe"
        )
    elif tags.get("tradexp.verdict") != "significant":
        p = tags.get("tradexp.sharpe_pvalue")
        detail = f"p = {p}" if p else "no test/significance metrics on the run"
        gaps.append(f"the test Sharpe after costs is {tags.get('tradexp.verdict', 'not evaluated')!r} ({detail}); `champion` needs 'significant'")
    if "tradexp.study.parent_run" in tags:
        deflated = tags.get("tradexp.deflated_sharpe", "missing")
        if deflated == "missing":
            gaps.append(f"the study {tags['tradexp.study.parent_run']} recorded no deflated Sharpe; a study's best needs >= {MIN_DEFLATED_SHARPE}")
        elif float(deflated) < MIN_DEFLATED_SHARPE:
            gaps.append(f"the study's deflated Sharpe is {deflated} (< {MIN_DEFLATED_SHARPE}): the best of many trials may be luck")
    return gaps


def register(run_id: str, name: str, alias: Optional[str] = None, reason: Optional[str] = None, force: bool = False, tracking_uri: Optional[str] = None) -> Registration:
    """Register a run's logged model as a new version of `name`, with its evidence as tags.

    Args:
        run_id: The run (a `tradexp fit`, a study's retrained best, a walk-forward fold).
        name: Registered model name.
        alias: Alias to point at the new version (`champion` is gated; `candidate`, `shadow` are not).
        reason: Why (recorded as `tradexp.promotion.reason`; required with `force`).
        force: Promote to a gated alias without the evidence (recorded as `tradexp.promotion.forced=true`).
        tracking_uri: Store (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).

    Returns:
        Registration: name, version, alias, tags.

    Raises:
        RegistryError: Unknown run, or a run without a logged model.
        PromotionRefused: A gated alias without the evidence (nothing is registered then).
    """
    from tradexp.tracking.store import open_store

    if not name or "/" in name or "@" in name:
        raise ValueError(f"--name: {name!r} is not a registered model name (no '/' or '@')")
    if force and not reason:
        raise ValueError("--force needs --reason TEXT: a forced promotion records why")
    client = open_store(tracking_uri)
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - MlflowException for an unknown id: one message
        raise RegistryError(f"run {run_id!r} not found in {client.tracking_uri}: {str(exc).splitlines()[0]}") from None
    model = find_logged_model(client, run)
    tags = gather_evidence(client, run, model)
    forced = False
    if alias in GATED_ALIASES:
        gaps = promotion_gaps(tags)
        if gaps and not force:
            raise PromotionRefused(
                f"promotion of run {run_id} to {name}@{alias} refused: " + "; ".join(gaps) + " (register it as `candidate` or `shadow`, or pass --force --reason TEXT)"
            )
        forced = bool(gaps)
        tags["tradexp.promotion.forced"] = "true" if forced else "false"
    if reason:
        tags["tradexp.promotion.reason"] = reason[:4000]
    if alias:
        tags["tradexp.promotion.alias"] = alias
    try:
        client.get_registered_model(name)
    except Exception:  # noqa: BLE001 - RESOURCE_DOES_NOT_EXIST: create it
        client.create_registered_model(name, tags={"tradexp.registered_by": "tradexp register"})
    version = client.create_model_version(name, source=f"models:/{model.model_id}", run_id=run_id, tags=tags, model_id=model.model_id)
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    log.info("registered run %s as %s version %s%s", run_id, name, version.version, f" @{alias}" if alias else "")
    return Registration(name, str(version.version), alias, f"models:/{name}/{version.version}", tags, forced)


def list_models(tracking_uri: Optional[str] = None) -> list[dict[str, Any]]:
    """One row per registered model version: name, version, aliases, source run and its evidence."""
    from tradexp.tracking.store import open_store

    client = open_store(tracking_uri)
    rows = []
    for registered in client.search_registered_models():
        aliases: dict[str, list[str]] = {}
        for alias, version in (registered.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        for version in client.search_model_versions(f"name = '{registered.name}'"):
            t = version.tags
            rows.append(
                {
                    "name": registered.name,
                    "version": str(version.version),
                    "aliases": ",".join(sorted(aliases.get(str(version.version), []))),
                    "run_id": version.run_id,
                    "verdict": t.get("tradexp.verdict", ""),
                    "sharpe_p": t.get("tradexp.sharpe_pvalue", ""),
                    "test_sharpe": t.get("tradexp.test.trading.sharpe", ""),
                    "deflated_sharpe": t.get("tradexp.deflated_sharpe", ""),
                    "oos_sharpe": t.get("tradexp.walk_forward.oos_sharpe", ""),
                    "forced": t.get("tradexp.promotion.forced", ""),
                }
            )
    rows.sort(key=lambda r: (r["name"], int(r["version"])))
    return rows


def registered_names(client: MlflowClient) -> list[str]:
    """Names of every registered model (for 'unknown model' messages)."""
    return sorted(m.name for m in client.search_registered_models())
