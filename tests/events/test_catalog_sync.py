"""`manage.py beacon_setup` gives every existing app the catalog's event types and built-in params
that a newer Beacon introduced (events/services/catalog.py: event_catalog_sync), keeping what the
app has already."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.services.apps import app_create
from events import catalog
from events.models import EventAttribute, EventType
from events.services.catalog import event_catalog_sync

NEWER_BUILT_INS = [
    catalog.PRESENCE,
    catalog.EMAIL_SENT,
    catalog.EMAIL_OPENED,
    catalog.EMAIL_CLICKED,
    catalog.EMAIL_BOUNCED,
    catalog.EMAIL_UNSUBSCRIBED,
]


def make_old(app) -> None:
    """What an app created before the newer built-ins and declarations looks like."""
    EventType.objects.filter(app=app, name__in=NEWER_BUILT_INS).delete()
    EventType.objects.filter(app=app, name="onboarding_skipped").delete()  # a catalog entry
    EventAttribute.objects.filter(
        event_type__app=app,
        event_type__name=catalog.APP_OPEN,
        name__in=["subtype", "campaign_id", "delivery_id"],
    ).delete()
    EventAttribute.objects.filter(
        event_type__app=app, event_type__name=catalog.NOTIFICATION_FAILED, name="reason"
    ).delete()


def setup() -> None:
    call_command("beacon_setup", stdout=io.StringIO())


def attribute_types(app, name: str) -> dict[str, str]:
    return dict(
        EventAttribute.objects.filter(event_type__app=app, event_type__name=name).values_list(
            "name", "type"
        )
    )


def snapshot(app) -> tuple[list, list]:
    types = EventType.objects.filter(app=app).order_by("name")
    attributes = EventAttribute.objects.filter(event_type__app=app).order_by("pk")
    return (
        list(types.values_list("pk", "name", "category", "description", "suggested_params")),
        list(attributes.values_list("pk", "event_type__name", "name", "type", "declared")),
    )


@pytest.fixture
def old_app(app):
    make_old(app)
    assert not EventType.objects.filter(app=app, name=catalog.PRESENCE).exists()
    return app


def test_setup_adds_the_missing_built_in_event_types(old_app):
    setup()

    built_ins = EventType.objects.filter(app=old_app, category=catalog.BUILT_IN_CATEGORY)
    stored = {t.name: t for t in built_ins}
    assert set(stored) == {name for name, _, _ in catalog.BUILT_IN_EVENTS}
    for name, description, params in catalog.BUILT_IN_EVENTS:
        assert stored[name].is_system
        assert (stored[name].description, stored[name].suggested_params) == (description, params)
    assert EventType.objects.get(app=old_app, name="onboarding_skipped").is_system


def test_setup_declares_the_missing_built_in_attributes_with_their_types(old_app):
    setup()

    for name, types in catalog.BUILT_IN_ATTRIBUTES.items():
        assert attribute_types(old_app, name) == types
    assert attribute_types(old_app, catalog.PRESENCE)["start"] == "date"
    declared = EventAttribute.objects.filter(event_type__app=old_app, declared=True)
    assert not declared.exists()  # Beacon's, not an admin's declaration


def test_an_existing_attribute_keeps_its_type(old_app):
    # typed by the first value seen, before the catalog declared it a number
    app_open = EventType.objects.get(app=old_app, name=catalog.APP_OPEN)
    EventAttribute.objects.create(event_type=app_open, name="campaign_id", type="string")

    setup()

    assert attribute_types(old_app, catalog.APP_OPEN) == {
        "subtype": "string",
        "campaign_id": "string",
        "delivery_id": "number",
    }


def test_a_built_in_recorded_before_the_sync_is_kept_and_gets_its_params(old_app):
    seen = timezone.now()
    recorded = EventType.objects.create(
        app=old_app, name=catalog.EMAIL_SENT, is_system=True, first_seen_at=seen, last_seen_at=seen
    )
    EventAttribute.objects.create(event_type=recorded, name="delivery_id", type="string")

    setup()

    [email_sent] = EventType.objects.filter(app=old_app, name=catalog.EMAIL_SENT)
    assert (email_sent.pk, email_sent.last_seen_at) == (recorded.pk, seen)
    assert attribute_types(old_app, catalog.EMAIL_SENT) == {
        "campaign_id": "number",
        "delivery_id": "string",
    }


def test_every_app_is_synced_and_its_own_types_are_left_alone(old_app, other_app):
    make_old(other_app)
    custom = EventType.objects.create(app=old_app, name="level_up", category="Game")

    setup()

    fresh = app_create(name="Fresh", tenant_id="fresh")
    names = set(EventType.objects.filter(app=fresh).values_list("name", flat=True))
    assert set(EventType.objects.filter(app=other_app).values_list("name", flat=True)) == names
    assert set(EventType.objects.filter(app=old_app).values_list("name", flat=True)) == names | {
        "level_up"
    }
    custom.refresh_from_db()
    assert (custom.category, custom.is_system) == ("Game", False)


def test_running_it_twice_changes_nothing(old_app):
    app_open = EventType.objects.get(app=old_app, name=catalog.APP_OPEN)
    EventAttribute.objects.create(event_type=app_open, name="subtype", type="number")
    setup()
    first = snapshot(old_app)

    setup()

    assert snapshot(old_app) == first
    assert event_catalog_sync() == 0


def test_the_sync_counts_the_event_types_it_added(old_app):
    assert event_catalog_sync() == len(NEWER_BUILT_INS) + 1  # and onboarding_skipped
    assert event_catalog_sync() == 0
