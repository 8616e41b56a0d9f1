"""The prefetches of a batch (contacts by identity, devices by token) load exactly what the ORM
loads: on PostgreSQL through their fast path (one binary query + from_db), on SQLite through the
ORM itself, so the same assertions hold on both."""

from __future__ import annotations

from datetime import UTC, datetime

from django.forms.models import model_to_dict

from contacts.models import Contact, Device
from contacts.services.devices import DeviceRegistry
from contacts.services.identity import IdentityResolver
from events.validation import EventInput


def test_contact_prefetch_matches_the_orm(app, other_app):
    seen = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
    contacts = [
        Contact.objects.create(app=app, external_id="u1", first_seen_at=seen, last_seen_at=seen),
        Contact.objects.create(app=app, anonymous_id="a1", custom_fields={"k": [1, {"x": None}]}),
        Contact.objects.create(app=app, email="e@example.com", phone="+901", timezone="UTC"),
        Contact.objects.create(app=app, external_id="u9"),  # not asked for
        Contact.objects.create(app=other_app, external_id="u1"),  # another app's
    ]
    when = datetime(2026, 11, 2, tzinfo=UTC)
    items = [
        EventInput(name="x", occurred_at=when, app_user_id="u1"),
        EventInput(name="x", occurred_at=when, app_user_id="nobody"),
        EventInput(name="x", occurred_at=when, anonymous_id="a1"),
        EventInput(name="x", occurred_at=when, params={"Email": "e@example.com"}),
        EventInput(name="x", occurred_at=when, params={"ContactId": str(contacts[2].pk)}),
    ]
    resolver = IdentityResolver(app, device_owner=lambda token: None)
    resolver.prefetch(items)
    loaded = resolver.loaded
    expected = list(Contact.objects.filter(pk__in=[c.pk for c in contacts[:3]]).order_by("pk"))
    assert [model_to_dict(c) | {"created_at": c.created_at} for c in loaded] == [
        model_to_dict(c) | {"created_at": c.created_at} for c in expected
    ]
    assert loaded[0].last_seen_at == seen and loaded[0].last_seen_at.tzinfo is not None
    assert not loaded[0]._state.adding and loaded[0]._state.db == "default"


def test_device_prefetch_matches_select_related(app, other_app):
    owner = Contact.objects.create(app=app, external_id="u1", custom_fields={"a": 1})
    Device.objects.create(
        app=app, contact=owner, token="t1", platform="web", subscription={"endpoint": "e"}
    )
    Device.objects.create(app=app, contact=owner, token="t2", platform="ios")
    Device.objects.create(app=other_app, contact=owner, token="t1", platform="ios")
    registry = DeviceRegistry(app)
    registry.prefetch(["t1", "t2", "t3"])
    loaded = sorted(registry._by_token.values(), key=lambda d: d.token)
    expected = list(Device.objects.filter(app=app).select_related("contact").order_by("token"))
    assert [model_to_dict(d) for d in loaded] == [model_to_dict(d) for d in expected]
    assert [model_to_dict(d.contact) for d in loaded] == [model_to_dict(owner)] * 2
    assert loaded[0].contact_id == owner.pk
    assert registry.owner("t3") is None
