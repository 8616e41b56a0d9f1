"""Subscriptions (wired in CampaignsConfig.ready), and the one module of campaigns that enqueues
its tasks: stored events get their trigger marks in their own transaction (events/hooks.py); the
marks, segment entries, an activated broadcast and a test push nudge their task right after
commit. Best effort: the periodic sweeps find whatever a lost nudge leaves behind. Events that
report a push open (Customer.io's `opened`, `push_opened`) open their delivery after commit.
An ESP's reports on emails (django-anymail's `tracking` signal, sent by its webhooks:
campaigns/esp_urls.py) apply to their deliveries at once, so that an error answers the ESP 500
and it posts the report again. And `manage.py beacon_setup` creates the VAPID key pair once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from anymail.signals import AnymailTrackingEvent
from anymail.signals import tracking as esp_tracking
from django.db import transaction

from campaigns.models import Campaign
from campaigns.services.email_tracking import email_esp_event
from campaigns.services.opens import OPEN_EVENTS, deliveries_open_reported
from campaigns.services.trigger_marks import trigger_marks_leave
from campaigns.signals import campaign_activated, test_push_scheduled
from campaigns.tasks import (
    broadcasts_start_due_task,
    deliveries_dispatch_task,
    segment_entries_match_task,
    trigger_marks_process_task,
)
from campaigns.vapid import vapid_keys_setup
from common.nudges import nudge
from contacts.signals import setup_requested
from events.hooks import StoredEvent, on_events_stored
from events.signals import events_ingested
from segments.signals import segment_membership_changed


def _on_events_stored(app_id: int, events: Sequence[StoredEvent], now: datetime) -> None:
    marks_left = trigger_marks_leave(app_id=app_id, events=events, now=now)
    transaction.on_commit(lambda: _nudge_matcher(marks_left), robust=True)


def _nudge_matcher(marks_left: Callable[[], int]) -> None:
    if marks_left():
        _enqueue(trigger_marks_process_task)


def _on_events_ingested(sender, app, event_ids, event_type_names, **kwargs) -> None:
    # Most batches hold no open report: a check of the names, no query.
    if not OPEN_EVENTS.keys().isdisjoint(event_type_names):
        deliveries_open_reported(app=app, event_ids=event_ids)


def _on_membership_changed(sender, entered, **kwargs) -> None:
    if entered:
        _enqueue(segment_entries_match_task)


def _on_campaign_activated(sender, campaign: Campaign, **kwargs) -> None:
    if campaign.kind == Campaign.Kind.BROADCAST:
        _enqueue(broadcasts_start_due_task)


def _on_test_push_scheduled(sender, **kwargs) -> None:
    _enqueue(deliveries_dispatch_task)


def _enqueue(task) -> None:
    nudge(task)  # best effort (common/nudges.py)


def _on_esp_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    email_esp_event(event=event, esp_name=esp_name)


def _on_setup_requested(sender, **kwargs) -> None:
    vapid_keys_setup()


def connect() -> None:
    setup_requested.connect(_on_setup_requested, dispatch_uid="campaigns.vapid")
    on_events_stored(_on_events_stored, uid="campaigns.triggers")
    events_ingested.connect(_on_events_ingested, dispatch_uid="campaigns.opens")
    segment_membership_changed.connect(_on_membership_changed, dispatch_uid="campaigns.entries")
    campaign_activated.connect(_on_campaign_activated, dispatch_uid="campaigns.broadcasts")
    test_push_scheduled.connect(_on_test_push_scheduled, dispatch_uid="campaigns.test_push")
    esp_tracking.connect(_on_esp_tracking, dispatch_uid="campaigns.esp_tracking")
