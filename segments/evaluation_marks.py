"""Leaving evaluation marks: segments' subscriber to events/hooks.py, run in the transaction that
stores the events (ingest's and the built-in events'), so that a changed contact is re-evaluated
even if the nudge after commit is lost. segments_evaluate_pending (services.py) drains them."""

from __future__ import annotations

from collections.abc import Sequence

from common.db.dialect import Column, dialect
from common.db.executor import execute
from events.hooks import StoredEvent
from events.models import ContactEventStats
from segments.models import EvaluationMark

MARK_COLUMNS: list[Column] = [
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
]


def evaluation_marks_leave(*, app_id: int, events: Sequence[StoredEvent]) -> None:
    """Mark each (contact, event type) of the events, in one statement whatever their number.
    Sorted, so concurrent batches take the unique index's row locks in one order (no deadlock);
    a mark already there (not yet drained) stays as it is."""
    pairs = sorted({(event.contact_id, event.event_type_id) for event in events})
    source, params = dialect().values_source(MARK_COLUMNS, pairs)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    execute(
        f"INSERT INTO {EvaluationMark._meta.db_table} (app_id, contact_id, event_type_id) "
        f"SELECT %s, v.contact_id, v.event_type_id FROM {source} "
        f"WHERE true ON CONFLICT (contact_id, event_type_id) DO NOTHING",
        [app_id, *params],
    )


def evaluation_marks_for_merge(*, app_id: int, source_id: int, target_id: int) -> None:
    """Mark the surviving contact for every event type either side has events of: its history
    changed in each (whether events' subscriber has moved the stats yet or not)."""
    type_ids = set(
        ContactEventStats.objects.filter(contact_id__in=[source_id, target_id]).values_list(
            "event_type_id", flat=True
        )
    )
    EvaluationMark.objects.bulk_create(
        [
            EvaluationMark(app_id=app_id, contact_id=target_id, event_type_id=type_id)
            for type_id in sorted(type_ids)
        ],
        ignore_conflicts=True,
    )
