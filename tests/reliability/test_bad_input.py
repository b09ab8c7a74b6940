"""Bad input is answered with one short message: configs, data files, CLI arguments, names, URIs.

Each case runs `tradexp.cli.main([...])` as the console script does and checks the message text,
a non-zero exit, no traceback, and (for config and data errors) that no run was created.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS
from tests.reliability.conftest import TRACEBACK, all_runs, finish, output, spawn
from tradexp.cli import main
from tradexp.errors import ConfigError

C = str(CONFIGS / "mlp.yaml")
FIT = ["fit", "--config", C, "--trainer.max_epochs=1", "--data.synthetic.n_bars=600", "--data.window=8", "--trainer.callbacks=[]"]
PROBLEM = r"1 problem in the config, nothing was run:\s+"


def _bars(n: int = 300) -> pd.DataFrame:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    dates = pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1000.0})


def _write_files(folder: Path) -> None:
    bars = _bars()
    bars.iloc[::-1].to_csv(folder / "unsorted.csv", index=False)
    pd.concat([bars.iloc[:150], bars.iloc[149:]]).to_csv(folder / "duplicated.csv", index=False)
    with_nan = bars.copy()
    with_nan.loc[50, "close"] = np.nan
    with_nan.to_csv(folder / "nan.csv", index=False)
    negative = bars.copy()
    negative.loc[60, "close"] = -5.0
    negative.to_csv(folder / "negative.csv", index=False)
    bars.iloc[:30].to_csv(folder / "short.csv", index=False)
    bars.to_csv(folder / "bars.xlsx", index=False)
    bars[["date", "open", "high", "low"]].to_csv(folder / "no_close.csv", index=False)
    (folder / "empty.csv").write_text("")
    (folder / "broken.yaml").write_text("data: {window: 8\n")
    (folder / "list.yaml").write_text("- just\n- a list\n")


# (id, arguments, regex the stderr must match, a run-creating stage is never reached)
CASES = [
    ("unknown-feature", [*FIT, "--data.features=[nope_3]"], PROBLEM + r"data\.features\[0\]: 'nope_3' received; a known feature: .*rsi_<n>"),
    ("window-0", [*FIT, "--data.window=0"], r"data\.window: 0 received; a whole number >= 1"),
    ("horizon-negative", [*FIT, "--data.horizon=-1"], r"data\.horizon: -1 received; a whole number >= 1"),
    ("val-fraction-1.5", [*FIT, "--data.val_fraction=1.5"], r"data\.val_fraction: 1\.5 received; a number in \(0, 1\)"),
    ("fractions-over-1", [*FIT, "--data.val_fraction=0.6", "--data.test_fraction=0.5"], r"data\.val_fraction \+ data\.test_fraction: 1\.1 received; a sum below 1"),
    ("embargo-too-small", [*FIT, "--data.embargo=1"], r"data\.embargo: 1 received; null or at least horizon \+ window - 1 = 8 bars"),
    ("val-after-test", [*FIT, "--data.val_start=2011-06-01", "--data.test_start=2011-01-03"], r"data\.val_start: '2011-06-01' received; a date before data\.test_start"),
    ("lr-0", [*FIT, "--model.lr=0"], r"model\.lr: 0 received; a learning rate in \(0, 1\]"),
    ("dropout-1.5", [*FIT, "--model.net.init_args.dropout=1.5"], r"model\.net\.init_args\.dropout: 1\.5 received; a number in \[0, 1\)"),
    ("optimizer-unknown", [*FIT, "--model.optimizer=rmsprop"], r"model\.optimizer: 'rmsprop' received; one of adamw, adam, sgd"),
    ("max-epochs-0", [*FIT, "--trainer.max_epochs=0"], r"trainer\.max_epochs: 0 received; a whole number >= 1"),
    ("monitor-unknown", [*FIT, "--checkpoint.monitor=val/nope"], r"checkpoint\.monitor: 'val/nope' received; a metric a classification run logs: train/loss, val/loss"),
    ("class-path-unknown", [*FIT, "--model.net.class_path=tradexp.models.NopeNet"], r"Parser key \"model\.net\": Problem with given class_path 'tradexp\.models\.NopeNet'"),
    ("class-path-not-a-net", [*FIT, "--model.net.class_path=os.system"], r'Parser key "model\.net": Import path os\.system does not correspond to a subclass of Module'),
    ("unknown-key", [*FIT, "--data.windw=8"], r"unknown key: --data\.windw \(did you mean --data\.window\?\)"),
    ("window-abc", [*FIT, "--data.window=abc"], r"data\.window: 'abc' received; a whole number >= 1"),
    ("config-missing", ["fit", "--config", "nope.yaml"], r"File does not exist: '.*nope\.yaml'"),
    ("config-yaml-syntax", ["fit", "--config", "broken.yaml"], r"Problems parsing config: while parsing a flow mapping"),
    ("config-not-a-mapping", ["fit", "--config", "list.yaml"], r"tradexp: error: Unexpected config: - just a list"),
    ("data-file-missing", [*FIT, "--data.path=missing.csv"], r"data\.path: 'missing\.csv' received; an existing CSV or Parquet file"),
    ("data-unsorted", [*FIT, "--data.path=unsorted.csv"], r"unsorted\.csv: timestamps not sorted ascending at rows 2, 3, .*sort the file by time"),
    ("data-duplicated", [*FIT, "--data.path=duplicated.csv"], r"duplicated\.csv: duplicated timestamps at rows 151 .*each bar needs a unique time"),
    ("data-nan", [*FIT, "--data.path=nan.csv"], r"nan\.csv: missing or non-finite values \(NaN/inf\) at rows 51 .*\['close'\]"),
    ("data-negative-price", [*FIT, "--data.path=negative.csv"], r"negative\.csv: prices must be > 0; rows 61 have a price <= 0"),
    ("data-too-short", [*FIT, "--data.path=short.csv"], r"data\.path: 'short\.csv' received; more bars: 30 bars"),
    ("data-wrong-suffix", [*FIT, "--data.path=bars.xlsx"], r"data\.path: 'bars\.xlsx' received; a file ending in \.csv, .*\.parquet"),
    ("data-empty", [*FIT, "--data.path=empty.csv"], r"data\.path: 'empty\.csv' received; more bars: 0 bars"),
    ("data-no-close-column", [*FIT, "--data.path=no_close.csv"], r"`no_close\.csv` lacks columns \['close', 'volume'\]; found \['date', 'open', 'high', 'low'\]"),
    (
        "experiment-template-field",
        [*FIT, "--tracking.experiment_template={nope}/x"],
        r"tracking\.experiment_template: '\{nope\}/x' received; unknown field 'nope'; allowed fields: stage",
    ),
    ("experiment-name-too-long", [*FIT, "--tracking.experiment=" + "e" * 600], r"tracking\.experiment: 'e{600}' received; a name of 1\.\.\d+ characters"),
    ("tag-key-bad", [*FIT, "--tracking.tags={'bad key!': 'x'}"], r"tracking\.tags: key 'bad key!' received; tag keys are 1\.\.250 characters"),
    ("stage-unknown", [*FIT, "--tracking.stage=prod"], r"tracking\.stage: 'prod' received; one of development, staging, production"),
    ("tracking-uri-no-scheme", [*FIT, "--tracking.tracking_uri=mlflow.db"], r"tracking\.tracking_uri: 'mlflow\.db' received; a URI with a scheme"),
    ("tracking-uri-unreachable", [*FIT, "--tracking.tracking_uri=http://127.0.0.1:9"], r"cannot reach the MLflow tracking server at http://127\.0\.0\.1:9 \(.*refused"),
    ("ckpt-path-missing", [*FIT, "--ckpt_path=nope.ckpt"], r"ckpt_path: 'nope\.ckpt' is not a file; pass an existing checkpoint or `last`"),
    ("ckpt-path-last-without-any", [*FIT, "--ckpt_path=last"], r"ckpt_path: `last` found no last\.ckpt for experiment"),
    ("subcommand-unknown", ["fitt"], r"invalid choice: 'fitt' \(choose from 'fit', 'validate', 'test', 'predict'\)"),
    ("sync-missing-file", ["sync", "nope.jsonl"], r"tradexp sync: nope\.jsonl: no such spool file"),
    ("runs-bad-where", ["runs", "--where", "test/acc>>>1"], r"--where: 'test/acc>>>1' received; write <metric><op><number>"),
    ("runs-bad-status", ["runs", "--status", "zombie"], r"--status: 'zombie' received; one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"),
    ("runs-bad-since", ["runs", "--since", "notadate"], r"--since: 'notadate' received; an ISO date"),
    ("runs-reap-negative", ["runs", "--reap", "--stale-after", "-1"], r"--stale-after: -1 received; a number of seconds > 0"),
]


@pytest.fixture
def workdir(mlflow_uri: str, tmp_path: Path) -> Path:
    _write_files(tmp_path)
    return tmp_path


def _run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # argparse/jsonargparse errors exit 2 like argparse
        return 2 if exc.code is None else int(exc.code) if isinstance(exc.code, int) else 1


@pytest.mark.parametrize(("args", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_message_without_traceback_and_no_run(workdir, mlflow_uri, capfd, args, expected):
    code = _run(args)
    stdout, stderr = capfd.readouterr()
    assert code != 0
    assert re.search(expected, stdout + stderr, re.S), stdout + stderr
    assert TRACEBACK not in stdout + stderr
    message = [line for line in (stdout + stderr).splitlines() if re.search(r"tradexp( sync)?: (error: )?", line)]
    assert len(message) == 1, stdout + stderr  # one message (a config error lists its problems under it)
    assert all_runs(MlflowClient(mlflow_uri)) == []  # nothing was trained or recorded
    assert not list(workdir.glob("lightning_logs/**/*.ckpt"))


def test_debug_flag_shows_the_traceback_instead(workdir):
    with pytest.raises(ConfigError, match=r"data\.embargo: 1 received"):
        main(["--debug", *FIT, "--data.embargo=1"])


@pytest.mark.slow
def test_console_script_answers_bad_arguments_without_traceback(workdir):
    started = time.monotonic()
    proc = spawn([*FIT, "--data.window=abc"], workdir)
    assert finish(proc, 90) == 2
    stdout, stderr = output(workdir)
    assert stderr.startswith("tradexp: error: data.window: 'abc' received; a whole number >= 1\n")
    assert "tradexp fit --help" in stderr  # the hint names the command the user typed
    assert len(stderr.strip().splitlines()) == 2 and TRACEBACK not in stdout + stderr
    assert time.monotonic() - started < 90
