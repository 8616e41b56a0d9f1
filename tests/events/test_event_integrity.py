"""events_event has no foreign key constraints in the database (their checks cost ingest a
quarter of PostgreSQL's time): Django's cascades delete events with their owners, and the stats
row ingest writes with every event keeps an event for a missing contact or type from landing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from events.models import ContactEventStats, ContactParamStats, Event, EventType
from events.services import bulk_sql
from events.services.stats import EventStats
from tests.segments.helpers import ingest


def test_deleting_an_event_type_deletes_its_events_and_stats(app):
    ingest(
        app=app,
        payloads=[
            {"event_name": "doomed", "app_user_id": "u1", "params": {"amount": 5}},
            {"event_name": "kept", "app_user_id": "u1", "params": {"amount": 7}},
        ],
    )
    doomed = EventType.objects.get(app=app, name="doomed")
    doomed_id = doomed.pk
    doomed.delete()
    # By id, not through a join (which would hide rows left behind).
    assert not Event.objects.filter(event_type_id=doomed_id).exists()
    assert not ContactEventStats.objects.filter(event_type_id=doomed_id).exists()
    assert Event.objects.filter(event_type__name="kept").count() == 1
    assert set(ContactParamStats.objects.values_list("event_type__name", flat=True)) == {"kept"}


def test_deleting_an_app_deletes_its_events(app, other_app):
    ingest(app=app, payloads=[{"event_name": "x", "app_user_id": "u1"}])
    ingest(app=other_app, payloads=[{"event_name": "x", "app_user_id": "u1"}])
    app_id = app.pk
    app.delete()
    assert not Event.objects.filter(app_id=app_id).exists()  # by id: no join hides a row
    assert Event.objects.filter(app_id=other_app.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_for_a_contact_deleted_meanwhile_is_refused_with_its_stats(app):
    """What ingest writes for an event whose contact was deleted by another transaction after
    ingest resolved it: the event row alone would be accepted, its stats row is not, and the
    transaction stores neither."""
    contact = Contact.objects.create(app=app, external_id="gone")
    event_type = EventType.objects.create(app=app, name="x")
    gone = contact.pk
    contact.delete()
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_sql.insert_events([(app.pk, gone, event_type.pk, now, now, "{}", "{}", "", "f" * 64)])
        stats = EventStats()
        stats.add(gone, event_type.pk, now, {})
        stats.write()
    assert not Event.objects.exists()
    assert not ContactEventStats.objects.exists()
