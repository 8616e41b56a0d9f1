"""The Celery wiring, once, with a real worker process: on Redis (production) and on the
filesystem broker that `make run` uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kombu import Connection

from config.celery import app as celery_app
from contacts.services.apps import app_create
from events.models import ContactEventStats, Event
from events.services.ingest import events_ingest
from tests.celery_processes import REDIS_URL, ROOT, database_url


def broker(kind: str, var_dir: Path) -> tuple[str, dict]:
    if kind == "redis":
        return REDIS_URL, {}
    queue = var_dir / "broker" / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    (var_dir / "broker" / "processed").mkdir(exist_ok=True)
    return "filesystem://", {"data_folder_in": str(queue), "data_folder_out": str(queue)}


@pytest.fixture
def worker(tmp_path, request):
    url, _ = broker(request.param, tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": url,
        "BEACON_VAR_DIR": str(tmp_path),
        "DEBUG": "true",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield request.param, tmp_path, process
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task is meant
@pytest.mark.parametrize("worker", ["redis", "filesystem"], indirect=True)
def test_a_real_worker_runs_the_retention_task(worker):
    kind, var_dir, process = worker
    app = app_create(name="Worker", tenant_id=f"worker-{kind}")
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    events_ingest(
        app=app,
        payloads=[
            {"event_name": "old", "app_user_id": "u", "event_time": old},
            {"event_name": "new", "app_user_id": "u"},
        ],
    )
    url, options = broker(kind, var_dir)
    with Connection(url, transport_options=options) as conn:
        celery_app.send_task("events.tasks.events_purge_expired_task", connection=conn)
    deadline = time.monotonic() + 45
    while Event.objects.filter(event_type__name="old").exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the worker did not run the task in 45 s"
        time.sleep(0.2)
    assert Event.objects.filter(event_type__name="new").exists()
    assert ContactEventStats.objects.get(event_type__name="old").count == 1
