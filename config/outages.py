"""A database outage as clients see it: 503 with Retry-After, never a 500.

The API answers so through its exception handler (config/api.py), HTML pages through
monitoring's middleware and handler500; both take from here which errors mean "unavailable",
what the answer says, and the log line (one per LOG_INTERVAL_SECONDS per process: each 503 has
its request-log line already, and an outage would otherwise print a traceback per request).
"""

from __future__ import annotations

import logging
import time

import psycopg
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# The database is down, restarting or unreachable; on PostgreSQL also a cancelled statement or a
# deadlock, worth a retry too. psycopg's own classes as well, should one escape Django's error
# wrapping (every statement goes through it: common/db/executor.py).
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
RETRY_AFTER_SECONDS = 5
DETAIL = "the database is unavailable; retry later"
LOG_INTERVAL_SECONDS = 10.0

_logged_at = -LOG_INTERVAL_SECONDS


def unavailable_body() -> dict:
    """The API's error shape (config/api.py) for a 503."""
    return {"error": "unavailable", "detail": DETAIL}


def log_unavailable(exc: BaseException) -> None:
    global _logged_at
    now = time.monotonic()
    if now - _logged_at < LOG_INTERVAL_SECONDS:
        return
    _logged_at = now
    cause = next(iter(str(exc).splitlines()), "")[:200]
    logger.error("database unavailable, answering 503: %s: %s", type(exc).__name__, cause)
