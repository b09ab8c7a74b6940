"""Keep secrets out of what a run records: command lines, environment variables, URLs, config values.

Rules (used by `EnvironmentCapture` and by tradexp for params, tags, the stored config, reports,
HPO and walk-forward parents and spool files):
- an environment variable is recorded only when its name matches the allow-list (`ENV_ALLOWLIST`
  plus what the user adds), and even then its value is replaced by `<redacted>` when the NAME looks
  like a secret (token, key, secret, password, credential, auth);
- command-line values are redacted in every form: `--api-key=xyz`, `--api-key xyz`, `API_KEY=xyz`,
  and `name: value` / `name=value` / `"name": "value"` pairs inside a value (`--tags={api_token: xyz}`);
- the password of every URL is replaced (`https://u:t@host/r.git` -> `https://u:***@host/r.git`), and
  a credential without a password (`https://TOKEN@host`, a token used as the user) is replaced whole
  (`https://***@host`);
- a record (param, tag, config entry) whose KEY, or any dotted part of it, looks like a secret is
  stored as `<redacted>`, with a warning that names the key; every other string value has its URL
  credentials and secret pairs redacted (`redact_record`, `redact_mapping`).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["REDACTED", "ENV_ALLOWLIST", "looks_secret", "key_looks_secret", "strip_credentials", "redact_text", "redact_argv", "redact_env", "redact_record", "redact_mapping"]

log = logging.getLogger(__name__)

REDACTED = "<redacted>"

# Names (glob patterns) of environment variables worth recording; nothing else is recorded at all.
ENV_ALLOWLIST: tuple[str, ...] = (
    "PL_*",
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "SLURM_JOB_ID",
    "SLURM_JOB_NAME",
    "SLURM_NTASKS",
    "SLURM_NNODES",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "CONDA_DEFAULT_ENV",
    "VIRTUAL_ENV",
    "TZ",
)

_SECRET_WORD = re.compile(r"(?i)(token|secret|passw|passwd|pwd|credential|auth|api[-_.]?key|private[-_.]?key|access[-_.]?key)")
_KEY_PART = re.compile(r"(?i)(^|[-_.])keys?($|[-_.])")
# `preds_key`, `target_key`, `sort_key`: the name of an entry in a mapping (a callback reading
# `outputs["preds"]`), not a key that opens something.
_ENTRY_NAME = re.compile(r"(?i)(^|\.)(preds?|predictions?|targets?|labels?|inputs?|outputs?|logits|scores?|sort|group|batch|metric|monitor|column|field|index)[-_.]keys?$")
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_ASSIGNMENT = re.compile(rf"^(?P<name>{_NAME})=(?P<value>.*)$", re.S)
# `name: value`, `name=value`, `"name": "value"` (JSON), `'name': 'value'` inside a longer value.
_INNER_PAIR = re.compile(rf"(?P<name>{_NAME})(?P<close>['\"]?)(?P<sep>\s*[:=]\s*)(?P<quote>['\"]?)(?P<value>[^\s,;}}\]'\"]+)")
# scheme://userinfo@ where userinfo has no `/`, `@` or space; group `user` is what precedes a `:`.
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_warned_keys: set[str] = set()


def looks_secret(name: str) -> bool:
    """True when a variable or option NAME looks like it holds a secret (`MY_TOKEN`, `--api-key`)."""
    name = name.lstrip("-")
    return bool(_SECRET_WORD.search(name) or (_KEY_PART.search(name) and not _ENTRY_NAME.search(name)))


def key_looks_secret(key: str) -> bool:
    """True when a dotted record key (`tracking.tags.api_token`) or any of its parts looks secret."""
    return looks_secret(str(key)) or any(looks_secret(part) for part in str(key).split(".") if part)


def strip_credentials(url: str) -> str:
    """Hide the credentials of every URL in `url`: `https://u:t@host` -> `https://u:***@host`.

    A credential without a password (`https://TOKEN@host`) may itself be a token and becomes
    `https://***@host`.
    """

    def _hide(match: re.Match) -> str:
        user, colon, _ = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}:***@" if colon and user else f"{match['scheme']}***@"

    return _CREDENTIALS.sub(_hide, url)


def redact_text(text: str) -> str:
    """Hide URL credentials and the values of `secret_name: value` / `secret_name=value` pairs."""
    text = strip_credentials(text)

    def _pair(match: re.Match) -> str:
        if not looks_secret(match["name"]):
            return match[0]
        return f"{match['name']}{match['close']}{match['sep']}{match['quote']}{REDACTED}"

    return _INNER_PAIR.sub(_pair, text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line with secret values replaced by `<redacted>` (see the module docstring)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = str(argv[i])
        if arg.startswith("-") and "=" in arg:
            name, value = arg.split("=", 1)
            out.append(f"{name}={REDACTED}" if looks_secret(name) else f"{name}={redact_text(value)}")
        elif arg.startswith("-") and looks_secret(arg):
            out.append(arg)
            if i + 1 < len(argv) and not str(argv[i + 1]).startswith("-"):
                out.append(REDACTED)  # `--api-key xyz`
                i += 1
        elif (match := _ASSIGNMENT.match(arg)) and looks_secret(match["name"]):
            out.append(f"{match['name']}={REDACTED}")  # `API_KEY=xyz`
        else:
            out.append(redact_text(arg))
        i += 1
    return out


def redact_env(environ: Mapping[str, str], allow: Iterable[str] = ENV_ALLOWLIST) -> dict[str, str]:
    """The allow-listed variables of `environ`, values redacted by name, URL credentials removed."""
    patterns = tuple(allow)
    recorded = {}
    for name in sorted(environ):
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            recorded[name] = REDACTED if looks_secret(name) else redact_text(environ[name])
    return recorded


def _warn_secret_key(key: str) -> None:
    if key not in _warned_keys:  # once per key and process: params, tags and the config all pass here
        _warned_keys.add(key)
        log.warning("`%s` looks like a secret (its name): its value is recorded as %s", key, REDACTED)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_record(key: str, value: Any) -> Any:
    """The value to record under `key` (a param, tag or config entry).

    `<redacted>` (with a warning naming the key) when the key or a dotted part of it looks secret
    (None, "" and booleans hold nothing secret and are kept); else the value with URL credentials and secret pairs redacted (strings, and inside mappings and
    lists); other values unchanged.
    """
    if value is not None and value != "" and not isinstance(value, bool) and key_looks_secret(str(key)):
        _warn_secret_key(str(key))
        return REDACTED
    return _redact_value(value)


def redact_mapping(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A copy of `mapping` (nested mappings too) with `redact_record` applied to every entry.

    The key checked for a nested entry is its dotted path (`tracking.tags.api_token`), so a mapping
    under a secret-looking key is redacted whole. The caller's mapping is not changed.
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and not key_looks_secret(str(key)):
            out[key] = redact_mapping(value, path)
        else:
            out[key] = redact_record(path, value)
    return out
