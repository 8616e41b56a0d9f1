"""Subscriptions (wired in SegmentsConfig.ready): new events and changed contacts re-evaluate the
segments that depend on them, for those contacts only, in a task enqueued on commit."""

from __future__ import annotations

from contacts.signals import contacts_changed
from events.signals import events_ingested


def _on_events_ingested(sender, app, contact_ids, event_type_names, **kwargs) -> None:
    from segments.tasks import segments_refresh_contacts_task

    segments_refresh_contacts_task.delay(app.pk, list(contact_ids), list(event_type_names))


def _on_contacts_changed(sender, app, contact_ids, **kwargs) -> None:
    from segments.tasks import segments_refresh_contacts_task

    segments_refresh_contacts_task.delay(app.pk, list(contact_ids), [])


def connect() -> None:
    events_ingested.connect(_on_events_ingested, dispatch_uid="segments.incremental")
    contacts_changed.connect(_on_contacts_changed, dispatch_uid="segments.contacts")
