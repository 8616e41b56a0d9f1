"""Nudges are best effort: with the broker down a request pays one quick failed attempt at most
every few seconds, and the outage is logged once when it starts and once when it ends."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from common import breaker, nudges

ROOT = Path(__file__).resolve().parents[2]


class Task:
    name = "tests.nudged_task"

    def __init__(self) -> None:
        self.calls, self.down = 0, False

    def delay(self, *args) -> None:
        self.calls += 1
        if self.down:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def task():
    return Task()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def shift(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(breaker, "monotonic", clock)
    return clock


def test_after_a_failure_no_nudge_is_tried_for_the_cooldown(task, clock, caplog):
    task.down = True
    with caplog.at_level(logging.INFO):
        assert [nudges.nudge(task) for _ in range(50)] == [False] * 50
        assert task.calls == 1
        clock.shift(nudges.COOLDOWN_SECONDS)
        assert nudges.nudge(task) is False and task.calls == 2
        task.down = False
        assert nudges.nudge(task) is False and task.calls == 2  # still cooling down
        clock.shift(nudges.COOLDOWN_SECONDS)
        assert nudges.nudge(task) is True and task.calls == 3
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0][0] == "ERROR" and messages[0][1].startswith(
        "could not enqueue tests.nudged_task; the periodic sweep will catch up. Broker "
        "unavailable (OperationalError: Error 111"
    )
    assert messages[1] == (
        "WARNING",
        "the broker accepts tasks again after 10.0 s (50 nudges skipped; the sweeps did them)",
    )
    assert not [r for r in caplog.records if r.exc_info]


PUBLISH_TO_A_DEAD_REDIS = """
import time
import django
django.setup()
from segments.tasks import segments_evaluate_pending_task as task
for _ in range(5):
    started = time.perf_counter()
    try:
        task.delay()
    except Exception as exc:
        print(type(exc).__name__, round(time.perf_counter() - started, 3))
"""


def test_a_publish_to_a_dead_redis_fails_at_once(tmp_path):
    """Celery's settings for Redis (config/settings.py): one attempt, no retry policy (0.6 s),
    no reconnect loop (6 s with kombu's defaults): under 0.3 s even on a loaded host."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "BEACON_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
    }
    done = subprocess.run(
        [sys.executable, "-c", PUBLISH_TO_A_DEAD_REDIS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.split("\n")[:-1]
    assert len(lines) == 5, done.stdout + done.stderr
    for line in lines:
        error, seconds = line.split()
        assert error == "OperationalError" and float(seconds) < 0.3, lines
