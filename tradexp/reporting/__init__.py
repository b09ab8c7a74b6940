"""Self-contained HTML reports of a training run, an HPO study and a comparison of runs.

    from tradexp.reporting import run_report, study_report, compare_report
    run_report(run_id)                                   # -> Path of the HTML, also logged to the run
    study_report("lstm-study")                           # logged to the study's parent run
    compare_report(experiment="tradexp/development/synthetic", top=5, metric="test/acc")
"""

from tradexp.reporting.callback import RunReport
from tradexp.reporting.collect import ReportError, RunData, collect_run, collect_runs, select_runs
from tradexp.reporting.comparison import build_comparison_html, compare_report
from tradexp.reporting.study import build_study_html, study_report
from tradexp.reporting.study_data import StudyData, collect_study
from tradexp.reporting.training import build_run_html, run_report

__all__ = [
    "RunReport",
    "ReportError",
    "RunData",
    "StudyData",
    "collect_run",
    "collect_runs",
    "collect_study",
    "select_runs",
    "build_run_html",
    "build_study_html",
    "build_comparison_html",
    "run_report",
    "study_report",
    "compare_report",
]
