"""Ingest writes a stored contact only when an event changed what it keeps of it."""

from __future__ import annotations

import uuid

import pytest

from contacts.models import Contact
from events.services import bulk_sql
from events.services.ingest import events_ingest


@pytest.fixture
def written(monkeypatch):
    """The contact ids each batch's contact UPDATE wrote."""
    batches = []
    update = bulk_sql.update_contacts

    def spy(rows):
        batches.append([row[0] for row in rows])
        update(rows)

    monkeypatch.setattr(bulk_sql, "update_contacts", spy)
    return batches


def send(app, **fields):
    payload = {
        "event_name": "x",
        "app_user_id": "u",
        "event_time": "2026-11-01T12:00:00+00:00",
        "event_id": uuid.uuid4().hex,
    }
    [result] = events_ingest(app=app, payloads=[payload | fields])
    assert result.errors is None, result.errors
    return result.contact_id


def test_an_event_that_changes_nothing_does_not_write_the_contact(app, written):
    contact_id = send(app, country="TR")  # created
    send(app, event_time="2026-11-01T11:00:00+00:00", country="TR")  # earlier: first seen
    assert written == [[contact_id]]
    send(app, event_time="2026-11-01T11:30:00+00:00", country="TR")
    send(app)
    assert written == [[contact_id]]
    contact = Contact.objects.get(pk=contact_id)
    assert contact.last_seen_at.isoformat() == "2026-11-01T12:00:00+00:00"
    assert contact.first_seen_at.isoformat() == "2026-11-01T11:00:00+00:00"
    assert contact.country == "TR"


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"event_time": "2026-11-02T12:00:00+00:00"}, "last_seen_at", "2026-11-02T12:00:00+00:00"),
        ({"language": "de"}, "language", "de"),
        ({"timezone": "Europe/Berlin"}, "timezone", "Europe/Berlin"),
        ({"country": "DE"}, "country", "DE"),
        ({"anonymous_id": "anon-1"}, "anonymous_id", "anon-1"),
    ],
)
def test_an_event_that_changes_the_contact_writes_it(app, written, change, field, value):
    contact_id = send(app)
    send(app, **change)
    assert written == [[contact_id]]
    stored = getattr(Contact.objects.get(pk=contact_id), field)
    assert (stored.isoformat() if hasattr(stored, "isoformat") else stored) == value
