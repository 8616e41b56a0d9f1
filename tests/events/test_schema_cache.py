"""The per-process schema cache (events/services/schema.py) never lets ingest act on a stale
schema where it matters: trigger flags are read afresh, changes made here are seen at once,
changes made by other processes within schema.TTL, and a stale entry that breaks a write is
dropped before the retry."""

from __future__ import annotations

import pytest

from events.models import Event, EventAttribute, EventType, TriggerMark
from events.services import schema
from events.services.event_types import event_attribute_declare
from events.services.ingest import events_ingest


@pytest.fixture(autouse=True)
def _empty_cache():
    schema.schema_forget()
    yield
    schema.schema_forget()


def ingest(app, **payload):
    [result] = events_ingest(app=app, payloads=[{"app_user_id": "u"} | payload])
    assert result.errors is None, result.errors
    return result


def later(monkeypatch, seconds: float) -> None:
    """Move the cache's clock on, as if `seconds` had passed."""
    now = schema.time.monotonic()
    monkeypatch.setattr(schema.time, "monotonic", lambda: now + seconds)


def test_the_schema_is_read_once_then_served_from_the_cache(app, django_assert_num_queries):
    ingest(app, event_name="x", params={"n": 1})
    types, attributes = schema.schema_get(app=app, names={"x"})
    with django_assert_num_queries(0):
        assert schema.schema_get(app=app, names={"x"}) == (types, attributes)
    assert attributes[(types["x"].pk, "n")].type == "number"


def test_a_campaign_activated_after_the_types_were_cached_gets_its_events_marked(app):
    ingest(app, event_name="purchase_completed")  # the type is cached now
    EventType.objects.filter(app=app, name="purchase_completed").update(triggers_campaigns=True)
    ingest(app, event_name="purchase_completed", params={"order": 1})
    assert TriggerMark.objects.count() == 1
    EventType.objects.filter(app=app, name="purchase_completed").update(triggers_campaigns=False)
    ingest(app, event_name="purchase_completed", params={"order": 2})
    assert TriggerMark.objects.count() == 1


def test_an_attribute_declared_in_this_process_is_used_at_once(app):
    ingest(app, event_name="x", params={"p": "1"})  # discovered as a string, cached
    event_attribute_declare(event_type=EventType.objects.get(name="x"), name="p", type_="number")
    ingest(app, event_name="x", params={"p": "2"})
    assert sorted(
        Event.objects.filter(event_type__name="x").values_list("params", flat=True), key=str
    ) == [
        {"p": "1"},
        {"p": 2},
    ]


def test_a_change_made_by_another_process_is_seen_within_the_ttl(app, monkeypatch):
    ingest(app, event_name="x", params={"p": "1"})
    EventAttribute.objects.filter(name="p").update(type="number", declared=True)  # elsewhere
    later(monkeypatch, schema.TTL + 0.1)
    ingest(app, event_name="x", params={"p": "2"})
    assert Event.objects.filter(params__p=2).exists()


def test_an_attribute_another_process_created_meanwhile_is_read_on_retry(app):
    ingest(app, event_name="x")
    x = EventType.objects.get(name="x")
    EventAttribute.objects.create(event_type=x, name="p", type="string", declared=True)
    ingest(app, event_name="x", params={"p": 5})  # would discover p as a number: conflict, retry
    assert Event.objects.filter(params__p="5").exists()
    assert EventAttribute.objects.get(name="p").type == "string"


@pytest.mark.django_db(transaction=True)
def test_a_type_deleted_by_another_process_is_created_again_on_retry():
    from contacts.services.apps import app_create

    app = app_create(name="Gone", tenant_id="gone")
    ingest(app, event_name="x")
    EventType.objects.filter(app=app, name="x").delete()  # elsewhere: the cached id is gone
    ingest(app, event_name="x", params={"again": True})
    assert Event.objects.filter(event_type__name="x").count() == 1
    assert EventType.objects.filter(app=app, name="x").count() == 1


def test_an_app_id_reused_by_another_app_does_not_share_its_schema(app):
    ingest(app, event_name="x")
    twin = type(app).objects.get(pk=app.pk)
    twin.created_at = twin.created_at.replace(year=2000)  # same id, another app's row
    assert schema.schema_get(app=twin, names={"x"}) == schema.schema_get(app=app, names={"x"})
    assert len(schema._entries) == 2
