"""The look-back commands: `tradexp runs`, `tradexp config diff|show|validate`, `tradexp reproduce`.

    tradexp runs --model lstm --where "test/acc>0.52" --sort test/acc
    tradexp config diff RUN_A RUN_B
    tradexp reproduce RUN_ID --trainer.max_epochs 3

Each `*_main(argv)` prints to stdout and returns the exit code; `tradexp.cli.main` turns domain
errors into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import yaml

from callbacks.redaction import strip_credentials
from tradexp.cli_args import add_tracking_uri, option_values
from tradexp.config.history import ConfigChange, diff_configs, run_config
from tradexp.config.overrides import dotted_overrides
from tradexp.organisation.run_query import KEY_METRICS, RunQuery, find_runs, run_rows
from tradexp.organisation.tables import FORMATS, render, render_table
from tradexp.tracking.sqlite_runs import open_for_reading

if TYPE_CHECKING:
    from tradexp.organisation.reproduce import Difference, Reproduction

__all__ = ["runs_main", "config_main", "reproduce_main"]

_EPILOG_RUNS = """examples:
  tradexp runs                                   newest 50 runs of every experiment
  tradexp runs --model lstm --status finished --where "test/acc>0.52" --sort test/acc
  tradexp runs --type hpo_trial --parent STUDY_RUN_ID --sort val/loss --ascending
  tradexp runs --experiment "tradexp/production/*" --format csv > runs.csv
