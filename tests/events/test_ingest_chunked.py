"""Bodies sent with Transfer-Encoding: chunked and no Content-Length (issue 15): DRF read them as
empty ("event_name: required"). The tracking API reads them, up to its body limit, where the
server decodes the chunks (gunicorn), and answers 411 where it cannot tell where the body ends.

Django's test client always sends a Content-Length, so the reading itself is checked against a
real gunicorn serving the test database; the 411 and the limit through the test client."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from contacts.models import ApiKey
from contacts.services.apps import api_key_create, app_create
from events.models import Event

ROOT = Path(__file__).resolve().parents[2]


def stored_names() -> list[str]:
    events = Event.objects.exclude(event_type__name__startswith="@")
    return sorted(events.values_list("event_type__name", flat=True))


def unsized_post(client, path: str, body: bytes, *, terminated: bool):
    """What a WSGI server hands Django for a chunked body: no CONTENT_LENGTH, the decoded body
    in wsgi.input, and wsgi.input_terminated if the server ends it (gunicorn does)."""
    extra = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}
    if terminated:
        extra["wsgi.input_terminated"] = True
    return client.generic("POST", path, b"", content_type="application/json", **extra)


def test_a_chunked_body_the_server_ends_is_read(ingest_client):
    body = json.dumps({"event_name": "chunked", "app_user_id": "u1"}).encode()
    response = unsized_post(ingest_client, "/api/v1/events", body, terminated=True)
    assert response.status_code == 200, response.content
    assert stored_names() == ["chunked"]


def test_a_chunked_body_the_server_does_not_end_is_a_411(ingest_client):
    body = json.dumps({"event_name": "chunked", "app_user_id": "u1"}).encode()
    response = unsized_post(ingest_client, "/api/v1/events", body, terminated=False)
    assert response.status_code == 411
    assert response.json()["error"] == "length_required"
    assert stored_names() == []


def test_a_chunked_body_over_the_limit_is_a_413(ingest_client):
    body = json.dumps({"event_name": "x", "context": {"blob": "a" * 1_000_100}}).encode()
    response = unsized_post(ingest_client, "/api/v1/events", body, terminated=True)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The test database, as the server process must reach it."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host, port = settings["USER"], settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """gunicorn (one sync worker) on the test database; yields (port, ingest key)."""
    app = app_create(name="Shop", tenant_id="shop")
    _, key = api_key_create(app=app, name="k", scope=ApiKey.Scope.INGEST)
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "BEACON_VAR_DIR": str(tmp_path / "var"),
        "LOG_REQUESTS": "false",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not listen within 30 s"
                time.sleep(0.2)
        yield port, key
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def post_chunked(port: int, key: str, path: str, payload: dict) -> tuple[int, dict]:
    """POST `payload` in three chunks, with no Content-Length (http.client chunks an iterable)."""
    body = json.dumps(payload).encode()
    third = len(body) // 3
    chunks = [body[:third], body[third : 2 * third], body[2 * third :]]
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        connection_.request("POST", path, body=iter(chunks), headers=headers)
        response = connection_.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection_.close()


def test_gunicorn_reads_a_chunked_event_and_batch(gunicorn):
    port, key = gunicorn
    event = {"event_name": "chunked", "app_user_id": "u1", "params": {"a": "x" * 5000}}
    status, body = post_chunked(port, key, "/api/v1/events", event)
    assert status == 200, body
    assert body["duplicate"] is False
    events = [{"event_name": "batched", "app_user_id": f"u{i}"} for i in range(50)]
    status, body = post_chunked(port, key, "/api/v1/events/batch", {"events": events})
    assert status == 200, body
    assert all("fingerprint" in item for item in body["results"])
    assert stored_names() == ["batched"] * 50 + ["chunked"]
