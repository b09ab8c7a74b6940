"""Domain validation: every problem reported at once, precisely, before anything runs."""

import pytest
import yaml
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import load_config, override_args
from tradexp.cli import main
from tradexp.config.data_rules import count_rows
from tradexp.config.validation import config_problems, validate_config
from tradexp.data import SyntheticMarket, synthetic_bars
from tradexp.data.datamodule import BarsDataModule
from tradexp.errors import ConfigError, TradexpError

MODELS = ("mlp", "lstm", "gru", "cnn_lstm")


def _problems(overrides):
    return config_problems(load_config_raw(overrides))


def load_config_raw(overrides):
    """A resolved-looking config: the mlp YAML with dotted overrides applied to the dict."""
    config = yaml.safe_load((CONFIGS / "mlp.yaml").read_text())
    for key, value in {**TINY, **overrides}.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return config


@pytest.mark.parametrize("model", MODELS)
def test_shipped_configs_are_valid(model):
    assert config_problems(yaml.safe_load((CONFIGS / f"{model}.yaml").read_text())) == []


def test_five_mistakes_give_five_lines_exit_2_and_no_run(mlflow_uri, capsys):
    mistakes = {
        "data.val_start": "2011-06-01",
        "data.test_start": "2011-01-03",
        "data.features": ["rsi_14", "rsi_x"],
        "checkpoint.monitor": "val/mse",
        "data.embargo": 2,
        "tracking.run_template": "{kind}",
    }
    code = main(["fit", "--config", str(CONFIGS / "lstm.yaml"), *override_args({**TINY, **mistakes})])
    assert code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0] == "tradexp: error: 5 problems in the config, nothing was run:"
    assert lines[1:] == [
        "  data.embargo: 2 received; null or at least horizon + window - 1 = 8 bars",
        "  data.features[1]: 'rsi_x' received; a known feature: bollinger_<n>, hl_range, log_return_<n>, macd, rsi_<n>, "
        "volatility_<n>, volume_z_<n>, col_<file column> (e.g. rsi_14, log_return_5)",
        "  data.val_start: '2011-06-01' received; a date before data.test_start (2011-01-03)",
        "  checkpoint.monitor: 'val/mse' received; a metric a classification run logs: train/loss, val/loss, val/acc, "
        "val/balanced_acc, val/f1, val/auroc, val/trading/<name> (trading callback) or val/xs/<name> (a universe)",
        "  tracking.run_template: '{kind}' received; unknown field 'kind'; allowed fields: stage, type, model, dataset, dataset_version, purpose, timestamp, date",
    ]
    client = MlflowClient(mlflow_uri)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_a_wrong_type_is_one_line_without_the_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS / "mlp.yaml"), "--data.window", "abc"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" not in err
    assert err.splitlines()[0] == "tradexp: error: data.window: 'abc' received; a whole number >= 1"
    assert len(err.strip().splitlines()) == 2


@pytest.mark.parametrize("model", MODELS)
def test_print_config_prints_the_full_default_config(model, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS / f"{model}.yaml"), "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["net"]["class_path"].endswith({"mlp": "MLPNet", "lstm": "LSTMNet", "gru": "GRUNet", "cnn_lstm": "CNNLSTMNet"}[model])
    assert {"trainer", "model", "data", "tracking", "checkpoint", "seed_everything"} <= set(printed)
    assert printed["tracking"]["run_template"] == "{type}-{model}-{purpose}-{timestamp}"
    assert printed["trainer"]["deterministic"] is True


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"data.window": 500}, "data.window: 500 received; at most 73 bars so that train and val keep samples: 600 bars (data.synthetic.n_bars), 34 warm-up bars"),
        ({"data.horizon": 300}, "data.horizon: 300 received; at most 66 bars so that train and val keep samples"),
        ({"data.val_fraction": 0.6, "data.test_fraction": 0.5}, "data.val_fraction + data.test_fraction: 1.1 received; a sum below 1"),
        ({"data.val_start": "2011-06-01", "data.test_start": "2011-01-03"}, "data.val_start: '2011-06-01' received; a date before data.test_start (2011-01-03)"),
        ({"data.test_start": "2030-01-01"}, "data.test_start: '2030-01-01' received; a date inside the bars, after 2010-01-04 and up to 2012-04-20"),
        ({"data.features": ["rsi_14", "rsi_14"]}, "data.features[1]: 'rsi_14' received; each feature once"),
        ({"data.features": ["col_taker_volume"]}, "data.features[0]: 'col_taker_volume' received; col_<column> reads a column of a bar file, but data.path is null"),
        ({"data.synthetic.n_bars": 50}, "data.synthetic.n_bars: 50 received; at least 100 bars"),
        ({"data.path": "missing.csv"}, "data.path: 'missing.csv' received; an existing CSV or Parquet file"),
        ({"trainer.max_epochs": 0}, "trainer.max_epochs: 0 received; a whole number >= 1"),
        ({"checkpoint.monitor": "val/acc"}, "checkpoint.mode: 'min' received; max for val/acc (larger is better)"),
        (
            {"data.task": "regression", "checkpoint.monitor": "val/auroc", "checkpoint.mode": "max"},
            "checkpoint.monitor: 'val/auroc' received; a metric a regression run logs: train/loss, val/loss, val/mse",
        ),
        ({"tracking.run_template": "{kind}"}, "tracking.run_template: '{kind}' received; unknown field 'kind'"),
        ({"tracking.tags": {"tradexp.model": "x"}}, "tracking.tags: key 'tradexp.model' received; tradexp sets this tag itself"),
    ],
)
def test_each_rule_names_path_value_and_what_is_allowed(overrides, expected):
    problems = _problems(overrides)
    assert any(p.startswith(expected) for p in problems), problems


