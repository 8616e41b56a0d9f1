"""Mobile devices through the tracking API: the push provider a device names, and installations
that keep one device across token rotation (FCM tokens change; the install does not)."""

from __future__ import annotations

import pytest

from contacts.models import Device
from events.models import Event
from events.services.ingest import events_ingest


def opt_events() -> list[tuple[str, dict]]:
    events = Event.objects.filter(event_type__name__in=["@OPT_IN", "@OPT_OUT"]).order_by("id")
    return [(e.event_type.name, e.params) for e in events.select_related("event_type")]


def device_payload(token: str, *, at: str = "2026-12-01T10:00:00Z", **fields) -> dict:
    """An event registering a device; events are told apart by their time (the same event twice
    is one event)."""
    return {
        "event_name": "app_started",
        "event_time": at,
        "device_token": token,
        "platform": "android",
        "push_permission_granted": True,
        "installation_id": "install-1",
        **fields,
    }


def test_a_new_token_for_a_known_installation_replaces_the_old_one(track):
    first = track(app_user_id="u", **device_payload("token-A")).json()
    second = track(app_user_id="u", **device_payload("token-B", at="2026-12-02T10:00:00Z"))

    [device] = Device.objects.all()
    assert (device.token, device.installation_id) == ("token-B", "install-1")
    assert device.contact_id == first["contact_id"] == second.json()["contact_id"]
    assert device.push_permission_granted and device.invalidated_at is None
    assert opt_events() == [("@OPT_IN", {"subtype": "new"})]  # no opt-out/opt-in pair


def test_an_anonymous_install_keeps_its_contact_across_rotation(track):
    first = track(**device_payload("token-A")).json()
    second = track(**device_payload("token-B", at="2026-12-02T10:00:00Z")).json()
    assert second["contact_id"] == first["contact_id"]
    assert Device.objects.get().token == "token-B"


def test_a_late_event_with_the_token_the_installation_left_changes_nothing(track):
    track(app_user_id="u", **device_payload("token-B", at="2026-12-02T10:00:00Z"))
    # queued on the phone before the rotation, delivered after it
    track(app_user_id="u", **device_payload("token-A", at="2026-12-01T10:00:00Z"))
    assert list(Device.objects.values_list("token", flat=True)) == ["token-B"]


def test_rotation_inside_one_batch_leaves_one_device(app):
    payloads = [
        device_payload("token-A", app_user_id="u"),
        device_payload("token-B", app_user_id="u", at="2026-12-01T11:00:00Z"),
        device_payload("token-C", app_user_id="u", at="2026-12-01T12:00:00Z"),
    ]
    results = events_ingest(app=app, payloads=payloads)
    assert all(not r.errors for r in results)
    [device] = Device.objects.all()
    assert device.token == "token-C"
    assert opt_events() == [("@OPT_IN", {"subtype": "new"})]


def test_a_token_registered_before_without_installation_takes_it_and_the_old_row_retires(track):
    track(app_user_id="u", **device_payload("token-A"))
    later = device_payload("token-B", at="2026-12-01T11:00:00Z")
    track(app_user_id="u", **{**later, "installation_id": None})
    assert Device.objects.count() == 2

    track(app_user_id="u", **device_payload("token-B", at="2026-12-02T10:00:00Z"))

    old, new = Device.objects.order_by("id")
    assert (old.token, old.installation_id) == ("token-A", "")
    assert old.invalidated_at is not None  # the same install's earlier token: never sent again
    assert (new.token, new.installation_id, new.invalidated_at) == ("token-B", "install-1", None)
    assert [name for name, _ in opt_events()] == ["@OPT_IN", "@OPT_IN"]  # no @OPT_OUT


def test_without_an_installation_id_a_new_token_is_a_second_device(track):
    track(app_user_id="u", **{**device_payload("token-A"), "installation_id": None})
    later = device_payload("token-B", at="2026-12-01T11:00:00Z")
    track(app_user_id="u", **{**later, "installation_id": None})
    assert Device.objects.filter(invalidated_at__isnull=True).count() == 2


def test_installations_are_per_app(app, other_app):
    events_ingest(app=app, payloads=[device_payload("token-A", app_user_id="u")])
    events_ingest(app=other_app, payloads=[device_payload("token-B", app_user_id="u")])
    assert sorted(Device.objects.values_list("token", flat=True)) == ["token-A", "token-B"]


def test_the_push_provider_is_stored_and_kept_until_named_again(track):
    track(app_user_id="u", **device_payload("sub-1", push_provider="onesignal"))
    assert Device.objects.get().push_provider == "onesignal"
    track(app_user_id="u", **device_payload("sub-1", at="2026-12-01T11:00:00Z"))
    assert Device.objects.get().push_provider == "onesignal"
    track(
        app_user_id="u", **device_payload("sub-1", at="2026-12-01T12:00:00Z", push_provider="fcm")
    )
    assert Device.objects.get().push_provider == "fcm"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"push_provider": "sns"}, "must be one of webpush, fcm, apns, onesignal"),
        ({"push_provider": "apns"}, "android devices are sent to through fcm or onesignal"),
        ({"push_provider": "webpush"}, "android devices are sent to through fcm or onesignal"),
    ],
)
def test_a_provider_the_platform_cannot_use_is_a_400_naming_the_field(track, fields, reason):
    response = track(app_user_id="u", **device_payload("t", **fields))
    assert response.status_code == 400
    assert response.json()["detail"] == {"push_provider": [reason]}
    assert not Device.objects.exists()


def test_an_installation_id_longer_than_an_id_is_a_400(track):
    response = track(app_user_id="u", **device_payload("t", installation_id="i" * 256))
    assert response.status_code == 400
    assert response.json()["detail"] == {"installation_id": ["must be at most 255 characters"]}


def test_the_contacts_api_shows_the_provider_and_installation(track, admin_client):
    contact = track(app_user_id="u", **device_payload("t", push_provider="fcm")).json()
    [device] = admin_client.get(f"/api/v1/contacts/{contact['contact_id']}").json()["devices"]
    assert (device["push_provider"], device["installation_id"]) == ("fcm", "install-1")
