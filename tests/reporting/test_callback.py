"""`RunReport` arguments are checked when it is built (so LightningCLI fails at parse time)."""

import pytest

from tradexp.callback_defaults import DEFAULT_CALLBACKS
from tradexp.reporting import RunReport


def test_skip_run_types_must_be_a_list():
    with pytest.raises(TypeError, match="`skip_run_types` must be a list of run types, got the string 'hpo_trial'"):
        RunReport(skip_run_types="hpo_trial")
    assert RunReport(skip_run_types=["hpo_trial"]).skip_run_types == ("hpo_trial",)


def test_run_report_is_the_last_default_callback():
    assert DEFAULT_CALLBACKS[-1]["class_path"] == "tradexp.reporting.RunReport"
