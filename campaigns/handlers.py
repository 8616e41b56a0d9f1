"""Subscriptions (wired in CampaignsConfig.ready): ingest's trigger marks and segment entries
nudge their matchers right after commit. Best effort: the periodic sweeps find whatever a lost
nudge leaves behind. And `manage.py beacon_setup` creates the VAPID key pair once."""

from __future__ import annotations

import logging

from campaigns.vapid import vapid_keys_setup
from contacts.signals import setup_requested
from events.signals import events_ingested
from segments.signals import segment_membership_changed

logger = logging.getLogger(__name__)


def _on_events_ingested(sender, trigger_marks: int = 0, **kwargs) -> None:
    if trigger_marks:
        from campaigns.tasks import trigger_marks_process_task

        _enqueue(trigger_marks_process_task)


def _on_membership_changed(sender, entered, **kwargs) -> None:
    if entered:
        from campaigns.tasks import segment_entries_match_task

        _enqueue(segment_entries_match_task)


def _enqueue(task) -> None:
    try:
        task.delay()
    except Exception:
        logger.exception("could not enqueue %s; the periodic sweep will catch up", task.name)


def _on_setup_requested(sender, **kwargs) -> None:
    vapid_keys_setup()


def connect() -> None:
    setup_requested.connect(_on_setup_requested, dispatch_uid="campaigns.vapid")
    events_ingested.connect(_on_events_ingested, dispatch_uid="campaigns.triggers")
    segment_membership_changed.connect(_on_membership_changed, dispatch_uid="campaigns.entries")
