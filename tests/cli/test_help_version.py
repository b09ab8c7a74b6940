"""`tradexp --version` and an example at the end of every command's `--help`."""

from __future__ import annotations

import pytest

from tradexp import __version__
from tradexp.cli import EXTRA_COMMANDS, HELP_EXAMPLES, TRAINING_COMMANDS, main


def test_version_names_tradexp_and_the_libraries(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"tradexp {__version__} (lightning ")
    assert "mlflow " in out and "optuna " in out and "torch " in out


def test_every_command_has_examples():
    missing = [c for c in (*TRAINING_COMMANDS, *EXTRA_COMMANDS) if not HELP_EXAMPLES.get(c)]
    assert not missing, f"add examples to tradexp.cli.HELP_EXAMPLES for {missing}"
    for command, examples in HELP_EXAMPLES.items():
        assert all(line.startswith(f"tradexp {command}") for line in examples), command


@pytest.mark.parametrize("command", ["fit", *EXTRA_COMMANDS])
def test_help_ends_with_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    tail = out[out.rindex("examples:") :]
    assert f"  {HELP_EXAMPLES[command][0]}" in tail
