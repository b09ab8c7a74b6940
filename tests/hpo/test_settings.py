"""HPO YAML settings: every shipped config loads and fits its base config; bad settings say what is wrong."""

import optuna
import pytest
import yaml

from tests.hpo.conftest import HPO_CONFIGS, TRIAL, write_hpo_config
from tradexp.errors import ConfigError
from tradexp.hpo.settings import build_pruner, build_sampler, load_settings
from tradexp.hpo.study import prepare_context

SHIPPED = sorted(HPO_CONFIGS.glob("*.yaml"))


def test_one_hpo_config_per_architecture_is_shipped():
    assert {p.stem for p in SHIPPED} == {"mlp", "lstm", "gru", "cnn_lstm"}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_config_loads_and_its_search_space_is_accepted_by_its_base_config(path, mlflow_uri):
    settings = load_settings(path, {"overrides": TRIAL})
    assert settings.base_config == [str((HPO_CONFIGS.parent / f"{path.stem}.yaml").resolve())]
    assert settings.study_name == f"hpo-{path.stem}"
    assert settings.overrides["trainer.max_epochs"] == 3  # the command line wins over the file
    context, tags = prepare_context(settings)
    assert context.experiment == "tradexp/development/synthetic"
    assert tags["tradexp.type"] == "hpo_study" and tags["tradexp.model"] == path.stem


def test_cnn_lstm_kernel_sizes_are_conditional_on_the_number_of_convolutions():
    space = load_settings(HPO_CONFIGS / "cnn_lstm.yaml").search_space.describe()
    assert space["model.net.init_args.kernel_sizes[1]"]["when"] == {"conv_layers": [2]}
    assert "when" not in space["model.net.init_args.kernel_sizes[0]"]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"metric": "test/loss"}, r"is a test metric; the test split never selects a model"),
        ({"direction": "down"}, r"`direction` must be `minimize` or `maximize`, got 'down'"),
        ({"n_trials": 0}, r"`n_trials` must be a whole number >= 1, got 0"),
        ({"n_trials": None, "timeout": None}, r"set `n_trials`, `max_trials` or `timeout`"),
        ({"sampler": {"name": "cmaes"}}, r"`sampler.name` must be one of \['random', 'tpe'\], got 'cmaes'"),
        ({"base_config": "missing.yaml"}, r"`base_config` .*missing.yaml does not exist"),
        ({"n_trails": 3}, r"unknown key\(s\) \['n_trails'\]; allowed: \["),
    ],
)
def test_bad_settings_name_the_key_and_what_is_allowed(tmp_path, settings, message):
    path = write_hpo_config(tmp_path, **settings)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_sampler_and_pruner_options_go_to_optuna_and_unknown_ones_are_named():
    sampler = build_sampler({"name": "tpe", "seed": 3, "n_startup_trials": 4}, seed_offset=2)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    pruner = build_pruner({"name": "successive_halving", "min_resource": 1, "reduction_factor": 3})
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(build_pruner({"name": "none"}), optuna.pruners.NopPruner)
    with pytest.raises(ConfigError, match=r"`pruner` MedianPruner has no option\(s\) \['patience'\]; allowed: \["):
        build_pruner({"name": "median", "patience": 3})


def test_a_search_key_the_base_config_does_not_have_stops_before_any_trial(tmp_path, mlflow_uri):
    space = {"model.net.init_args.hidden_sise": {"type": "int", "low": 8, "high": 16}}
    settings = load_settings(write_hpo_config(tmp_path, search_space=space))
    with pytest.raises(ConfigError, match=r"does not accept the search space or overrides .*hidden_sise"):
        prepare_context(settings)


def test_base_config_paths_are_relative_to_the_hpo_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_hpo_config(tmp_path / "sub")
    raw = yaml.safe_load(path.read_text())
    raw["base_config"] = "../base.yaml"
    (tmp_path / "base.yaml").write_text((HPO_CONFIGS.parent / "mlp.yaml").read_text())
    path.write_text(yaml.safe_dump(raw))
    assert load_settings(path).base_config == [str(tmp_path / "base.yaml")]


def test_sampler_and_pruner_are_class_specs_and_the_pruner_default_is_the_shipped_one(tmp_path):
    from tradexp.hpo.settings import DEFAULT_PRUNER

    spec = {"class_path": "optuna.pruners.MedianPruner", "init_args": {"n_startup_trials": 2}}
    settings = load_settings(write_hpo_config(tmp_path, pruner=spec, sampler={"class_path": "optuna.samplers.RandomSampler"}))
    assert isinstance(build_pruner(settings.pruner), optuna.pruners.MedianPruner)
    assert isinstance(build_sampler(settings.sampler), optuna.samplers.RandomSampler)
    raw = yaml.safe_load(write_hpo_config(tmp_path).read_text())
    del raw["pruner"]
    (tmp_path / "default.yaml").write_text(yaml.safe_dump(raw))
    assert load_settings(tmp_path / "default.yaml").pruner == DEFAULT_PRUNER
    for path in SHIPPED:  # README, the dataclass and every shipped config name one pruner
        assert load_settings(path).pruner == DEFAULT_PRUNER
    with pytest.raises(ConfigError, match=r"`pruner.class_path` 'optuna.samplers.TPESampler' is not a subclass of optuna.pruners"):
        load_settings(write_hpo_config(tmp_path, pruner={"class_path": "optuna.samplers.TPESampler"}))
    with pytest.raises(ConfigError, match=r"HPO config .*: .*n_trials"):
        load_settings(write_hpo_config(tmp_path, n_trials="many"))
