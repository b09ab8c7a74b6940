"""One set of redaction rules for every value that leaves the process: URLs, records, mappings."""

from __future__ import annotations

import json
import logging

import pytest

from callbacks.redaction import REDACTED, key_looks_secret, redact_mapping, redact_record, redact_text, strip_credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@127.0.0.1:5000", "http://user:***@127.0.0.1:5000"),
        ("postgresql://optuna:s3cr3t@db.example.com:5432/studies", "postgresql://optuna:***@db.example.com:5432/studies"),
        ("https://ghp_tokenAsUser@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("s3://bucket/prices.csv", "s3://bucket/prices.csv"),
        ("see http://a:b@h1/x and https://c:d@h2/y", "see http://a:***@h1/x and https://c:***@h2/y"),
    ],
)
def test_url_credentials_are_hidden(url, shown):
    assert strip_credentials(url) == shown


def test_secret_pairs_are_redacted_in_yaml_json_and_flow_style():
    assert redact_text("{api_token: sk-1, team: a}") == f"{{api_token: {REDACTED}, team: a}}"
    assert json.loads(redact_text(json.dumps({"tracking.tags": {"api_token": "sk-2", "team": "a"}}))) == {"tracking.tags": {"api_token": REDACTED, "team": "a"}}
    assert "sk-3" not in redact_text("db_password='sk-3'")


def test_a_record_with_a_secret_looking_key_is_redacted_with_a_warning_naming_it(caplog):
    with caplog.at_level(logging.WARNING, logger="callbacks.redaction"):
        assert redact_record("tracking.tags.api_token_for_test", "sk-live-1") == REDACTED
    assert "`tracking.tags.api_token_for_test` looks like a secret" in caplog.text
    assert redact_record("tracking.tracking_uri", "http://u:pw@h:1") == "http://u:***@h:1"
    assert redact_record("model.lr", 0.01) == 0.01
    assert redact_record("tracking.auth_enabled", False) is False  # a flag holds no secret
    assert key_looks_secret("tradexp.git.commit") is False and key_looks_secret("mlflow.parentRunId") is False


def test_redact_mapping_walks_nested_values_and_leaves_the_input_alone():
    config = {
        "tracking": {"tags": {"api_token": "sk-4", "team": "a"}, "tracking_uri": "http://u:pw@h:1"},
        "data": {"path": "https://u:pw@host/prices.csv", "window": 8},
        "secrets": {"db": "x"},
        "trainer": {"callbacks": [{"class_path": "X", "init_args": {"url": "http://u:pw@h"}}]},
    }
    before = json.dumps(config)
    out = redact_mapping(config)
    assert json.dumps(config) == before
    assert out["tracking"] == {"tags": {"api_token": REDACTED, "team": "a"}, "tracking_uri": "http://u:***@h:1"}
    assert out["data"] == {"path": "https://u:***@host/prices.csv", "window": 8}
    assert out["secrets"] == REDACTED
    assert out["trainer"]["callbacks"][0]["init_args"]["url"] == "http://u:***@h"


def test_a_name_for_an_entry_of_a_mapping_is_not_a_secret():
    # EvaluationPlots(preds_key="preds", target_key="target") is in every default config: redacting it
    # warned on every fit and stored `<redacted>` in config/config.yaml, so `tradexp reproduce` lost it.
    for name in ("trainer.callbacks.init_args.preds_key", "target_key", "sort_key", "monitor_key", "label-keys"):
        assert key_looks_secret(name) is False, name
    for name in ("aws_key", "stripe.key", "my_key", "KEY", "api_key", "tracking.tags.private_key", "key_id"):
        assert key_looks_secret(name) is True, name


def test_the_default_fit_config_holds_nothing_to_redact():
    from tests.conftest import CONFIGS
    from tradexp.run import load_config

    config = load_config(CONFIGS / "lstm.yaml")
    assert redact_mapping(config) == config
