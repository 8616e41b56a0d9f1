"""Best-effort nudges: tell a worker, after commit, that durable work is waiting.

The work itself is a row or a mark written in the request's transaction, and a periodic sweep
finds it whether or not the nudge arrives. So a broker outage must cost a request next to
nothing (docs/reliability.md, "Broker down"):
- a publish is one attempt, bounded by short socket timeouts (settings: CELERY_TASK_PUBLISH_RETRY,
  CELERY_BROKER_TRANSPORT_OPTIONS); Celery's default retries held each request 0.6 s;
- after a failure no nudge is tried for COOLDOWN_SECONDS (a circuit breaker, per process);
- the outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging

from common.breaker import CircuitBreaker

logger = logging.getLogger(__name__)
COOLDOWN_SECONDS = 5.0

broker = CircuitBreaker(cooldown=COOLDOWN_SECONDS)


def nudge(task, *args) -> bool:
    """Enqueue `task(*args)` unless the broker failed in the last few seconds; whether it went."""
    if broker.is_open():
        return False
    try:
        task.delay(*args)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep catches up
        if broker.failed():
            logger.error(
                "could not enqueue %s; the periodic sweep will catch up. Broker unavailable "
                "(%s: %s): no task is enqueued from this process for %g s after each failure",
                task.name,
                type(exc).__name__,
                _first_line(exc),
                COOLDOWN_SECONDS,
            )
        return False
    lasted = broker.succeeded()
    if lasted is not None:
        logger.warning(
            "the broker accepts tasks again after %.1f s (%d nudges skipped; the sweeps did them)",
            lasted,
            broker.skipped,
        )
    return True


def _first_line(exc: BaseException) -> str:
    return next(iter(str(exc).splitlines()), "")[:200]
