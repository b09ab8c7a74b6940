"""The start-up probe authenticates as MLflow's client does: URI credentials, else MLflow's variables."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator

import pytest

from tradexp.errors import TrackingError
from tradexp.tracking.server import check_server

PASSWORD = "pw-basic-6161"


class _BasicAuthHealth(http.server.BaseHTTPRequestHandler):
    """`/health` behind basic auth (alice / PASSWORD), as a tracking server behind an auth proxy answers."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        header = self.headers.get("Authorization", "")
        type(self).seen.append(header)
        expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        self.send_response(200 if header == expected and self.path == "/health" else 401)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _BasicAuthHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_in_the_uri_are_sent_as_basic_auth(auth_server, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    check_server(f"http://alice:{PASSWORD}@{auth_server}", timeout=5)  # urllib failed here: `Name or service not known`


def test_mlflow_tracking_username_and_password_are_used(auth_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    check_server(f"http://{auth_server}", timeout=5)


def test_refused_credentials_are_one_message_without_the_password(auth_server, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    with pytest.raises(TrackingError, match=r"at http://alice:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(HTTP 401\)") as raised:
        check_server(f"http://alice:wrong-{PASSWORD}@{auth_server}", timeout=5)
    assert PASSWORD not in str(raised.value)


def test_a_spool_file_keeps_the_server_but_not_its_password(tmp_path, monkeypatch):
    from tradexp.tracking.spool import Spool, replay_uri

    spool = Spool(tmp_path / "run.jsonl", f"http://alice:{PASSWORD}@127.0.0.1:5000", "abc")
    header = spool.path.read_text()
    assert PASSWORD not in header and "http://alice:***@127.0.0.1:5000" in header
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://alice:{PASSWORD}@127.0.0.1:5000")
    assert replay_uri("http://alice:***@127.0.0.1:5000") == f"http://alice:{PASSWORD}@127.0.0.1:5000"  # `tradexp sync` gets them back
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert replay_uri("http://alice:***@127.0.0.1:5000") == "http://127.0.0.1:5000"  # then MLFLOW_TRACKING_USERNAME/PASSWORD
