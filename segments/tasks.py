"""Thin tasks: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from contacts.models import App
from segments.models import Segment
from segments.services import (
    segment_refresh,
    segments_evaluate_pending,
    segments_refresh_contacts,
)


@shared_task(name="segments.tasks.segment_refresh_task")
def segment_refresh_task(segment_id: int) -> None:
    segment = Segment.objects.select_related("app").filter(pk=segment_id).first()
    if segment is not None:  # deleted meanwhile
        segment_refresh(segment=segment)


@shared_task(name="segments.tasks.segments_refresh_all_task")
def segments_refresh_all_task() -> int:
    """Fan out one full refresh per segment (time-based conditions change without events)."""
    ids = list(Segment.objects.values_list("pk", flat=True))
    for segment_id in ids:
        segment_refresh_task.delay(segment_id)
    return len(ids)


@shared_task(name="segments.tasks.segments_refresh_contacts_task")
def segments_refresh_contacts_task(app_id: int, contact_ids: list[int], event_type_names=None):
    app = App.objects.filter(pk=app_id).first()
    if app is not None:
        segments_refresh_contacts(
            app=app, contact_ids=contact_ids, event_type_names=event_type_names
        )


@shared_task(name="segments.tasks.segments_evaluate_pending_task")
def segments_evaluate_pending_task() -> int:
    """Drain the contacts marked by ingest (nudged after ingest, and swept every second)."""
    done = total = segments_evaluate_pending()
    while done:
        done = segments_evaluate_pending()
        total += done
    return total
