"""events/hooks.py: a later stage's in-transaction subscriber is told of every event stored, by
ingest and by the built-in events, inside the transaction that stores them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from contacts.models import Contact
from events import hooks
from events.models import Event
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.ingest import events_ingest


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def hook(app_id, events, now):
        seen.append((app_id, sorted(events)))

    monkeypatch.setattr(hooks, "_hooks", {})
    hooks.on_events_stored(hook, uid="test")
    return seen


def stored(**filters) -> list[hooks.StoredEvent]:
    rows = Event.objects.filter(**filters).values_list("id", "contact_id", "event_type_id")
    return sorted(hooks.StoredEvent(*row) for row in rows)


def test_ingest_tells_the_hook_of_each_new_event(app, calls):
    payload = {"event_name": "x", "app_user_id": "u1", "event_id": "e-1"}
    events_ingest(app=app, payloads=[payload, {"event_name": "y", "app_user_id": "u2"}])
    events_ingest(app=app, payloads=[payload])  # a replay: nothing new, no call
    assert calls == [(app.pk, stored())]  # @APP_OPEN of both contacts included


def test_built_in_events_are_told_too(app, calls):
    contact = Contact.objects.create(app=app, external_id="u1")
    event = BuiltinEvent(contact.pk, "@NOTIFICATION_SENT", {}, timezone.now(), key="d1")
    events_record_builtin(app=app, events=[event])
    assert calls == [(app.pk, stored())]


def test_a_failing_hook_stores_nothing_its_transaction_rolls_back(app, monkeypatch):
    def hook(app_id, events, now):
        raise RuntimeError("refused")

    monkeypatch.setattr(hooks, "_hooks", {})
    hooks.on_events_stored(hook, uid="test")
    with pytest.raises(RuntimeError):
        events_ingest(app=app, payloads=[{"event_name": "x", "app_user_id": "u1"}])
    assert not Event.objects.exists()


def test_a_second_registration_under_the_same_uid_is_ignored(monkeypatch):
    monkeypatch.setattr(hooks, "_hooks", {})
    first, second = (lambda *args: None), (lambda *args: None)
    hooks.on_events_stored(first, uid="campaigns.triggers")
    hooks.on_events_stored(second, uid="campaigns.triggers")
    assert list(hooks._hooks.values()) == [first]
