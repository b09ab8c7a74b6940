"""Security: safe YAML, weights-only checkpoints, artifact paths that cannot escape, secrets never recorded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tests.reliability.conftest import TRACEBACK, all_runs, artifact_paths, subprocess_env, the_run
from tradexp.api import build, override_args
from tradexp.callback_defaults import DEFAULT_CALLBACKS
from tradexp.cli import main
from tradexp.tracking.logger import TradexpLogger, safe_artifact_path

from tests.reliability.faults import Payload, exit_code  # noqa: E402

FIT = ["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), "--trainer.callbacks=[]"]


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system", "!!python/name:os.system"])
def test_yaml_python_tags_are_refused_and_nothing_runs(mlflow_uri, tmp_path, capfd, tag):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"trainer:\n  max_epochs: {tag} ['touch {marker}']\n")
    assert exit_code([*FIT, "--config", str(evil)]) == 2
    stdout, stderr = capfd.readouterr()
    assert re.search(r"tradexp: error: Problems parsing config: could not determine a constructor for the tag 'tag:yaml\.org,2002:python/", stderr)
    assert TRACEBACK not in stdout + stderr
    with pytest.raises(SystemExit):  # the Python API parses the same way (and exits 2 on a parse error)
        build([str(CONFIGS / "mlp.yaml"), str(evil)])
    assert "could not determine a constructor" in capfd.readouterr().err
    assert not marker.exists()
    assert all_runs(MlflowClient(mlflow_uri)) == []


def test_yaml_tag_in_a_command_line_value_is_text_not_code(mlflow_uri, tmp_path, capfd):
    marker = tmp_path / "PWNED"
    assert exit_code([*FIT, f"--data.features=!!python/object/apply:os.system ['touch {marker}']"]) == 2
    assert "Expected a <class 'list'>" in capfd.readouterr().err
    assert not marker.exists()


# (the unsafe-load scan of the code is a syntax-tree scan in test_unsafe_loads.py)


@pytest.fixture
def evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"lr": 0.001}, "payload": Payload(marker)}, path)
    return path, marker


def test_checkpoint_with_a_pickle_payload_is_refused_by_load_trading_module(evil_checkpoint):
    from tradexp.models.module import load_trading_module

    path, marker = evil_checkpoint
    with pytest.raises(Exception, match="Weights only load failed"):
        load_trading_module(path)
    assert not marker.exists()


@pytest.mark.parametrize("subcommand", ["fit", "test"])
def test_cli_refuses_a_checkpoint_with_a_pickle_payload_before_anything_runs(mlflow_uri, evil_checkpoint, capfd, subcommand):
    path, marker = evil_checkpoint
    assert exit_code([subcommand, *FIT[1:], f"--ckpt_path={path}"]) == 2
    stdout, stderr = capfd.readouterr()
    assert f"tradexp: error: ckpt_path: '{path}' refused: it does not load as plain weights (weights_only=True): " in stderr
    assert "GLOBAL posix.system" in stderr
    assert TRACEBACK not in stdout + stderr
    assert not marker.exists()
    assert all_runs(MlflowClient(mlflow_uri)) == []


def test_cli_refuses_a_remote_checkpoint_that_lightning_would_unpickle(mlflow_uri, capfd):
    # Lightning loads http(s) checkpoints with weights_only=False; tradexp never lets it.
    assert exit_code(["test", *FIT[1:], "--ckpt_path=http://127.0.0.1:9/model.ckpt"]) == 2
    assert "refused: remote checkpoints are loaded with weights_only=False" in capfd.readouterr().err


@pytest.mark.parametrize("bad", ["../escape.txt", "plots/../../escape.txt", "/etc/passwd", "..", "C:/x.txt", "..\\escape.txt", " "])
def test_artifact_paths_that_leave_the_run_are_refused(bad):
    with pytest.raises(ValueError, match="must be relative and stay inside the run"):
        safe_artifact_path(bad)


def test_artifact_paths_inside_the_run_are_normalised():
    assert safe_artifact_path("./plots//roc.png") == "plots/roc.png"
    assert safe_artifact_path("report/run_report.html") == "report/run_report.html"


def test_logger_refuses_to_write_outside_the_run(mlflow_uri, tmp_path):
    logger = TradexpLogger(experiment_name="security", save_dir=str(tmp_path / "logs"))
    for method, args in (("log_text", ("x", "../../escape.txt")), ("log_file", (str(tmp_path / "mlflow.db"), "../.."))):
        with pytest.raises(ValueError, match="must be relative"):
            getattr(logger, method)(*args)
    logger.finalize("success")
    assert not list(tmp_path.rglob("escape.txt"))
    assert artifact_paths(MlflowClient(mlflow_uri), logger.run_id) == []


SECRETS = {"AWS_SECRET_ACCESS_KEY": "aws-Sekr3t-0123456789abcdef", "MY_API_TOKEN": "tok-Sekr3t-fedcba9876543210", "DATABASE_PASSWORD": "pw-Sekr3t-correct-horse"}
ARGV_SECRET = "cli-Sekr3t-5555aaaa"
URL_SECRET = "url-Sekr3t-7777bbbb"
# `main` gets the fit arguments; sys.argv (what the environment callback records) also holds secrets.
FIT_WITH_SECRET_ARGV = "import sys; from tradexp.cli import main; sys.exit(main(sys.argv[sys.argv.index('--') + 1:]))"


@pytest.mark.slow
def test_secrets_in_the_environment_and_command_line_appear_nowhere_in_the_run(mlflow_uri, tmp_path):
    command = [
        sys.executable,
        "-c",
        FIT_WITH_SECRET_ARGV,
        f"--api-key={ARGV_SECRET}",
        "--token",
        ARGV_SECRET,
        f"--remote=https://user:{URL_SECRET}@example.com/repo.git",
        "--",
        "fit",
        "--config",
        str(CONFIGS / "mlp.yaml"),
        *override_args({**TINY, "trainer.max_epochs": 1}),
    ]  # the default callbacks: environment, data, plots, evaluation, report
    env = subprocess_env(**SECRETS)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]

    client = MlflowClient(mlflow_uri)
    run = the_run(client)
    secrets = [*SECRETS.values(), ARGV_SECRET, URL_SECRET]
    recorded = [*run.data.params.items(), *run.data.tags.items(), *((k, "") for k in run.data.metrics)]
    for key, value in recorded:
        for secret in secrets:
            assert secret not in key and secret not in value, f"{secret} leaked into {key}"
    paths = artifact_paths(client, run.info.run_id)
    assert paths, "the run has artifacts to scan"
    local = tmp_path / "downloaded"
    local.mkdir()
    # One by one: `model/` lists the logged model's files, which a download of "" does not fetch.
    files = {}
    for i, path in enumerate(paths):
        (local / str(i)).mkdir()
        files[path] = Path(client.download_artifacts(run.info.run_id, path, str(local / str(i))))
    assert all(f.is_file() for f in files.values())
    leaks = [f"{path} holds {s}" for path, p in files.items() for s in secrets if s.encode() in p.read_bytes()]
    assert leaks == []
    assert any(spec["class_path"].endswith("EnvironmentCapture") for spec in DEFAULT_CALLBACKS)  # so the check below runs
    text = files["environment/environment.json"].read_text()  # it recorded the command line, redacted
    assert "--api-key" in text and "<redacted>" in text and "example.com" in text


def test_tradexp_ui_binds_to_localhost_by_default(capsys):
    assert exit_code(["ui", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST interface to bind (default: 127.0.0.1" in help_text


def test_run_report_escapes_every_string_from_the_run(mlflow_uri, tmp_path):
    client = MlflowClient(mlflow_uri)
    xss = "<script>alert('xss')</script>"
    experiment = client.create_experiment(f"exp{xss}")
    run = client.create_run(experiment, run_name=f"run{xss}", tags={"tradexp.purpose": xss, "tradexp.model": xss, "note": xss})
    client.log_param(run.info.run_id, "model.lr", xss)
    client.log_metric(run.info.run_id, "val/loss", 0.5, step=1)
    client.log_text(run.info.run_id, f"model: {xss}\n", "config/config.yaml")
    client.set_terminated(run.info.run_id)

    assert main(["report", "run", run.info.run_id, "-o", str(tmp_path / "report.html"), "--no-log"]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "&lt;script&gt;alert(" in html
    assert "<script>alert(" not in html
