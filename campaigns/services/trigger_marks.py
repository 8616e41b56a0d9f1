"""Leaving trigger marks: campaigns' subscriber to events/hooks.py, run in the transaction that
stores the events (ingest's and the built-in events'), so the mark is as durable as the event.

Which types trigger is read by the inserting statement itself (TriggeringEventType, kept by
campaign_activate/pause in their transaction): a campaign whose activation commits
before that statement runs gets its marks, whatever the batch read at its start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from campaigns.models import TriggeringEventType, TriggerMark
from common.db.dialect import Column, dialect
from common.db.executor import execute_counted
from events.hooks import StoredEvent

STORED_COLUMNS: list[Column] = [
    ("id", "bigint"),
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
]


def trigger_marks_leave(
    *, app_id: int, events: Sequence[StoredEvent], now: datetime
) -> Callable[[], int]:
    """Mark the events whose type triggers campaigns, in one statement whatever their number.
    Returns a function telling how many marks were left: on PostgreSQL in ingest's pipeline the
    answer comes with the pipeline's closing sync, so ask after it (on commit)."""
    source, params = dialect().values_source(STORED_COLUMNS, events)
    sql = (
        f"INSERT INTO {TriggerMark._meta.db_table} "
        f"(app_id, event_id, contact_id, event_type_id, created_at) "
        f"SELECT %s, v.id, v.contact_id, v.event_type_id, %s FROM {source} "
        f"JOIN {TriggeringEventType._meta.db_table} t ON t.event_type_id = v.event_type_id"
    )
    created_at = dialect().timestamp(now)
    return execute_counted(sql, [app_id, created_at, *params])
