"""The contact prefetch's fast path (PostgreSQL, binary cursor) loads what the ORM loads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from contacts.models import Contact
from contacts.services.identity import _contacts_by_columns

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fast path is PostgreSQL's"
)


def test_fast_prefetch_matches_the_orm(app, other_app):
    seen = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
    contacts = [
        Contact.objects.create(app=app, external_id="u1", first_seen_at=seen, last_seen_at=seen),
        Contact.objects.create(app=app, anonymous_id="a1", custom_fields={"k": [1, {"x": None}]}),
        Contact.objects.create(app=app, email="e@example.com", phone="+901", timezone="UTC"),
        Contact.objects.create(app=app, external_id="u9"),  # not asked for
        Contact.objects.create(app=other_app, external_id="u1"),  # another app's
    ]
    wanted = {
        "external_id": {"u1", "nobody"},
        "anonymous_id": {"a1"},
        "email": {"e@example.com"},
        "pk": {str(contacts[2].pk)},
    }
    loaded = _contacts_by_columns(app.pk, wanted)
    expected = list(Contact.objects.filter(pk__in=[c.pk for c in contacts[:3]]).order_by("pk"))
    assert [model_to_dict(c) | {"created_at": c.created_at} for c in loaded] == [
        model_to_dict(c) | {"created_at": c.created_at} for c in expected
    ]
    assert loaded[0].last_seen_at == seen and loaded[0].last_seen_at.tzinfo is not None
    assert not loaded[0]._state.adding and loaded[0]._state.db == "default"


def test_fast_device_prefetch_matches_select_related(app, other_app):
    from contacts.models import Device
    from contacts.services.devices import _devices_with_contacts

    owner = Contact.objects.create(app=app, external_id="u1", custom_fields={"a": 1})
    Device.objects.create(
        app=app, contact=owner, token="t1", platform="web", subscription={"endpoint": "e"}
    )
    Device.objects.create(app=app, contact=owner, token="t2", platform="ios")
    Device.objects.create(app=other_app, contact=owner, token="t1", platform="ios")
    loaded = sorted(_devices_with_contacts(app.pk, ["t1", "t2", "t3"]), key=lambda d: d.token)
    expected = list(Device.objects.filter(app=app).select_related("contact").order_by("token"))
    assert [model_to_dict(d) for d in loaded] == [model_to_dict(d) for d in expected]
    assert [model_to_dict(d.contact) for d in loaded] == [model_to_dict(owner)] * 2
    assert loaded[0].contact_id == owner.pk
