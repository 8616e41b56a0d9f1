"""Subscriptions (wired in SegmentsConfig.ready), and the one module of segments that enqueues its
tasks: new events and changed contacts re-evaluate the segments that depend on them, for those
contacts only; a segment created or changed is recomputed whole.

Ingest's transaction leaves our marks of changed (contact, event type) pairs durably (the
events_stored hook below, segments/evaluation_marks.py); after commit, we only nudge the task
that drains the marks, at most a few times a second per process (one task per event would cap
ingest near 1,100 events/s, see ../shared/FLOORS.md). A beat schedule sweeps every second too,
so a missed nudge or a broker outage only delays the update.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from common.nudges import nudge
from contacts.signals import contact_deleting, contacts_changed, contacts_merged
from events.hooks import StoredEvent, on_events_stored
from events.signals import events_ingested
from segments.evaluation_marks import evaluation_marks_for_merge, evaluation_marks_leave
from segments.services import segments_forget_contact
from segments.signals import segment_refresh_requested
from segments.tasks import (
    segment_refresh_task,
    segments_evaluate_pending_task,
    segments_refresh_contacts_task,
)

NUDGE_INTERVAL = 0.2  # seconds
_last_nudge = 0.0


def _on_events_stored(app_id: int, events: Sequence[StoredEvent], now: datetime) -> None:
    evaluation_marks_leave(app_id=app_id, events=events)


def _on_contacts_merged(sender, source, target, **kwargs) -> None:
    evaluation_marks_for_merge(app_id=target.app_id, source_id=source.pk, target_id=target.pk)


def _on_events_ingested(sender, **kwargs) -> None:
    global _last_nudge
    now = time.monotonic()
    if now - _last_nudge < NUDGE_INTERVAL:
        return
    _last_nudge = now
    _enqueue(segments_evaluate_pending_task)


def _on_contacts_changed(sender, app, contact_ids, **kwargs) -> None:
    _enqueue(segments_refresh_contacts_task, app.pk, list(contact_ids), [])


def _on_refresh_requested(sender, segment, **kwargs) -> None:
    _enqueue(segment_refresh_task, segment.pk)


def _on_contact_deleting(sender, contact, **kwargs) -> None:
    segments_forget_contact(contact_id=contact.pk)


def _enqueue(task, *args) -> None:
    """Best effort: the data is committed; a broker outage must not fail the request."""
    nudge(task, *args)


def connect() -> None:
    on_events_stored(_on_events_stored, uid="segments.evaluation_marks")
    contacts_merged.connect(_on_contacts_merged, dispatch_uid="segments.merge")
    events_ingested.connect(_on_events_ingested, dispatch_uid="segments.incremental")
    contacts_changed.connect(_on_contacts_changed, dispatch_uid="segments.contacts")
    contact_deleting.connect(_on_contact_deleting, dispatch_uid="segments.forget")
    segment_refresh_requested.connect(_on_refresh_requested, dispatch_uid="segments.refresh")
