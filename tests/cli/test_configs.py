"""Every YAML under configs/ parses with the CLI it is written for."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import CONFIGS
from tradexp.cli import TradexpCLI

TRAINING_CONFIGS = sorted(p for p in CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda p: p.name)
def test_training_config_parses_and_instantiates(path, mlflow_uri):
    cli = TradexpCLI(args=["--config", str(path), "--trainer.max_epochs=1"], run=False)
    assert cli.model.net.init_args["n_features"] == cli.datamodule.n_features
    assert cli.model.net.init_args["window"] == cli.datamodule.window
    assert cli.trainer.max_epochs == 1


def test_every_yaml_under_configs_is_safe_yaml():
    paths = sorted(CONFIGS.rglob("*.yaml"))
    assert len(paths) >= 4
    for path in paths:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


def test_all_four_models_have_a_config():
    assert {p.stem for p in TRAINING_CONFIGS} >= {"mlp", "lstm", "gru", "cnn_lstm"}
