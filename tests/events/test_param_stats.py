"""ContactParamStats: count, sum, min and max of each number param per contact and event type,
kept by ingest (and the built-in events), merged with contacts, kept past retention, and filled
for the events already stored when the table is created."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from events.models import ContactParamStats
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.event_types import event_attribute_declare
from events.services.retention import events_purge_expired
from tests.segments.helpers import engine_members, event_types_prepare, ingest


def numbers() -> dict:
    return {
        (s.contact.external_id or s.contact_id, s.event_type.name, s.param): (
            s.count,
            s.total,
            s.minimum,
            s.maximum,
        )
        for s in ContactParamStats.objects.select_related("contact", "event_type")
    }


def event(user: str, params: dict, name: str = "purchase", days_ago: float = 1) -> dict:
    when = timezone.now() - timedelta(days=days_ago)
    return {
        "event_name": name,
        "app_user_id": user,
        "event_time": when.isoformat(),
        "params": params,
    }


def test_ingest_keeps_count_sum_min_and_max_of_each_number_param_across_batches(app):
    ingest(
        app=app,
        payloads=[
            event("u1", {"amount": 10, "qty": 2, "vip": True, "sku": "A1", "note": "12"}),
            event("u1", {"amount": 2.5}),
            event("u1", {"sku": "B2"}),  # no amount: counts for the event, not the param
            event("u2", {"amount": -3}),
        ],
    )
    ingest(app=app, payloads=[event("u1", {"amount": 30})])
    assert numbers() == {
        ("u1", "purchase", "amount"): (3, 42.5, 2.5, 30.0),
        ("u1", "purchase", "qty"): (1, 2.0, 2.0, 2.0),
        ("u2", "purchase", "amount"): (1, -3.0, -3.0, -3.0),
    }  # booleans and strings (even numeric ones) are not numbers


def test_a_param_declared_as_a_number_counts_the_strings_ingest_converts(app):
    ingest(app=app, payloads=[event("u1", {"amount": 1})])
    purchase = app.event_types.get(name="purchase")
    event_attribute_declare(event_type=purchase, name="price", type_="number")
    ingest(app=app, payloads=[event("u1", {"price": "49.5"}), event("u1", {"price": "0.5"})])
    assert numbers()[("u1", "purchase", "price")] == (2, 50.0, 0.5, 49.5)


def test_built_in_events_keep_param_stats_too(app):
    contact = Contact.objects.create(app=app, external_id="u1")
    now = timezone.now()
    events_record_builtin(
        app=app,
        events=[
            BuiltinEvent(contact.pk, "@NOTIFICATION_SENT", {"campaign_id": 7}, now, "d1"),
            BuiltinEvent(contact.pk, "@NOTIFICATION_SENT", {"campaign_id": 9}, now, "d2"),
            BuiltinEvent(contact.pk, "@NOTIFICATION_SENT", {"campaign_id": 9}, now, "d2"),  # again
        ],
    )
    assert numbers() == {("u1", "@NOTIFICATION_SENT", "campaign_id"): (2, 16.0, 7.0, 9.0)}


def test_merged_contacts_add_up_their_param_stats(app):
    ingest(app=app, payloads=[event("u1", {"amount": 10, "qty": 1})])
    ingest(
        app=app,
        payloads=[{**event("", {"amount": 50}), "app_user_id": None, "anonymous_id": "anon"}],
    )
    ingest(app=app, payloads=[{**event("u1", {}, name="login"), "anonymous_id": "anon"}])
    assert numbers() == {
        ("u1", "purchase", "amount"): (2, 60.0, 10.0, 50.0),
        ("u1", "purchase", "qty"): (1, 1.0, 1.0, 1.0),
    }


def test_lifetime_aggregates_outlive_the_events_purged_by_retention(app, settings):
    settings.EVENT_RETENTION_DAYS = 90
    event_types_prepare(app=app)
    ingest(
        app=app,
        payloads=[event("u1", {"amount": 150}, days_ago=100), event("u1", {"amount": 60})],
    )
    spent = {
        "type": "event",
        "event": "purchase",
        "aggregate": {"fn": "sum", "param": "amount", "op": ">=", "value": 200},
    }
    u1 = Contact.objects.get(external_id="u1").pk
    assert engine_members(app=app, conditions=spent, now=timezone.now()) == {u1}
    assert events_purge_expired() >= 1
    assert engine_members(app=app, conditions=spent, now=timezone.now()) == {u1}
    assert numbers()[("u1", "purchase", "amount")] == (2, 210.0, 60.0, 150.0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_stats_of_the_events_stored_before_it(app):
    ingest(
        app=app,
        payloads=[
            event("u1", {"amount": 10, "ok": True}),
            event("u1", {"amount": 2.5, "qty": 3}),
            event("u2", {"amount": 7}, name="refund"),
        ],
    )
    kept = numbers()
    assert len(kept) == 3
    ContactParamStats.objects.all().delete()
    migration = importlib.import_module("events.migrations.0005_contact_param_stats")
    with connection.schema_editor() as schema_editor:
        migration.backfill(apps, schema_editor)
    assert numbers() == kept
