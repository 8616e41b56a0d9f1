"""The migration that renames @NOTIFICATION_FAILED's stored `error` param to `reason`
(events/migrations/0011), run on the current models: the same ORM calls as on the historical
ones, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.utils import timezone

from contacts.models import Contact
from events import catalog
from events.models import Event, EventAttribute, EventType
from events.services.builtin import BuiltinEvent, events_record_builtin

migration = importlib.import_module("events.migrations.0011_notification_failed_reason")


def record(app, contact, name: str, params: dict, key: str) -> None:
    event = BuiltinEvent(contact.pk, name, params, timezone.now(), key)
    events_record_builtin(app=app, events=[event])


def test_stored_failures_get_reason_and_other_events_are_left_alone(app):
    contact = Contact.objects.create(app=app, external_id="u")
    record(app, contact, catalog.NOTIFICATION_FAILED, {"campaign_id": 1, "error": "gone"}, "1")
    record(app, contact, catalog.NOTIFICATION_FAILED, {"campaign_id": 1, "reason": "new"}, "2")
    record(app, contact, catalog.NOTIFICATION_SENT, {"error": "not a failure"}, "3")
    failed = EventType.objects.get(app=app, name=catalog.NOTIFICATION_FAILED)
    EventAttribute.objects.filter(event_type=failed, name="reason").delete()
    EventAttribute.objects.create(event_type=failed, name="error", type="string")

    migration.forwards(apps, None)

    params = [e.params for e in Event.objects.order_by("id")]
    assert params == [
        {"campaign_id": 1, "reason": "gone"},
        {"campaign_id": 1, "reason": "new"},
        {"error": "not a failure"},
    ]
    names = EventAttribute.objects.filter(event_type=failed).values_list("name", flat=True)
    assert set(names) == {"campaign_id", "delivery_id", "reason"}  # error renamed

    migration.backwards(apps, None)
    assert Event.objects.order_by("id").first().params == {"campaign_id": 1, "error": "gone"}


def test_an_existing_reason_attribute_wins_over_error(app):
    failed = EventType.objects.get(app=app, name=catalog.NOTIFICATION_FAILED)
    EventAttribute.objects.create(event_type=failed, name="error", type="json")

    migration.forwards(apps, None)

    [reason] = EventAttribute.objects.filter(event_type=failed, name__in=["error", "reason"])
    assert (reason.name, reason.type) == ("reason", "string")  # the catalog's