"""


def _quiet_downloads() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


# -- tradexp runs --------------------------------------------------------------------------------
def _runs_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradexp runs",
        description="List runs filtered by their tradexp tags, status and metric thresholds, with their key metrics.",
        epilog=_EPILOG_RUNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="tradexp.model tag: mlp, lstm, gru, cnn_lstm, ...")
    parser.add_argument("--stage", help="tradexp.stage tag: development, staging, production")
    parser.add_argument("--type", help="tradexp.type tag: training, hpo_study, hpo_trial, reproduction, comparison, walk_forward, fold")
    parser.add_argument("--dataset", help="tradexp.dataset tag (file stem or synthetic)")
    parser.add_argument("--purpose", help="tradexp.purpose tag")
    parser.add_argument("--status", help="running, finished, failed or killed")
    parser.add_argument("--experiment", help="experiment name or glob, e.g. 'tradexp/production/*' (default: all)")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="another tag that must match (repeatable)")
    parser.add_argument("--where", action="append", default=[], metavar="CONDITION", help='metric threshold such as "test/acc>0.52" (repeatable; > >= < <= = !=)')
    parser.add_argument("--parent", metavar="RUN_ID", help="only child runs of this run (e.g. the trials of a study)")
    parser.add_argument("--since", metavar="DATE", help="only runs started on or after this ISO date")
    parser.add_argument("--sort", metavar="METRIC", help="sort by this metric, largest first (default: newest first)")
    parser.add_argument("--ascending", action="store_true", help="smallest first (with --sort)")
    parser.add_argument("--metrics", metavar="M1,M2", help="metric columns to show (default: the key metrics the runs have)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), json or csv")
    parser.add_argument("--reap", action="store_true", help="first mark RUNNING runs whose process is gone (no heartbeat) as FAILED (tradexp.tracking.reaper)")
    parser.add_argument("--stale-after", type=float, metavar="SECONDS", help="with --reap: a run is stale after this many seconds without a heartbeat (default 180)")
    add_tracking_uri(parser)
    return parser


def _reap(client: Any, stale_after: Optional[float] = None) -> list[str]:
    """Mark stale RUNNING runs FAILED (their heartbeat is older than `stale_after` seconds)."""
    from tradexp.tracking.reaper import reap_stale_runs

    if stale_after is None:
        return list(reap_stale_runs(client))
    if stale_after <= 0:
        raise ValueError(f"--stale-after: {stale_after:g} received; a number of seconds > 0")
    return list(reap_stale_runs(client, stale_after=stale_after))


def _tag_pairs(items: Sequence[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag: {item!r} received; write KEY=VALUE, e.g. --tag team=alpha")
        tags[key.strip()] = value.strip()
    return tags


def runs_main(argv: Sequence[str]) -> int:
    """`tradexp runs`: list runs as a table (or JSON/CSV), filtered and sorted."""
    args = _runs_parser().parse_args(list(argv))
    if args.limit < 1:
        raise ValueError(f"--limit: {args.limit} received; at least 1")
    if args.reap:  # writes: through MLflow's client
        from tradexp.tracking.store import open_store

        client = open_store(args.tracking_uri)
        reaped = _reap(client, args.stale_after)
        print(f"reaped {len(reaped)} stale run(s): {', '.join(reaped) or '-'}")
    else:
        client = open_for_reading(args.tracking_uri)
    query = RunQuery(
        **option_values(args, "model", "stage", "type", "dataset", "purpose", "status", "experiment", "where", "parent", "since", "sort", "ascending", "limit"),
        tags=_tag_pairs(args.tag),
    )
    runs, experiments = find_runs(client, query)
    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    rows, metrics = run_rows(runs, experiments, chosen)
    extra = [c.metric for c in query.conditions()] + ([args.sort] if args.sort else [])
    metrics += [m for m in dict.fromkeys(extra) if m not in metrics]
    if args.format == "table":
        columns = ["run_id", "start", "status", "type", "model", "dataset", "stage", *metrics, "run_name"]
        if not rows:
            print(f"no runs match in {len(experiments)} experiment(s) of {strip_credentials(client.tracking_uri)}")
            return 0
        print(render_table(rows, columns))
        print(f"\n{len(rows)} run(s){' (limit reached: --limit N shows more)' if len(rows) == args.limit else ''}")
    else:
        columns = ["run_id", "experiment", "run_name", "status", "start", "type", "stage", "model", "dataset", "purpose", *metrics]
        print(render(rows, columns, args.format))
    return 0


# -- tradexp config ------------------------------------------------------------------------------
def _load_side(client_box: list, reference: str, tracking_uri: Optional[str]) -> tuple[dict[str, Any], str]:
    """A config from a YAML file path or a run id, and its label."""
    path = Path(reference)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return yaml.safe_load(path.read_text()) or {}, path.name
    if not client_box:
        client_box.append(open_for_reading(tracking_uri))
    return run_config(client_box[0], reference), reference[:12]


def _change_rows(changes: Sequence[ConfigChange], label_a: str, label_b: str) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [{"key": c.path, "change": c.kind, label_a: c.before, label_b: c.after} for c in changes]
    return rows, ["key", "change", label_a, label_b]


def _config_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradexp config", description="Inspect, compare and check configurations.", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{diff,show,validate}")
    diff = commands.add_parser("diff", help="what changed between two runs' configs (or YAML files)", description="Changed, added and removed keys between two resolved configs.")
    diff.add_argument("first", metavar="RUN_A", help="run id or YAML file")
    diff.add_argument("second", metavar="RUN_B", help="run id or YAML file")
    diff.add_argument("--format", choices=FORMATS, default="table")
    add_tracking_uri(diff)
    show = commands.add_parser("show", help="print the resolved config a run stored", description="Print config/config.yaml of a run.")
    show.add_argument("run_id", metavar="RUN_ID")
    add_tracking_uri(show)
    validate = commands.add_parser(
        "validate",
        allow_abbrev=False,
        help="check a config (YAML + overrides) without training",
        description="Parse and check every rule as `tradexp fit` would, then print the resolved config.\nexample: tradexp config validate configs/lstm.yaml --model.lr 0.01",
    )
    validate.add_argument("configs", nargs="*", metavar="CONFIG.yaml")
    validate.add_argument("--quiet", action="store_true", help="print only OK or the problems")
    return parser


def config_main(argv: Sequence[str]) -> int:
    """`tradexp config diff RUN_A RUN_B`, `config show RUN_ID`, `config validate CONFIG.yaml [--key value ...]`."""
    _quiet_downloads()
    parser = _config_parser()
    args, rest = parser.parse_known_args(list(argv))
    if rest and args.command != "validate":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "diff":
        box: list = []
        first, label_a = _load_side(box, args.first, args.tracking_uri)
        second, label_b = _load_side(box, args.second, args.tracking_uri)
        if label_a == label_b:
            label_a, label_b = f"A:{label_a}", f"B:{label_b}"
        changes = diff_configs(first, second)
        rows, columns = _change_rows(changes, label_a, label_b)
        if args.format != "table":
            print(render(rows, columns, args.format))
        elif not changes:
            print(f"the configs of {args.first} and {args.second} are identical")
        else:
            print(render_table(rows, columns))
            counts = {kind: sum(c.kind == kind for c in changes) for kind in ("changed", "added", "removed")}
            print(f"\n{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed")
        return 0
    if args.command == "show":
        config = run_config(open_for_reading(args.tracking_uri), args.run_id)
        print(yaml.safe_dump(config, sort_keys=False).rstrip())
        return 0
    from tradexp.run import load_config  # LightningCLI's parser: only `validate` needs Lightning

    config = load_config(args.configs or None, dotted_overrides(rest))
    print("OK: the config is valid" if args.quiet else yaml.safe_dump(config, sort_keys=False).rstrip())
    return 0


# -- tradexp reproduce ---------------------------------------------------------------------------
def _print_differences(differences: list["Difference"]) -> None:
    if not differences:
        print("Same code, packages and data as the original run.")
        return
    print(f"{len(differences)} difference(s) from the original run:")
    shown = differences if len(differences) <= 25 else differences[:25]
    for difference in shown:
        print(f"  {difference.line()}")
    if len(differences) > len(shown):
        print(f"  ... and {len(differences) - len(shown)} more")


def _print_metrics(result: "Reproduction", everything: bool) -> None:
    shown = [m for m in result.metrics if everything or m.name in KEY_METRICS or not m.matches]
    rows = [{"metric": m.name, "original": m.original, "reproduction": m.reproduction, "difference": m.difference, "same": "yes" if m.matches else "NO"} for m in shown]
    print(f"\nReproduction run: {result.run_id} (tag tradexp.reproduces={result.original_run_id})")
    print(render_table(rows, ["metric", "original", "reproduction", "difference", "same"]))
    hidden = len(result.metrics) - len(shown)
    if hidden:
        print(f"({hidden} further metrics are equal; --all-metrics lists them)")
    tested = [m for m in result.metrics if m.name.startswith("test/") and m.original is not None]
    verdict = "match" if result.test_metrics_match else "DIFFER"
    print(f"\ntest metrics {verdict}: {sum(m.matches for m in tested)}/{len(tested)} equal")


def reproduce_main(argv: Sequence[str]) -> int:
    """`tradexp reproduce RUN_ID [--check] [--strict] [--key value ...]`.

    Exit code 0 when the test metrics match (or `--check` found no difference), 1 otherwise.
    """
    from tradexp.organisation.reproduce import reproduce_run

    _quiet_downloads()
    parser = argparse.ArgumentParser(
        prog="tradexp reproduce",
        allow_abbrev=False,  # `--trainer.max_epochs 3` is an override, never an abbreviation
        description="Re-run a run from its stored config and seed as a new `reproduction` run linked to it. "
        "Differences in git commit, uncommitted changes, package versions and data digest are reported "
        "before starting; metric differences after finishing. Further --key VALUE arguments override the stored config.",
        epilog="examples:\n  tradexp reproduce 3f2a...\n  tradexp reproduce 3f2a... --check\n  tradexp reproduce 3f2a... --trainer.max_epochs 5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--check", action="store_true", help="only report differences; start nothing (exit 1 if any)")
    parser.add_argument("--strict", action="store_true", help="start nothing when anything differs (exit 1)")
    parser.add_argument("--all-metrics", action="store_true", help="list every metric, not only the key ones and those that differ")
    add_tracking_uri(parser)
    args, rest = parser.parse_known_args(list(argv))
    print(f"Reproducing run {args.run_id}")
    result = reproduce_run(
        args.run_id, overrides=dotted_overrides(rest), tracking_uri=args.tracking_uri, check_only=args.check, strict=args.strict, on_differences=_print_differences
    )
    if result.run_id is None:
        if args.strict and result.differences:
            print("--strict: not started because of the differences above")
        return 1 if result.differences else 0
    _print_metrics(result, args.all_metrics)
    return 0 if result.test_metrics_match else 1
