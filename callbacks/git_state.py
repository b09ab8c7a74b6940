"""Read the git state of a working tree: commit, branch, dirty flag, remote (credentials removed), diff."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

from callbacks.redaction import strip_credentials

__all__ = ["git_state"]


def _git(args: list[str], cwd: Path, timeout: float = 10.0) -> Optional[str]:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(path: str | Path = ".", max_diff_bytes: int = 1_000_000, max_untracked: int = 200) -> dict:
    """Git facts of the checkout containing `path`.

    Args:
        path: Any folder inside the checkout.
        max_diff_bytes: The uncommitted diff is cut to this size (`diff_truncated` says so).
        max_untracked: At most this many untracked file names are listed (`untracked_count` has all).

    Returns:
        `{"available": False, "reason": ...}` outside a checkout or without git; else `commit`,
        `branch`, `dirty`, `remote` (credentials removed), `diff` (str), `diff_truncated`, `diff_bytes`,
        `untracked` (names of untracked files, not in the diff) and `untracked_count`.
    """
    cwd = Path(path).resolve()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top is None:
        return {"available": False, "reason": f"`{cwd}` is not inside a git checkout (or git is not installed)"}
    commit = (_git(["rev-parse", "HEAD"], cwd) or "").strip() or None
    branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or "").strip() or None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
    remote = (_git(["config", "--get", "remote.origin.url"], cwd) or "").strip()
    diff = _git(["diff", "HEAD"], cwd) if commit else _git(["diff"], cwd)
    diff = diff or ""
    untracked = (_git(["ls-files", "--others", "--exclude-standard"], cwd) or "").splitlines()
    encoded = diff.encode()
    truncated = len(encoded) > max_diff_bytes
    if truncated:
        diff = encoded[:max_diff_bytes].decode(errors="ignore")
    return {
        "available": True,
        "root": top.strip(),
        "commit": commit,
        "branch": branch,
        "dirty": bool(status.strip()),
        "remote": strip_credentials(remote) if remote else None,
        "diff": diff,
        "diff_bytes": len(encoded),
        "diff_truncated": truncated,
        "untracked": untracked[:max_untracked],
        "untracked_count": len(untracked),
    }
