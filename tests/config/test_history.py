"""diff_configs on nested configs: changed, added and removed keys with dotted paths."""

from tradexp.config.history import ConfigChange, diff_configs

BASE = {
    "seed_everything": 42,
    "model": {"net": {"class_path": "tradexp.models.LSTMNet", "init_args": {"hidden_size": 64, "dropout": 0.1}}, "lr": 0.001},
    "data": {"features": ["log_return_1", "rsi_14"], "window": 32, "path": None},
    "tracking": {"tags": {}},
}


def test_identical_configs_have_no_changes():
    assert diff_configs(BASE, BASE) == []


def test_nested_changes_additions_and_removals_with_dotted_paths():
    other = {
        "seed_everything": 42,
        "model": {"net": {"class_path": "tradexp.models.GRUNet", "init_args": {"hidden_size": 32, "bidirectional": True}}, "lr": 0.003},
        "data": {"features": ["log_return_1", "rsi_7"], "window": 32, "path": "prices.csv"},
        "tracking": {"tags": {"team": "alpha"}},
    }
    assert diff_configs(BASE, other) == [
        ConfigChange("model.net.class_path", "changed", "tradexp.models.LSTMNet", "tradexp.models.GRUNet"),
        ConfigChange("model.net.init_args.hidden_size", "changed", 64, 32),
        ConfigChange("model.net.init_args.dropout", "removed", 0.1, None),
        ConfigChange("model.net.init_args.bidirectional", "added", None, True),
        ConfigChange("model.lr", "changed", 0.001, 0.003),
        ConfigChange("data.features[1]", "changed", "rsi_14", "rsi_7"),
        ConfigChange("data.path", "changed", None, "prices.csv"),
        ConfigChange("tracking.tags.team", "added", None, "alpha"),
    ]


def test_lists_of_another_length_and_whole_sections_are_one_change():
    other = {**BASE, "data": {**BASE["data"], "features": ["log_return_1"]}, "checkpoint": {"monitor": "val/loss"}}
    del other["tracking"]
    assert diff_configs(BASE, other) == [
        ConfigChange("data.features", "changed", ["log_return_1", "rsi_14"], ["log_return_1"]),
        ConfigChange("tracking", "removed", {"tags": {}}, None),
        ConfigChange("checkpoint", "added", None, {"monitor": "val/loss"}),
    ]


def test_int_and_float_of_equal_value_are_not_a_change_but_a_string_is():
    assert diff_configs({"a": 1}, {"a": 1.0}) == []
    assert diff_configs({"a": 1}, {"a": "1"}) == [ConfigChange("a", "changed", 1, "1")]
