"""Ingest leaves a durable mark on events that an active campaign starts or cancels on, and
refuses web push endpoints Beacon would not send to."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns import handlers as campaigns_handlers
from campaigns.models import TriggeringEventType, TriggerMark
from contacts.models import Contact
from events.models import Event, EventType
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.ingest import events_ingest

KEYS = {"p256dh": "BP", "auth": "au"}


@pytest.fixture
def purchase_triggers(app):
    event_type, _ = EventType.objects.get_or_create(app=app, name="purchase_completed")
    TriggeringEventType.objects.create(event_type=event_type)
    return event_type


def test_only_events_of_trigger_types_are_marked(app, purchase_triggers):
    results = events_ingest(
        app=app,
        payloads=[
            {"event_name": "purchase_completed", "app_user_id": "u1", "params": {"order_id": 1}},
            {"event_name": "product_viewed", "app_user_id": "u1"},
        ],
    )
    purchase = Event.objects.get(event_type=purchase_triggers)
    mark = TriggerMark.objects.get()
    assert (mark.event_id, mark.contact_id, mark.app_id) == (
        purchase.pk,
        results[0].contact_id,
        app.pk,
    )
    assert mark.event_type_id == purchase_triggers.pk


def test_a_replayed_event_leaves_no_second_mark(app, purchase_triggers):
    payload = {"event_name": "purchase_completed", "app_user_id": "u1", "event_id": "e-1"}
    events_ingest(app=app, payloads=[payload])
    events_ingest(app=app, payloads=[payload, payload])
    assert TriggerMark.objects.count() == 1


def test_the_matcher_is_nudged_on_commit_only_when_marks_were_left(
    app, purchase_triggers, django_capture_on_commit_callbacks, monkeypatch
):
    nudges = []
    monkeypatch.setattr(campaigns_handlers, "_enqueue", lambda task: nudges.append(task.name))
    seen = []
    for name in ("purchase_completed", "product_viewed"):
        nudges.clear()
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(app=app, payloads=[{"event_name": name}])
        seen.append(nudges.count("campaigns.tasks.trigger_marks_process_task"))
    assert seen == [1, 0]


def test_built_in_events_are_marked_too(app):
    sent, _ = EventType.objects.get_or_create(app=app, name="@NOTIFICATION_SENT")
    TriggeringEventType.objects.create(event_type=sent)
    contact = Contact.objects.create(app=app, external_id="u1")
    now = timezone.now()
    sent = BuiltinEvent(contact.pk, "@NOTIFICATION_SENT", {}, now, key="d1")
    opened = BuiltinEvent(contact.pk, "@NOTIFICATION_OPENED", {}, now, key="d1")
    assert events_record_builtin(app=app, events=[sent, opened]) == 2
    assert events_record_builtin(app=app, events=[sent]) == 0  # stored before: no second mark
    mark = TriggerMark.objects.get()
    assert mark.event_id == Event.objects.get(event_type__name="@NOTIFICATION_SENT").pk


@pytest.mark.parametrize(
    ("endpoint", "allow_http", "reason"),
    [
        ("http://push.example/abc", True, "must use https"),
        ("http://127.0.0.1:8123/abc", False, "WEBPUSH_ALLOW_HTTP_LOCALHOST"),
        ("https:///nohost", True, "is not a valid URL"),
    ],
)
def test_refused_push_endpoints_are_a_400(track, settings, endpoint, allow_http, reason):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = allow_http
    response = track(event_name="x", device_token={"endpoint": endpoint, "keys": KEYS})
    assert response.status_code == 400
    assert reason in response.json()["detail"]["device_token"][0]


@pytest.mark.parametrize(
    "endpoint", ["https://push.example/abc", "http://127.0.0.1:8123/abc", "http://localhost/x"]
)
def test_accepted_push_endpoints(track, settings, endpoint):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    response = track(event_name="x", device_token={"endpoint": endpoint, "keys": KEYS})
    assert response.status_code == 200, response.json()
