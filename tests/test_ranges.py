"""Range types of constructor arguments: one rule for the parser, the constructor and the message."""

import pytest
import torch

from tests.conftest import CONFIGS, TINY
from tradexp.api import build
from tradexp.evaluation.trading import TradingSettings
from tradexp.ranges import LearningRate, PositiveInt, allowed, check_ranges, plain, range_message


def test_check_ranges_reads_the_annotations_of_a_function_or_dataclass():
    def consume(window: PositiveInt = 1, lr: LearningRate = 1e-3, name: str = "x") -> None: ...

    check_ranges(consume, {"window": 3, "lr": 1.0, "name": "anything"})
    with pytest.raises(ValueError, match=r"^`data.window` must be >= 1, got 0$"):
        check_ranges(consume, {"window": 0}, "data.")
    with pytest.raises(ValueError, match=r"^`bootstrap_method` must be one of stationary, circular, got 'jackknife'$"):
        TradingSettings(bootstrap_method="jackknife")
    assert allowed(LearningRate) == "a learning rate in (0, 1], typically 1e-4 .. 1e-2"


def test_jsonargparse_errors_read_path_value_and_what_is_allowed():
    nested = 'Parser key "model.net":\n  Problem with given class_path \'tradexp.models.MLPNet\':\n    Parser key "dropout":\n      Not of type HalfOpenUnitInterval: 1.5 does not conform to restriction v>=0 and v<1'
    assert range_message(nested) == "model.net.init_args.dropout: 1.5 received; a number in [0, 1)"
    literal = "Parser key \"tracking.stage\":\n  Expected a typing.Literal['development', 'staging', 'production']. Got value: prod"
    assert range_message(literal) == "tracking.stage: 'prod' received; one of development, staging, production"
    assert range_message("Parser key \"data.window\":\n  Not of type PositiveInt: invalid literal for int() with base 10: 'abc'") == (
        "data.window: 'abc' received; a whole number >= 1"
    )
    assert range_message("unrecognized arguments: --data.windw=8") is None


def test_parsed_hyperparameters_are_plain_values_that_load_with_weights_only(tmp_path, mlflow_uri):
    built = build(CONFIGS / "lstm.yaml", {**TINY, "tracking.enabled": False, "trainer.callbacks": []})
    assert type(built.datamodule.hparams["window"]) is int and type(built.model.hparams["lr"]) is float
    assert type(built.model.hparams["net"]["init_args"]["hidden_size"]) is int
    path = tmp_path / "hparams.pt"
    torch.save({"model": dict(built.model.hparams), "data": dict(built.datamodule.hparams)}, path)
    loaded = torch.load(path, weights_only=True)  # a PositiveInt left in would be refused here
    assert loaded["data"]["window"] == TINY["data.window"]
    assert plain({"a": [PositiveInt(2)]}) == {"a": [2]} and type(plain(PositiveInt(2))) is int


def test_a_range_typed_value_dumps_as_a_plain_number():
    """A value parsed under a range type that lands where a plain int is declared (a user net swapped in
    with `--model.net.class_path`) must still dump: this failed with `RepresenterError` before."""
    import yaml

    from tradexp.ranges import LearningRate, PositiveInt

    assert yaml.safe_load(yaml.safe_dump({"w": PositiveInt(8), "lr": LearningRate(0.5), "h": [PositiveInt(128)]})) == {"w": 8, "lr": 0.5, "h": [128]}
