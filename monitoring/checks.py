"""Readiness checks: each returns "ok" or raises; `readiness()` runs them all.

They must stay cheap (a load balancer asks every few seconds): one `SELECT 1`, one broker
connection with a short timeout, and the migration plan computed once per process (it reads
every migration file) and remembered once it is empty.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from config.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2.0

_migrations_applied = False  # per process; set once no migration is left to apply


def database_check(alias: str = "default") -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def migrations_check(alias: str = "default") -> str:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            raise RuntimeError(f"{len(plan)} unapplied, first {plan[0][0]}")
        _migrations_applied = True
    return "ok"


def broker_check(url: str | None = None) -> str:
    """Connect to the broker once, within BROKER_TIMEOUT_SECONDS (no retry loop: a probe that
    waits longer than the prober is as bad as a failure)."""
    with celery_app.connection_for_write(
        url or settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS
    ) as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS
        )
    return "ok"


def readiness() -> dict[str, str]:
    """{"database": ..., "migrations": ..., "broker": ...}: "ok" or "error: <reason>"."""
    checks = {"database": _run(database_check)}
    if checks["database"] == "ok" or _migrations_applied:
        checks["migrations"] = _run(migrations_check)
    else:
        checks["migrations"] = "unknown: database unavailable"
    checks["broker"] = _run(broker_check)
    return checks


def _run(check) -> str:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named in the answer
        first_line = next(iter(str(exc).splitlines()), "")[:200]
        return f"error: {type(exc).__name__}: {first_line}"
