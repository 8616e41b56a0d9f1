"""Redis down (the broker, and the cache that counts rate limits): ingest stays fast and loses
nothing, and the nudges reach the worker again once Redis is back.

The field report (issue 15): each committing request waited ~0.62 s for its failed nudge (Celery's
publish retries), a 50x cut in ingest capacity. Now a publish is one attempt with short socket
timeouts, and after a failure no nudge is tried for a few seconds (common/nudges.py).

A private redis-server on a spare port (the shared one is never touched) serves as broker and
cache for gunicorn (production settings) and a Celery worker. Every event is of a type an active
campaign triggers on, so every request nudges the trigger matcher after its commit. Phases, each
of single events sent back to back: Redis up; Redis killed (connections refused); Redis back;
Redis frozen with SIGSTOP (connections hang: the socket timeouts bound the wait).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from campaigns.models import TriggeringEventType
from contacts.models import ApiKey
from contacts.services.apps import api_key_create, app_create
from events.models import Event, EventType
from tests.celery_processes import CeleryProcesses, database_url

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
TRIGGER = "purchase_completed"
pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, home: Path) -> None:
        self.home, self.port, self.process = home, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.home)]
        log = (self.home / "redis.log").open("a")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.answers():
            assert time.monotonic() < deadline, (self.home / "redis.log").read_text()
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path):
    assert shutil.which("redis-server"), "redis-server is installed with the test tools"
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.thaw()
        server.kill()


@pytest.fixture
def ingest_key(db):
    app = app_create(name="Shop", tenant_id="shop")
    event_type, _ = EventType.objects.get_or_create(app=app, name=TRIGGER)
    TriggeringEventType.objects.create(event_type=event_type)
    return api_key_create(app=app, name="k", scope=ApiKey.Scope.INGEST)[1]


@pytest.fixture
def worker(redis_server, tmp_path):
    processes = CeleryProcesses(tmp_path / "celery", CELERY_BROKER_URL=f"{redis_server.url}/0")
    with processes_stopped(processes):
        worker = processes.worker()
        deadline = time.monotonic() + 60
        while not worker.is_ready():
            processes.check_alive()
            assert time.monotonic() < deadline, processes.report()
            time.sleep(0.2)
        yield worker


class processes_stopped:
    def __init__(self, processes: CeleryProcesses) -> None:
        self.processes = processes

    def __enter__(self):
        return self.processes

    def __exit__(self, *exc) -> None:
        self.processes.stop()
        if exc[0] is not None:
            print(self.processes.report())


@pytest.fixture
def web(tmp_path, redis_server, ingest_key, worker):
    """gunicorn with production settings, Redis as broker and as cache; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "broker-test-" + os.urandom(16).hex(),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"{redis_server.url}/0",
        "CACHE_URL": f"{redis_server.url}/1",
        "BEACON_VAR_DIR": str(tmp_path / "var"),
        "BEACON_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_REQUESTS": "false",
    }
    log_path = tmp_path / "gunicorn.log"
    argv = [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(WORKERS)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*argv, "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while track(base, ingest_key, "warm-up")[0] != 200:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def track(base: str, key: str, event_id: str) -> tuple[int, float, str | None]:
    """(status, seconds, fingerprint) of one tracked event."""
    body = {"event_name": TRIGGER, "app_user_id": f"u-{event_id}", "event_id": event_id}
    request = urllib.request.Request(
        f"{base}/api/v1/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            fingerprint = json.loads(response.read())["fingerprint"]
            return response.status, time.perf_counter() - started, fingerprint
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started, None
    except OSError:
        return 0, time.perf_counter() - started, None


class Phases:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key, self.sent, self.stored = base, key, 0, []
        self.latency: dict[str, list[float]] = {}

    def run(self, name: str, seconds: float) -> list[int]:
        statuses, latencies, end = [], [], time.monotonic() + seconds
        while time.monotonic() < end:
            self.sent += 1
            status, elapsed, fingerprint = track(self.base, self.key, f"{name}-{self.sent}")
            statuses.append(status)
            latencies.append(elapsed)
            if fingerprint:
                self.stored.append(fingerprint)
        self.latency.setdefault(name, []).extend(latencies)
        return statuses

    def median_ms(self, name: str) -> float:
        return statistics.median(self.latency[name]) * 1000

    def report(self) -> str:
        lines = []
        for name, values in self.latency.items():
            if name == "warm-up":
                continue
            ms = sorted(v * 1000 for v in values)
            p90 = ms[int(len(ms) * 0.9)]
            lines.append(
                f"{name}: {len(ms)} requests, median {statistics.median(ms):.1f} ms, "
                f"p90 {p90:.1f} ms, max {ms[-1]:.0f} ms"
            )
        return "\n".join(lines)


def test_ingest_stays_fast_while_redis_is_down_and_nudges_resume_after(
    redis_server, web, ingest_key, worker
):
    base, log = web
    phases = Phases(base, ingest_key)
    assert set(phases.run("warm-up", 2)) == {200}  # each gunicorn worker's first requests
    assert set(phases.run("up", 6)) == {200}

    redis_server.kill()
    assert set(phases.run("killed", 12)) == {200}

    redis_server.start()
    restarted = time.monotonic()
    assert set(phases.run("restarted", 8)) == {200}
    # The nudges reach the worker again: the gunicorn workers publish and say so once each.
    resumed = log.read_text().count("the broker accepts tasks again")
    assert resumed >= 1, log.read_text()[-3000:]
    runs = worker.results("campaigns.tasks.trigger_marks_process_task")
    after_restart = len(runs)
    deadline = restarted + 30
    while len(worker.results("campaigns.tasks.trigger_marks_process_task")) == after_restart:
        phases.run("restarted", 1)
        assert time.monotonic() < deadline, worker.output()[-3000:]

    redis_server.freeze()
    try:
        assert set(phases.run("frozen", 12)) == {200}
    finally:
        redis_server.thaw()

    print("\n" + phases.report())
    normal = phases.median_ms("up")
    assert phases.median_ms("killed") <= 2 * normal, phases.report()
    assert phases.median_ms("frozen") <= 2 * normal, phases.report()
    # A frozen Redis holds one request per gunicorn worker and cooldown, by the socket timeouts.
    assert max(phases.latency["frozen"]) < 3, phases.report()

    stored = Event.objects.filter(fingerprint__in=phases.stored).count()
    assert stored == len(set(phases.stored)) == phases.sent, (stored, phases.sent)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    # Logged once per outage and gunicorn worker: when it starts, and when it ends.
    assert len(re.findall("could not enqueue", text)) <= 2 * WORKERS, text[-3000:]
