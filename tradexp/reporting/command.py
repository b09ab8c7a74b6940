"""`tradexp report`: write a self-contained HTML report and log it to MLflow.

tradexp report run RUN_ID [-o run.html]
tradexp report study NAME_OR_RUN_ID [-o study.html]
tradexp report compare RUN_ID RUN_ID ... [-o comparison.html]
tradexp report compare --experiment NAME --filter "tags.tradexp.model = 'lstm'" --top 5 --metric test/acc
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from tradexp.cli_args import add_tracking_uri, option_values

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradexp report", description="Write a self-contained HTML report and log it to MLflow.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", help="HTML file to write (default: reports/<kind>_<id>.html)")
    add_tracking_uri(common)
    common.add_argument("--no-log", action="store_true", help="do not log the report to MLflow")
    sub = parser.add_subparsers(dest="kind", required=True, metavar="{run,study,compare}")
    run = sub.add_parser("run", parents=[common], help="training report of one run")
    run.add_argument("run_id")
    study = sub.add_parser("study", parents=[common], help="report of an HPO study")
    study.add_argument("study", metavar="NAME_OR_RUN_ID", help="study name, parent run id or a trial's run id")
    compare = sub.add_parser("compare", parents=[common], help="comparison of runs (by id, or by a filter)")
    compare.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    compare.add_argument("--experiment", help="experiment whose runs are compared")
    compare.add_argument("--filter", default="", dest="filter_string", help="MLflow filter, e.g. \"tags.`tradexp.model` = 'lstm'\"")
    compare.add_argument("--top", type=int, help="keep the best K runs by --metric")
    compare.add_argument("--metric", help="order runs by this metric, e.g. test/acc")
    order = compare.add_mutually_exclusive_group()
    order.add_argument("--ascending", dest="ascending", action="store_true", default=None, help="lower is better")
    order.add_argument("--descending", dest="ascending", action="store_false", help="higher is better")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `tradexp report ...`; prints the path of the written report. Returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.kind == "compare":
        if args.top is not None and args.top < 1:
            print(f"tradexp report: error: --top must be at least 1, got {args.top}", file=sys.stderr)
            return 2
        if args.top and not args.metric and not args.run_ids:
            print("tradexp report: note: --top without --metric keeps the most recent runs")
    from tradexp.reporting.publish import compare_report, run_report, study_report

    log_it = not args.no_log
    if args.kind == "run":
        path = run_report(args.run_id, args.output, tracking_uri=args.tracking_uri, log_to_run=log_it)
    elif args.kind == "study":
        path = study_report(args.study, args.output, tracking_uri=args.tracking_uri, log_to_run=log_it)
    else:
        path = compare_report(args.run_ids, args.output, **option_values(args, "experiment", "filter_string", "top", "metric", "ascending", "tracking_uri"), log_to_mlflow=log_it)
    print(path)
    return 0
