"""EnvironmentCapture: what is recorded, and that secrets never reach the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
from lightning.pytorch.loggers import CSVLogger
from mlflow import MlflowClient

from callbacks import EnvironmentCapture
from callbacks.redaction import looks_secret, redact_argv, redact_env
from tests.callbacks.conftest import all_callbacks, run_artifacts, tiny_fit
from tests.callbacks.tiny import TinyClassifier
from tradexp.tracking.logger import TradexpLogger

SECRETS = ["AKIAfakeSecretValue123", "tok-env-987654", "pl-secret-555", "sk-live-424242", "tok-cli-777777", "hunter2hunter2", "tok3nInUrl"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def dirty_repo(tmp_path: Path) -> Path:
    """A git checkout with a credentialed remote, one commit and one uncommitted change."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    _git(repo, "remote", "add", "origin", "https://user:tok3nInUrl@git.example.com/team/r.git")
    (repo / "model.py").write_text("HIDDEN = 16\n")
    _git(repo, "add", "model.py")
    _git(repo, "commit", "-q", "-m", "first")
    (repo / "model.py").write_text("HIDDEN = 32\n")
    return repo


def test_secrets_never_reach_any_artifact_tag_or_param(mlflow_uri: str, tmp_path: Path, dirty_repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "AKIAfakeSecretValue123")
    monkeypatch.setenv("MY_TOKEN", "tok-env-987654")
    monkeypatch.setenv("PL_API_TOKEN", "pl-secret-555")  # allow-listed prefix PL_*, secret name: value redacted
    monkeypatch.setenv("PL_GLOBAL_SEED", "0")
    argv = [
        "train.py",
        "--api-key=sk-live-424242",
        "--token",
        "tok-cli-777777",
        "PASSWORD=hunter2hunter2",
        "--lr=0.1",
        "--remote=https://user:tok3nInUrl@git.example.com/team/r.git",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    logger = TradexpLogger(experiment_name="secrets", save_dir=str(tmp_path / "logs"))
    callbacks = all_callbacks()
    callbacks[1] = EnvironmentCapture(git_path=str(dirty_repo))
    tiny_fit(tmp_path, logger, callbacks)

    client = MlflowClient(mlflow_uri)
    run = client.get_run(logger.run_id)
    artifacts = run_artifacts(client, logger.run_id)
    folder = Path(client.download_artifacts(logger.run_id, "", str(tmp_path / "download")))
    texts = {name: (folder / name).read_bytes() for name in artifacts}
    texts["<tags>"] = json.dumps(run.data.tags).encode()
    texts["<params>"] = json.dumps(run.data.params).encode()
    for secret in SECRETS:
        leaks = [name for name, data in texts.items() if secret.encode() in data]
        assert not leaks, f"{secret!r} leaked into {leaks}"

    environment = json.loads(texts["environment/environment.json"])
    assert environment["command_line"] == [
        "train.py",
        "--api-key=<redacted>",
        "--token",
        "<redacted>",
        "PASSWORD=<redacted>",
        "--lr=0.1",
        "--remote=https://user:***@git.example.com/team/r.git",
    ]
    assert environment["env"]["PL_API_TOKEN"] == "<redacted>"
    assert environment["env"]["PL_GLOBAL_SEED"] == "0" and environment["seeds"]["PL_GLOBAL_SEED"] == "0"
    assert "AWS_SECRET_ACCESS_KEY" not in environment["env"] and "MY_TOKEN" not in environment["env"]
    assert environment["packages"]["torch"] == environment["versions"]["torch"]
    assert {"python", "platform", "packages", "command_line", "seeds", "hardware"} <= set(environment)
    git = json.loads(texts["environment/git.json"])
    assert git["remote"] == "https://user:***@git.example.com/team/r.git"
    assert git["dirty"] is True and git["branch"] == "main" and len(git["commit"]) == 40
    patch = texts["environment/git_diff.patch"].decode()
    assert "-HIDDEN = 16" in patch and "+HIDDEN = 32" in patch
    assert b"torch==" in texts["environment/packages.txt"]


def test_diff_over_the_cap_is_cut_with_a_note(tmp_path: Path, dirty_repo: Path):
    trainer = L.Trainer(logger=CSVLogger(tmp_path / "logs"), default_root_dir=str(tmp_path), enable_progress_bar=False)
    EnvironmentCapture(git_path=str(dirty_repo), max_diff_bytes=40, strict=True).setup(trainer, TinyClassifier(), "fit")
    folder = Path(trainer.log_dir) / "environment"
    git = json.loads((folder / "git.json").read_text())
    assert git["diff_truncated"] is True and git["diff_bytes"] > 40
    assert git["diff_note"] == f"diff cut at 40 of {git['diff_bytes']} bytes (raise `max_diff_bytes` to keep it all)"
    patch = (folder / "git_diff.patch").read_text()
    assert patch.endswith(f"# {git['diff_note']}\n") and len(patch.split("\n#")[0].encode()) <= 40


def test_outside_a_checkout_git_is_recorded_as_unavailable(tmp_path: Path):
    trainer = L.Trainer(logger=CSVLogger(tmp_path / "logs"), default_root_dir=str(tmp_path), enable_progress_bar=False)
    EnvironmentCapture(git_path=str(tmp_path), strict=True).setup(trainer, TinyClassifier(), "fit")
    git = json.loads((Path(trainer.log_dir) / "environment/git.json").read_text())
    assert git["available"] is False and "is not inside a git checkout" in git["reason"]
    assert not (Path(trainer.log_dir) / "environment/git_diff.patch").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--api-key=xyz"], ["--api-key=<redacted>"]),
        (["--api-key", "xyz"], ["--api-key", "<redacted>"]),
        (["--token=abc", "--monitor", "val/loss"], ["--token=<redacted>", "--monitor", "val/loss"]),
        (["AWS_SECRET_ACCESS_KEY=abc", "LR=0.1"], ["AWS_SECRET_ACCESS_KEY=<redacted>", "LR=0.1"]),
        (["--model.db_password=p"], ["--model.db_password=<redacted>"]),
        (["--tags={api_token: abc, team: a}"], ["--tags={api_token: <redacted>, team: a}"]),
        (["https://u:t@host/r.git"], ["https://u:***@host/r.git"]),
        (["https://ghp_tokenAsUser@host/r.git"], ["https://***@host/r.git"]),
    ],
)
def test_redact_argv(argv, expected):
    assert redact_argv(argv) == expected


