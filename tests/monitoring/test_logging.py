"""One log line per request and per task; JSON lines with LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from common.logging import JsonFormatter, TextFormatter
from contacts.models import ApiKey
from contacts.services.apps import api_key_create
from segments.tasks import segments_evaluate_pending_task
from tests.campaigns.factories import KEYS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="beacon.request")
    return lambda: [r for r in caplog.records if r.name == "beacon.request"]


def test_an_api_key_request_logs_the_tenant_and_key_prefix_never_the_key(app, request_log):
    key, raw_key = api_key_create(app=app, name="CI", scope=ApiKey.Scope.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert client.get("/api/v1/contacts", {"api_key": raw_key}).status_code == 200

    [record] = request_log()
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/contacts", 200)
    assert (record.tenant, record.key_prefix) == ("shop", key.prefix)
    assert record.duration_ms >= 0
    assert record.getMessage().startswith("GET /api/v1/contacts 200 ")
    assert f"tenant=shop key={key.prefix}" in record.getMessage()
    logged = JsonFormatter().format(record) + TextFormatter().format(record)
    assert raw_key not in logged  # neither from the header nor from the query string
    assert key.prefix in logged


def test_a_push_subscription_is_not_logged(track, request_log):
    subscription = {"endpoint": "https://push.example/x", "keys": KEYS}
    sent = track(event_name="a", app_user_id="ann", device_token=subscription, platform="web")
    assert sent.status_code == 200
    [record] = request_log()
    assert KEYS["auth"] not in JsonFormatter().format(record)
    assert "push.example" not in JsonFormatter().format(record)
    assert record.status == 200 and record.tenant == "shop"


def test_a_request_without_a_key_logs_no_tenant(client, db, request_log):
    client.get("/api/v1/contacts")
    [record] = request_log()
    assert record.status == 401
    assert not hasattr(record, "tenant")
    assert record.getMessage().startswith("GET /api/v1/contacts 401 ")


def test_probes_are_not_logged(client, db, request_log):
    client.get("/healthz")
    assert request_log() == []


def test_the_json_formatter_writes_one_parseable_line_with_the_extra_fields():
    record = logging.makeLogRecord(
        {
            "name": "beacon.request",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "GET %s 200",
            "args": ("/api/v1/events",),
            "method": "GET",
            "status": 200,
            "duration_ms": 1.5,
        }
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "GET /api/v1/events 200"
    assert (data["level"], data["logger"]) == ("INFO", "beacon.request")
    assert (data["method"], data["status"], data["duration_ms"]) == ("GET", 200, 1.5)
    assert data["time"].endswith("+00:00")


def test_the_json_formatter_keeps_an_exception_on_the_same_line():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_a_task_run_logs_its_name_id_state_and_duration(db, caplog):
    caplog.set_level(logging.INFO, logger="beacon.task")
    result = segments_evaluate_pending_task.delay()
    [record] = [r for r in caplog.records if r.name == "beacon.task"]
    assert record.task == "segments.tasks.segments_evaluate_pending_task"
    assert record.task_id == result.id
    assert record.state == "SUCCESS"
    assert record.duration_ms >= 0
    assert record.getMessage().startswith(f"task {record.task} {result.id} SUCCESS ")


LOG_A_LINE = """
import logging, django
django.setup()
logging.getLogger("beacon.request").info("GET / 200", extra={"status": 200})
logging.getLogger("django").warning("something")
"""


def run_with_env(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOG_A_LINE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "BEACON_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_makes_every_line_json(tmp_path):
    done = run_with_env(tmp_path, LOG_FORMAT="json", LOG_LEVEL="WARNING")
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines[0]["logger"] == "beacon.request"  # INFO, past the root's WARNING
    assert lines[0]["status"] == 200
    assert any(line["message"] == "something" for line in lines[1:])


def test_log_requests_false_leaves_request_lines_to_log_level(tmp_path):
    done = run_with_env(tmp_path, LOG_REQUESTS="false", LOG_LEVEL="WARNING")
    assert "GET / 200" not in done.stderr
    assert "something" in done.stderr


def test_an_unknown_log_format_stops_the_start(tmp_path):
    done = run_with_env(tmp_path, LOG_FORMAT="xml")
    assert "LOG_FORMAT='xml': use text or json" in done.stderr
