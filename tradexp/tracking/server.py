"""A tracking server at start: answered as MLflow's own client would ask it, with bounded retries after."""

from __future__ import annotations

import os
import re

from callbacks.redaction import redact_text, strip_credentials
from tradexp.errors import TrackingError

__all__ = ["check_server", "bound_http_retries", "is_server_uri", "quiet_credentialed_urls"]

_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def is_server_uri(uri: str) -> bool:
    """True for an http(s) tracking server (as opposed to a database or file store)."""
    return uri.startswith(("http://", "https://"))


def _reason(exc: BaseException) -> str:
    """The useful part of a connection error (`[Errno 111] Connection refused`, `timed out`), redacted."""
    text = str(exc)
    found = _ERRNO.findall(text)
    if found:
        reason = found[-1].strip()
    elif "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        reason = "timed out"
    else:
        reason = (text.splitlines() or [type(exc).__name__])[0]
    return redact_text(reason)


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, within `timeout` seconds, when an http(s) tracking server does not answer `/health`.

    The request is made by MLflow's own REST layer with the credentials MLflow's client would use:
    `user:password@` in the URI (sent as basic auth), else `MLFLOW_TRACKING_USERNAME` /
    `MLFLOW_TRACKING_PASSWORD` (or `~/.mlflow/credentials`), `MLFLOW_TRACKING_TOKEN`,
    `MLFLOW_TRACKING_INSECURE_TLS`, `MLFLOW_TRACKING_SERVER_CERT_PATH` and
    `MLFLOW_TRACKING_CLIENT_CERT_PATH`, all read by `mlflow.utils.credentials.get_default_host_creds`.
    Messages show the URI with its password hidden.

    Raises:
        TrackingError: Naming the URI (credentials hidden) and how to fix it.
    """
    if not is_server_uri(uri):
        return
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    shown = strip_credentials(uri)
    fix = "start it (`mlflow server --host 127.0.0.1 --port ...`), fix MLFLOW_TRACKING_URI, or unset it to use sqlite:///mlflow.db"
    try:
        response = http_request(get_default_host_creds(uri), "/health", "GET", max_retries=0, backoff_factor=0, timeout=timeout)
    except Exception as exc:  # requests/urllib3/MlflowException: every way of not answering
        raise TrackingError(f"cannot reach the MLflow tracking server at {shown} ({_reason(exc)}); {fix}") from None
    if response.status_code in (401, 403):
        raise TrackingError(
            f"the MLflow tracking server at {shown} refused the credentials (HTTP {response.status_code}); set them in the URI "
            "(`http://user:password@host:port`) or as MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD"
        )
    if response.status_code != 200:
        raise TrackingError(f"cannot reach the MLflow tracking server at {shown} (`/health` answered HTTP {response.status_code}); {fix}")


def bound_http_retries() -> None:
    """Bounded MLflow HTTP retries unless the user chose their own.

    MLflow's defaults (7 retries, 120 s timeout, backoff 2) can block a training step for minutes
    when the server dies.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def quiet_credentialed_urls(uri: str) -> None:
    """Stop MLflow printing `View run ... at: <uri>/#/...` when `uri` carries credentials.

    MLflow's client writes that link to stdout when a run on a server ends, with the tracking URI as
    given, password included; tradexp's own summary names the store with the password hidden.
    """
    if is_server_uri(uri) and strip_credentials(uri) != uri:
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
