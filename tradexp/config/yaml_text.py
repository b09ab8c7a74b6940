"""YAML text of configs through libyaml where PyYAML has it: the same documents, ~5x faster.

A resolved config is dumped and read back on every fit (the run's `config/config.yaml`); with
PyYAML's pure-Python parser and emitter that is ~12 ms of an HPO trial's overhead. libyaml's parser
and emitter feed the same safe constructor, resolver and representer: the values are those of
`yaml.safe_load` / `yaml.safe_dump`, and so is the text of every shipped config (libyaml escapes a
few characters differently, e.g. an emoji as `"\U0001f600"`, which reads back the same).
"""

from __future__ import annotations

from typing import Any

import yaml

try:  # PyYAML built with libyaml
    from yaml import CSafeDumper as _SafeDumper
    from yaml import CSafeLoader as _SafeLoader
except ImportError:
    from yaml import SafeDumper as _SafeDumper
    from yaml import SafeLoader as _SafeLoader

__all__ = ["load_yaml", "dump_yaml", "dump_config"]
# jsonargparse's own YAML layout (the options of its `dump_yaml_kwargs`): block style, unicode kept, keys in parser order
_LAYOUT = {"default_flow_style": False, "allow_unicode": True, "sort_keys": False}
_FORMAT = "tradexp_yaml"  # jsonargparse's YAML dump emitted by libyaml; its own "yaml" format is left as it is


def load_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`, parsed by libyaml when available."""
    return yaml.load(text, Loader=_SafeLoader)


def dump_yaml(data: Any) -> str:
    """`yaml.safe_dump(data)` in jsonargparse's layout, emitted by libyaml when available."""
    return yaml.dump(data, Dumper=_SafeDumper, **_LAYOUT)


def dump_config(parser: Any, config: Any, **options: Any) -> str:
    """`parser.dump(config, **options)` (a jsonargparse parser) as YAML emitted by libyaml when available."""
    from jsonargparse import set_dumper

    set_dumper(_FORMAT, dump_yaml)  # idempotent: one entry in jsonargparse's table of formats
    text = parser.dump(config, format=_FORMAT, **options)
    header = getattr(parser, "dump_header", None)  # jsonargparse heads its own YAML format's dumps with it
    return "".join(f"# {line}\n" for line in header) + text if header else text
