"""/healthz and /readyz: cheap, unauthenticated JSON, and 503 naming what is down."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_ok_without_a_database_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(ALLOWED_HOSTS=["beacon.example.com"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_a_load_balancer_probing_by_ip_over_http(client, db):
    assert client.get("/healthz", HTTP_HOST="10.0.0.5:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.5:8000").status_code == 200
    assert client.get("/admin/", HTTP_HOST="10.0.0.5:8000").status_code == 400


def test_readyz_answers_ok_when_database_migrations_and_broker_are(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/14")
def test_readyz_reaches_a_redis_broker(client, db):
    assert client.get("/readyz").json()["checks"]["broker"] == "ok"


def test_readyz_names_the_broker_when_redis_is_unreachable(client, db):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


READYZ_IN_A_PROCESS = """
from django.test import Client
response = Client().get("/readyz")
print(response.status_code, response["Retry-After"], response.content.decode())
"""


def test_readyz_names_the_database_when_it_is_unreachable(tmp_path):
    # A process of its own, started against a database server that is not there.
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "BEACON_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/beacon",
    }
    setup = "import django; django.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", setup + READYZ_IN_A_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, retry_after, body = done.stdout.strip().split(" ", 2)
    assert (status, retry_after) == ("503", "10"), done.stderr
    checks = json.loads(body)["checks"]
    assert checks["database"].startswith("error: OperationalError")
    assert checks["migrations"] == "unknown: database unavailable"
    assert checks["broker"] == "ok"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_never_cached(client, db, path):
    assert "no-cache" in client.get(path)["Cache-Control"]
