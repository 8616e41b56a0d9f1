"""One app's admin key never sees or changes another app's contacts, events or event types."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from events.models import Event, EventAttribute, EventType


@pytest.fixture
def shop_contact(track, admin_client):
    """A contact of app A ("shop") with an email, an event, a device and a discovered attribute."""
    response = track(
        app_user_id="shop-user",
        event_name="level_up",
        params={"level": 3},
        device_token="shop-token",
        platform="ios",
    )
    assert response.status_code == 200, response.json()
    contact_id = response.json()["contact_id"]
    response = admin_client.patch(
        f"/api/v1/contacts/{contact_id}", {"email": "ann@example.com"}, format="json"
    )
    assert response.status_code == 200, response.json()
    return Contact.objects.get(pk=contact_id)


@pytest.fixture
def shop_type(shop_contact):
    return EventType.objects.get(app=shop_contact.app, name="level_up")


def test_contact_list_excludes_other_apps_contacts(other_admin_client, other_app, shop_contact):
    own = Contact.objects.create(app=other_app, external_id="other-user")
    body = other_admin_client.get("/api/v1/contacts").json()
    assert [item["id"] for item in body["results"]] == [own.pk]
    for query in ({"email": "ann@example.com"}, {"external_id": "shop-user"}, {"platform": "ios"}):
        assert other_admin_client.get("/api/v1/contacts", query).json()["count"] == 0


def test_another_apps_contact_cannot_be_read_changed_or_erased(other_admin_client, shop_contact):
    url = f"/api/v1/contacts/{shop_contact.pk}"
    assert other_admin_client.get(url).status_code == 404
    response = other_admin_client.patch(url, {"email": "thief@example.com"}, format="json")
    assert response.status_code == 404
    assert other_admin_client.delete(url).status_code == 404
    shop_contact.refresh_from_db()
    assert shop_contact.email == "ann@example.com"
    assert shop_contact.events.exists() and shop_contact.devices.exists()


def test_another_apps_timeline_cannot_be_read_or_written(other_admin_client, shop_contact):
    url = f"/api/v1/contacts/{shop_contact.pk}/events"
    assert other_admin_client.get(url).status_code == 404
    response = other_admin_client.post(url, {"event_name": "planted"}, format="json")
    assert response.status_code == 404
    assert not Event.objects.filter(event_type__name="planted").exists()
    assert not EventType.objects.filter(name="planted").exists()


def test_event_type_list_excludes_other_apps_types(other_admin_client, other_app, shop_type):
    body = other_admin_client.get("/api/v1/event-types", {"page_size": 500}).json()
    ids = {item["id"] for item in body["results"]}
    assert shop_type.pk not in ids
    assert ids == set(EventType.objects.filter(app=other_app).values_list("pk", flat=True))
    assert "level_up" not in {item["name"] for item in body["results"]}


def test_another_apps_event_type_cannot_be_read_or_changed(other_admin_client, shop_type):
    url = f"/api/v1/event-types/{shop_type.pk}"
    assert other_admin_client.get(url).status_code == 404
    response = other_admin_client.patch(url, {"segmentation_enabled": True}, format="json")
    assert response.status_code == 404
    response = other_admin_client.post(
        f"{url}/attributes", {"name": "planted", "type": "string"}, format="json"
    )
    assert response.status_code == 404
    shop_type.refresh_from_db()
    assert shop_type.segmentation_enabled is False
    assert not shop_type.attributes.filter(name="planted").exists()


def test_another_apps_attribute_cannot_be_retyped(other_admin_client, other_app, shop_type):
    attribute = shop_type.attributes.get(name="level")
    own_type = EventType.objects.get(app=other_app, name="logged_in")
    for event_type_id in (shop_type.pk, own_type.pk):
        url = f"/api/v1/event-types/{event_type_id}/attributes/{attribute.pk}"
        assert other_admin_client.patch(url, {"type": "string"}, format="json").status_code == 404
    assert EventAttribute.objects.get(pk=attribute.pk).type == "number"
