"""A task that records when it ran, and a producer that sends it, for tests/test_embedded_broker.py.

A worker learns the task through CELERY_WORKER_INCLUDE=tests.broker_probe (Celery's command line
reads each worker option from CELERY_WORKER_<OPTION>), so the project's apps stay free of it.
Producer: `python -m tests.broker_probe <label> <count> <interval seconds>`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from celery import shared_task
from django.conf import settings

from config.celery import app as celery_app


def probe_log(var_dir: Path) -> Path:
    return var_dir / "probe.log"


@shared_task(name="tests.broker_probe.probe_task")
def probe_task(label: str, sent_at: float, padding: str = "") -> None:
    # One short append per run (the worker's pool is solo): a line is never torn.
    with probe_log(settings.VAR_DIR).open("a") as log:
        log.write(f"{label} {sent_at} {time.time()}\n")


def produce(label: str, count: int, interval: float) -> None:
    # Bodies of some size, like a claim of many delivery ids: writing one takes a while, so a
    # transport that lets a consumer read a message before it is whole shows it.
    padding = "x" * 64_000
    with celery_app.connection_for_write() as connection:
        for n in range(count):
            args = (f"{label}-{n}", time.time(), padding)
            probe_task.apply_async(args, connection=connection)
            time.sleep(interval)


if __name__ == "__main__":
    produce(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
