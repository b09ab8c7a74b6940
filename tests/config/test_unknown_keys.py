"""A typo in a key is named, with every other unknown key, and the nearest valid key, from YAML and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIGS
from tradexp.cli import main
from tradexp.run import load_config
from tradexp.config.unknown_keys import nearest_key, yaml_keys


def test_command_line_typos_are_all_named_with_the_nearest_key(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(CONFIGS / "lstm.yaml"), "--model.learnin_rate", "0.1", "--data.windw", "3", "--trainer.max_epohcs=2"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith("tradexp: error: unknown keys: ")
    assert "--model.learnin_rate (did you mean --model.lr?)" in first
    assert "--data.windw (did you mean --data.window?)" in first
    assert "--trainer.max_epohcs (did you mean --trainer.max_epochs?)" in first
    assert "unrecognized arguments" not in err


def test_yaml_typos_are_all_named_not_only_the_first(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  learning_rate: 0.1\ndata:\n  windw: 4\n  batch_size: 32\ntrainer:\n  max_epoch: 3\n")
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(CONFIGS / "lstm.yaml"), "--config", str(bad)])
    first = capsys.readouterr().err.splitlines()[0]
    assert stop.value.code == 2
    assert f"model.learning_rate in {bad} (did you mean model.lr?)" in first
    assert f"data.windw in {bad} (did you mean data.window?)" in first
    assert f"trainer.max_epoch in {bad} (did you mean trainer.max_epochs?)" in first
    assert "batch_size" not in first  # a valid key is not reported


def test_python_api_raises_the_same_message(tmp_path: Path):
    with pytest.raises(ValueError, match=r"unknown key: (--)?model\.learnin_rate \(did you mean (--)?model\.lr\?\)"):
        load_config(CONFIGS / "lstm.yaml", {"model.learnin_rate": 0.1})


def test_net_argument_typo_names_the_init_arg(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "lstm.yaml"), "--model.net.init_args.hiden_size", "3"])
    assert "model.net.init_args.hiden_size (did you mean model.net.init_args.hidden_size?)" in capsys.readouterr().err


def test_nearest_key_and_yaml_keys():
    valid = {"model.lr", "model.weight_decay", "data.window", "data.batch_size", "trainer.max_epochs"}
    assert nearest_key("model.learning_rate", valid) == "model.lr"
    assert nearest_key("data.batchsize", valid) == "data.batch_size"
    assert nearest_key("zzz.qqq", valid) is None
    assert yaml_keys({"model": {"lr": 1, "net": {"class_path": "x"}}, "seed_everything": 1}) == ["model.lr", "model.net.class_path", "seed_everything"]
