"""`tradexp config diff|show|validate` on the configs real runs stored."""

import json

import yaml

from tests.conftest import CONFIGS
from tradexp.api import diff_configs
from tradexp.cli import main
from tradexp.config.history import ConfigChange


def test_diff_of_two_real_runs_shows_changed_added_and_removed_keys(store, capsys):
    a, b = store.mlp_csv.run_id, store.gru.run_id
    assert main(["config", "diff", a, b]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.strip() and not line[0].isdigit()}
    assert lines["model.net.class_path"] == ["changed", "tradexp.models.MLPNet", "tradexp.models.GRUNet"]
    assert lines["model.lr"] == ["changed", "0.0010", "0.0030"]
    assert lines["model.net.init_args.hidden_sizes"] == ["removed", "[128,", "64]", "-"]
    assert lines["model.net.init_args.hidden_size"] == ["added", "-", "8"]
    assert lines["data.path"] == ["changed", "bars.csv", "-"]
    assert lines["tracking.stage"] == ["changed", "development", "staging"]
    assert lines["tracking.purpose"] == ["changed", "csv", "baseline"]
    assert lines["tracking.tags.team"] == ["removed", "alpha", "-"]
    assert "data.window" not in lines and "seed_everything" not in lines
    assert out.splitlines()[0].split() == ["key", "change", a[:12], b[:12]]
    kinds = [change[0] for change in lines.values()]
    counts = {kind: kinds.count(kind) for kind in ("changed", "added", "removed")}
    assert out.strip().splitlines()[-1] == f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed"


def test_diff_formats_files_and_the_python_api(store, capsys):
    a, b = store.mlp_csv.run_id, store.gru.run_id
    assert main(["config", "diff", a, a]) == 0
    assert capsys.readouterr().out.strip() == f"the configs of {a} and {a} are identical"
    assert main(["config", "diff", a, b, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"key": "model.lr", "change": "changed", a[:12]: 0.001, b[:12]: 0.003} in rows
    changes = diff_configs(a, b)
    assert ConfigChange("model.lr", "changed", 0.001, 0.003) in changes
    assert len(changes) == len(rows)
    # a YAML file on one side: the stored config against the file it came from
    assert main(["config", "diff", str(CONFIGS / "mlp.yaml"), a]) == 0
    out = capsys.readouterr().out
    assert "data.window" in out and "mlp.yaml" in out.splitlines()[0]


def test_show_prints_the_stored_config(store, capsys):
    assert main(["config", "show", store.gru.run_id]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["model"]["lr"] == 0.003
    assert config["tracking"]["stage"] == "staging"


def test_unknown_run_is_one_clear_line(store, capsys):
    assert main(["config", "diff", "0" * 32, store.gru.run_id]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tradexp: error: run `{'0' * 32}` is not in the store sqlite:///")
    assert "`tradexp runs` lists the runs there" in err


def test_validate_checks_yaml_and_overrides_without_training(store, capsys):
    assert main(["config", "validate", str(CONFIGS / "lstm.yaml"), "--data.window", "8", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "OK: the config is valid"
    # Domain rules (several fields, names) are all listed at once; a value outside its type's range is
    # refused by the parser first, one line (ranges live in the constructor signatures).
    assert main(["config", "validate", str(CONFIGS / "lstm.yaml"), "--data.window=8", "--data.embargo=2", "--data.features=[rsi_x]"]) == 2
    err = capsys.readouterr().err
    assert "2 problems in the config" in err and "  data.embargo: 2 received" in err and "  data.features[0]: 'rsi_x' received" in err
    assert main(["config", "validate", str(CONFIGS / "lstm.yaml"), "--model.lr", "5"]) == 2
    assert capsys.readouterr().err.strip().startswith("tradexp: error: model.lr: 5 received; a learning rate in (0, 1]")
