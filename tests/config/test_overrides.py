"""Command-line overrides: one reader for every command that takes `--key value` besides its own options."""

import pytest

from tradexp.config.overrides import as_overrides, dotted_overrides, override_args


def test_cli_style_overrides_are_joined():  # moved from tests/evaluation/test_walk_forward.py (was `_normalise_args`)
    assert dotted_overrides(["--trainer.max_epochs", "2", "--data.window=8", "--model.lr", "-0.1"]) == {"trainer.max_epochs": "2", "data.window": "8", "model.lr": "-0.1"}


def test_key_value_words_and_dicts_give_the_same_overrides():
    assert dotted_overrides(["data.window=8", "--tracking.tags", "{team: a}"]) == {"data.window": "8", "tracking.tags": "{team: a}"}
    assert as_overrides({"model.lr": 0.01}) == {"model.lr": 0.01}
    assert as_overrides(["--model.lr=0.01"]) == {"model.lr": "0.01"}
    assert override_args({"trainer.max_epochs": 2, "data.features": ["rsi_14", "macd"], "data.path": None}) == [
        "--trainer.max_epochs=2",
        "--data.features=[rsi_14, macd]",
        "--data.path=null",
    ]


@pytest.mark.parametrize(
    "words, message",
    [
        (["--model.lr"], r"override '--model.lr' has no value; write --model.lr VALUE or --model.lr=VALUE"),
        (["--model.lr", "--data.window", "8"], r"override '--model.lr' has no value"),
        (["0.01"], r"'0.01' is not an override; write --key VALUE, --key=VALUE or key=VALUE"),
    ],
)
def test_a_word_that_is_not_an_override_is_named(words, message):
    with pytest.raises(ValueError, match=message):
        dotted_overrides(words)
