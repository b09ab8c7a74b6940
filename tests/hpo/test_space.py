"""Search spaces from YAML: types, validation messages, conditions, list elements, sampled with real Optuna."""

import optuna
import pytest

from tradexp.errors import ConfigError
from tradexp.hpo.space import ParamSpec, SearchSpace

SPACE = {
    "model.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "model.net.init_args.hidden_size": {"type": "int", "low": 16, "high": 128, "step": 16},
    "model.optimizer": {"type": "categorical", "choices": ["adamw", "sgd"]},
    "conv_layers": {"type": "int", "low": 1, "high": 2, "apply": False},
    "model.net.init_args.kernel_sizes[0]": {"type": "categorical", "choices": [3, 5]},
    "model.net.init_args.kernel_sizes[1]": {"type": "categorical", "choices": [3, 5], "when": {"conv_layers": 2}},
    "model.net.init_args.conv_channels": {"type": "categorical", "choices": [[8, 8], [16, 8]]},
}


def _sampled(space: SearchSpace, n: int = 30) -> list[dict]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []

    def objective(trial: optuna.Trial) -> float:
        seen.append(space.sample(trial))
        return 0.0

    study.optimize(objective, n_trials=n)
    return seen


def test_every_type_is_sampled_within_its_bounds_and_conditions_hold():
    space = SearchSpace.from_mapping(SPACE)
    samples = _sampled(space)
    for values in samples:
        assert 1e-4 <= values["model.lr"] <= 1e-2
        assert values["model.net.init_args.hidden_size"] % 16 == 0
        assert values["model.optimizer"] in ("adamw", "sgd")
        assert ("model.net.init_args.kernel_sizes[1]" in values) == (values["conv_layers"] == 2)
    assert {v["conv_layers"] for v in samples} == {1, 2}


def test_overrides_build_lists_from_elements_skip_structural_choices_and_decode_list_choices():
    space = SearchSpace.from_mapping(SPACE)
    values = {
        "model.lr": 0.001,
        "model.net.init_args.hidden_size": 32,
        "model.optimizer": "sgd",
        "conv_layers": 2,
        "model.net.init_args.kernel_sizes[0]": 5,
        "model.net.init_args.kernel_sizes[1]": 3,
        "model.net.init_args.conv_channels": "[16, 8]",
    }
    overrides = space.to_overrides(values)
    assert overrides == {
        "model.lr": 0.001,
        "model.net.init_args.hidden_size": 32,
        "model.optimizer": "sgd",
        "model.net.init_args.conv_channels": [16, 8],
        "model.net.init_args.kernel_sizes": [5, 3],
    }
    one_layer = {k: v for k, v in values.items() if k != "model.net.init_args.kernel_sizes[1]"}
    assert space.to_overrides(one_layer)["model.net.init_args.kernel_sizes"] == [5]
    assert space.describe()["model.net.init_args.conv_channels"]["choices"] == [[8, 8], [16, 8]]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "uniform", "low": 0, "high": 1}, r"`type` must be one of \['float', 'int', 'categorical'\], got 'uniform'"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, r"`log: true` needs `low` > 0, got 0.0"),
        ({"type": "float", "low": 2.0, "high": 1.0}, r"needs finite `low` <= `high`, got low=2.0 high=1.0"),
        ({"type": "int", "low": 1, "high": 4.5}, r"an int parameter needs whole `low`, `high` and `step`"),
        ({"type": "categorical", "choices": []}, r"a categorical needs a non-empty `choices` list"),
        ({"type": "float", "low": 1e-3, "high": 1.0, "log": True, "step": 0.1}, r"`step` and `log: true` cannot be combined"),
        ({"type": "float", "low": 0, "high": 1, "scale": "log"}, r"unknown field\(s\) \['scale'\]"),
    ],
)
def test_bad_parameter_specs_name_the_key_and_what_is_allowed(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        ParamSpec.from_mapping("model.lr", spec)
    assert "search_space `model.lr`" in str(info.value)


def test_a_condition_must_refer_to_a_parameter_declared_above():
    space = {
        "model.net.init_args.kernel_sizes[1]": {"type": "categorical", "choices": [3], "when": {"conv_layers": 2}},
        "conv_layers": {"type": "int", "low": 1, "high": 2, "apply": False},
    }
    with pytest.raises(ConfigError, match=r"`when` refers to `conv_layers`, which must be declared above it"):
        SearchSpace.from_mapping(space)
    with pytest.raises(ConfigError, match="`search_space` is empty"):
        SearchSpace.from_mapping({})
