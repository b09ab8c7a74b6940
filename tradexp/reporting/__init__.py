"""Self-contained HTML reports of a training run, an HPO study and a comparison of runs.

    from tradexp.reporting import run_report, study_report, compare_report
    run_report(run_id)                                   # -> Path of the HTML, also logged to the run
    study_report("lstm-study")                           # logged to the study's parent run
    compare_report(experiment="tradexp/development/synthetic", top=5, metric="test/acc")

Modules by role, in the order a report is made:
    read_runs, read_study        read MLflow (and the study's files) into plain dataclasses
    run_info, study_info         the numbers, as `*_info` NamedTuples from pure functions
    figures                      draws those NamedTuples (PNG)
    markup + templates/          HTML building blocks and the page skeleton (Jinja2, autoescape on)
    run_page, study_page,        the three pages (pure: collected data in, HTML out)
    comparison_page
    publish                      the entry points: read -> page -> `publish` (file + the run's report/)
    callback                     `RunReport`: the run report at the end of every fit
"""

from tradexp.lazy_exports import lazy_exports

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
    "publish",
    "run_report",
    "study_report",
    "compare_report",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tradexp.reporting.callback": ("RunReport",),
        "tradexp.reporting.comparison_page": ("build_comparison_html",),
        "tradexp.reporting.publish": ("compare_report", "publish", "run_report", "study_report"),
        "tradexp.reporting.read_runs": ("ReportError", "RunData", "collect_run", "collect_runs", "select_runs"),
        "tradexp.reporting.read_study": ("StudyData", "collect_study"),
        "tradexp.reporting.run_page": ("build_run_html",),
        "tradexp.reporting.study_page": ("build_study_html",),
    },
)
