"""One log line per Celery task run: name, id, duration and final state (logger `beacon.task`).

Connected once, from config/celery.py, so every worker (and eager runs in tests) logs the same.
"""

from __future__ import annotations

import logging
import time

from celery.signals import task_postrun, task_prerun

logger = logging.getLogger("beacon.task")

# task id -> start time; a worker process may run tasks in threads, hence not a single slot.
_started: dict[str, float] = {}


def _task_started(task_id=None, **_) -> None:
    _started[task_id] = time.perf_counter()


def _task_finished(task_id=None, task=None, state=None, **_) -> None:
    started = _started.pop(task_id, None)
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    name = getattr(task, "name", "?")
    logger.info(
        "task %s %s %s %sms",
        name,
        task_id,
        state,
        duration_ms,
        extra={"task": name, "task_id": task_id, "state": state, "duration_ms": duration_ms},
    )


def connect() -> None:
    task_prerun.connect(_task_started, dispatch_uid="beacon.task_logging.prerun")
    task_postrun.connect(_task_finished, dispatch_uid="beacon.task_logging.postrun")