def test_only_allow_listed_environment_variables_are_recorded():
    environ = {"PL_GLOBAL_SEED": "3", "HOME": "/root", "MY_TOKEN": "x", "MLFLOW_TRACKING_URI": "https://u:p@mlflow.example.com", "MYAPP_SECRET": "s", "MYAPP_MODE": "fast"}
    assert redact_env(environ, ["PL_*", "MLFLOW_TRACKING_URI", "MYAPP_*"]) == {
        "MLFLOW_TRACKING_URI": "https://u:***@mlflow.example.com",
        "MYAPP_MODE": "fast",
        "MYAPP_SECRET": "<redacted>",
        "PL_GLOBAL_SEED": "3",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("MY_TOKEN", True),
        ("--api-key", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("DB_PASSWORD", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("HTTP_AUTH", True),
        ("KEY", True),
        ("--monitor", False),
        ("PL_GLOBAL_SEED", False),
        ("keyboard", False),
    ],
)
def test_looks_secret(name, secret):
    assert looks_secret(name) is secret


def test_arguments_are_validated():
    with pytest.raises(ValueError, match=r"`max_diff_bytes` must be an int >= 0, got -1"):
        EnvironmentCapture(max_diff_bytes=-1)
    with pytest.raises(ValueError, match=r"`env_allowlist` must be a list of name patterns such as \['MYAPP_\*'\], got 'MYAPP_\*'"):
        EnvironmentCapture(env_allowlist="MYAPP_*")
