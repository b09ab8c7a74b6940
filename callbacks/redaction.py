"""Keep secrets out of what a run records: command lines, environment variables, URLs.

Rules (used by `EnvironmentCapture`):
- an environment variable is recorded only when its name matches the allow-list (`ENV_ALLOWLIST`
  plus what the user adds), and even then its value is replaced by `<redacted>` when the NAME looks
  like a secret (token, key, secret, password, credential, auth);
- command-line values are redacted in every form: `--api-key=xyz`, `--api-key xyz`, `API_KEY=xyz`,
  and `name: value` / `name=value` pairs inside a value (`--tags={api_token: xyz}`);
- `user:password@` is removed from every URL (`https://u:t@host/r.git` -> `https://host/r.git`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence

from callbacks.git_state import strip_credentials

__all__ = ["REDACTED", "ENV_ALLOWLIST", "looks_secret", "redact_text", "redact_argv", "redact_env"]

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
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_ASSIGNMENT = re.compile(rf"^(?P<name>{_NAME})=(?P<value>.*)$", re.S)
_INNER_PAIR = re.compile(rf"(?P<name>{_NAME})(?P<sep>\s*[:=]\s*)(?P<quote>['\"]?)(?P<value>[^\s,;}}\]'\"]+)")


def looks_secret(name: str) -> bool:
    """True when a variable or option NAME looks like it holds a secret (`MY_TOKEN`, `--api-key`)."""
    name = name.lstrip("-")
    return bool(_SECRET_WORD.search(name) or _KEY_PART.search(name))


def redact_text(text: str) -> str:
    """Remove URL credentials and the values of `secret_name: value` / `secret_name=value` pairs."""
    text = strip_credentials(text)

    def _pair(match: re.Match) -> str:
        if not looks_secret(match["name"]):
            return match[0]
        return f"{match['name']}{match['sep']}{match['quote']}{REDACTED}"

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
