"""Ingest reads the event schema afresh for every batch (events/services/schema.py): whatever
another writer changed before a batch starts is applied by it, and trigger flags are re-read by
the very statement that inserts the events."""

from __future__ import annotations

from campaigns.models import TriggeringEventType, TriggerMark
from events.models import Event, EventAttribute, EventType
from events.services.ingest import events_ingest
from events.services.schema import schema_get


def ingest(app, **payload):
    [result] = events_ingest(app=app, payloads=[{"app_user_id": "u"} | payload])
    assert result.errors is None, result.errors
    return result


def test_the_schema_holds_the_named_types_and_their_attributes(app):
    ingest(app, event_name="x", params={"n": 1, "s": "a"})
    ingest(app, event_name="y", params={"n": True})
    types, attributes = schema_get(app=app, names={"x", "y", "nothing"})
    assert set(types) == {"x", "y"}
    assert types["x"] == EventType.objects.get(app=app, name="x")
    assert {(k, a.type) for k, a in attributes.items()} == {
        ((types["x"].pk, "n"), "number"),
        ((types["x"].pk, "s"), "string"),
        ((types["y"].pk, "n"), "boolean"),
    }
    assert schema_get(app=app, names=set()) == ({}, {})


def test_a_campaign_activated_between_two_batches_gets_the_second_marked(app):
    ingest(app, event_name="purchase_completed")
    purchase = EventType.objects.get(app=app, name="purchase_completed")
    triggering = TriggeringEventType.objects.create(event_type=purchase)
    ingest(app, event_name="purchase_completed", params={"order": 1})
    assert TriggerMark.objects.count() == 1
    triggering.delete()
    ingest(app, event_name="purchase_completed", params={"order": 2})
    assert TriggerMark.objects.count() == 1


def test_an_attribute_changed_by_another_writer_is_applied_by_the_next_batch(app):
    ingest(app, event_name="x", params={"p": "1"})  # discovered as a string
    EventAttribute.objects.filter(name="p").update(type="number", declared=True)
    ingest(app, event_name="x", params={"p": "2"})
    assert Event.objects.filter(params__p=2).exists()


def test_an_attribute_another_writer_created_is_not_discovered_again(app):
    ingest(app, event_name="x")
    x = EventType.objects.get(name="x")
    EventAttribute.objects.create(event_type=x, name="p", type="string", declared=True)
    ingest(app, event_name="x", params={"p": 5})
    assert Event.objects.filter(params__p="5").exists()
    assert EventAttribute.objects.get(name="p").type == "string"


def test_a_deleted_type_is_created_again(app):
    ingest(app, event_name="x")
    EventType.objects.filter(app=app, name="x").delete()
    ingest(app, event_name="x", params={"again": True})
    assert Event.objects.filter(event_type__name="x").count() == 1