# One value out of its own range: the constructor argument's type (tradexp.ranges) refuses it at parse time.
@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"data.window": 0}, "data.window: 0 received; a whole number >= 1"),
        ({"data.horizon": 0}, "data.horizon: 0 received; a whole number >= 1"),
        ({"data.val_fraction": 0.0}, "data.val_fraction: 0.0 received; a number in (0, 1)"),
        ({"data.batch_size": 0}, "data.batch_size: 0 received; a whole number >= 1"),
        ({"model.lr": 2.0}, "model.lr: 2.0 received; a learning rate in (0, 1]"),
        ({"model.optimizer": "lion"}, "model.optimizer: 'lion' received; one of adamw, adam, sgd"),
        ({"model.scheduler": "step"}, "model.scheduler: 'step' received; one of none, cosine, plateau"),
        ({"model.net.init_args.dropout": 1.0}, "model.net.init_args.dropout: 1.0 received; a number in [0, 1)"),
        ({"model.net.init_args.hidden_sizes": [64, 0]}, "model.net.init_args.hidden_sizes: 0 received; a whole number >= 1"),
        ({"tracking.stage": "prod"}, "tracking.stage: 'prod' received; one of development, staging, production"),
        ({"tracking.run_type": "sweep"}, "tracking.run_type: 'sweep' received; one of training, hpo_study"),
    ],
)
def test_a_value_outside_its_type_is_refused_at_parse_time_naming_path_value_and_range(overrides, expected, mlflow_uri):
    with pytest.raises(ValueError) as error:
        load_config(CONFIGS / "mlp.yaml", {**TINY, **overrides})
    assert str(error.value).startswith(expected)


def test_one_learning_rate_rule_for_the_parser_and_the_constructor():
    from tradexp.models import MLPNet, TradingModule

    TradingModule(MLPNet(), lr=1.0)  # the top of (0, 1] is allowed
    with pytest.raises(ValueError, match=r"^`model.lr` must be in \(0, 1\], got 5$"):
        TradingModule(MLPNet(), lr=5)  # was allowed by the module (0, 10) and refused by the config (0, 1]


def test_monitoring_trading_sharpe_and_regression_metrics_is_allowed():
    assert _problems({"checkpoint.monitor": "val/trading/sharpe", "checkpoint.mode": "max"}) == []
    assert _problems({"data.task": "regression", "checkpoint.monitor": "val/mse"}) == []


def test_sizes_are_checked_against_a_csv_file_without_parsing_it(tmp_path):
    path = tmp_path / "bars.csv"
    synthetic_bars(SyntheticMarket(n_bars=300)).to_csv(path)
    assert count_rows(path) == 300
    assert _problems({"data.path": str(path)}) == []
    problems = _problems({"data.path": str(path), "data.window": 60})
    assert problems and problems[0].startswith("data.window: 60 received; at most 34 bars so that train and val keep samples: 300 bars (data.path)")
    # the bound is the datamodule's own: 34 sets up, 35 does not
    BarsDataModule(path=str(path), window=34).setup()
    with pytest.raises(TradexpError):
        BarsDataModule(path=str(path), window=35).setup()


def test_validate_config_raises_one_error_with_every_problem():
    with pytest.raises(ConfigError, match=r"^2 problems in the config, nothing was run:\n  data.embargo: 2 received.*\n  checkpoint.monitor: 'val/mse' received"):
        validate_config(load_config_raw({"data.embargo": 2, "checkpoint.monitor": "val/mse"}))


def test_load_config_resolves_validates_and_builds_nothing(mlflow_uri):
    config = load_config(CONFIGS / "gru.yaml", {"model.lr": 0.01, "data.window": 8})
    assert config["model"]["lr"] == 0.01
    assert config["model"]["net"]["init_args"]["hidden_size"] == 64
    assert config["tracking"]["stage"] == "development"
    with pytest.raises(ConfigError, match=r"1 problem in the config.*\n  data.embargo: 2 received"):
        load_config(CONFIGS / "gru.yaml", {"data.embargo": 2})
    with pytest.raises(ValueError, match=r"model.lr: 5 received; a learning rate in \(0, 1\]"):
        load_config(CONFIGS / "gru.yaml", {"model.lr": 5})
    with pytest.raises(ValueError, match=r"data.window: 'abc' received; a whole number >= 1"):
        load_config(CONFIGS / "gru.yaml", {"data.window": "abc"})
    client = MlflowClient(mlflow_uri)
    assert client.search_experiments()[0].name == "Default"  # nothing was created
