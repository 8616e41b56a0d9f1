"""DeviceRegistry writes only the devices an event changed, in one set-based statement; and a
web push device is registered only with an endpoint the worker may connect to."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Contact, Device
from contacts.services.devices import DeviceRegistry

SEEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def contact(app):
    return Contact.objects.create(app=app, external_id="u1")


def register(app, contact, **changes) -> int:
    """Prefetch and register token "t" the way one ingest batch does; return devices updated."""
    registry = DeviceRegistry(app)
    registry.prefetch(["t"])
    values = {
        "platform": "android",
        "granted": True,
        "subscription": None,
        "timezone": "Europe/Istanbul",
        "language": "tr",
        "country": "TR",
        "seen_at": SEEN,
    } | changes
    registry.register(contact=contact, token="t", **values)
    return registry.save(lambda c: c)


def test_a_device_registered_again_unchanged_is_not_written(app, contact):
    assert register(app, contact) == 0  # created
    assert register(app, contact) == 0
    assert register(app, contact, seen_at=SEEN - timedelta(days=1)) == 0  # an older event


def test_each_changed_column_is_written(app, contact):
    register(app, contact)
    other = Contact.objects.create(app=app, external_id="u2")
    changes = [
        {"language": "en"},
        {"timezone": "Europe/Berlin"},
        {"country": "DE"},
        {"platform": "ios"},
        {"granted": False},
        {"seen_at": SEEN + timedelta(hours=1)},
        {"subscription": {"endpoint": "https://push.example/a", "keys": {"auth": "x"}}},
    ]
    for change in changes:
        assert register(app, contact, **change) == 1, change
    assert register(app, other) == 1  # the token moved to another contact
    device = Device.objects.get()
    assert (device.contact_id, device.platform, device.push_permission_granted) == (
        other.pk,
        "android",
        True,
    )
    assert (device.timezone, device.language, device.country) == ("Europe/Istanbul", "tr", "TR")
    assert device.last_seen_at == SEEN + timedelta(hours=1)
    assert device.subscription == {"endpoint": "https://push.example/a", "keys": {"auth": "x"}}


def test_an_invalidated_device_seen_again_is_revived(app, contact):
    register(app, contact)
    Device.objects.update(invalidated_at=SEEN)
    assert register(app, contact) == 1
    assert Device.objects.get().invalidated_at is None


def test_many_changed_devices_are_written_together(app, contact):
    registry = DeviceRegistry(app)
    for n in range(3):
        Device.objects.create(app=app, contact=contact, token=f"t{n}", platform="web")
    registry.prefetch(["t0", "t1", "t2"])
    for n in range(3):
        registry.register(
            contact=contact,
            token=f"t{n}",
            platform="web",
            granted=n != 1,
            subscription=None,
            timezone=None,
            language=None,
            country=None,
            seen_at=SEEN,
        )
    assert registry.save(lambda c: c) == 3
    granted = dict(Device.objects.values_list("token", "push_permission_granted"))
    assert granted == {"t0": True, "t1": False, "t2": True}
    assert set(Device.objects.values_list("last_seen_at", flat=True)) == {SEEN}


# Push endpoints a worker must never connect to (server-side request forgery, issue 15)

KEYS = {"p256dh": "BP", "auth": "au"}


@pytest.mark.parametrize(
    "endpoint, reason",
    [
        ("https://127.0.0.1:9443/push/a", "is on a loopback address (127.0.0.1)"),
        ("https://[::1]/push/a", "is on a loopback address (::1)"),
        ("https://10.20.30.40/push/a", "is on a private address (10.20.30.40)"),
        ("https://192.168.1.1/push/a", "is on a private address (192.168.1.1)"),
        ("https://169.254.169.254/latest/meta-data", "is on a link-local address"),
        ("https://localhost/push/a", "is on a local host (localhost)"),
        ("https://LocalHost./push/a", "is on a local host (localhost)"),
        ("https://push.localhost/push/a", "is on a local host (push.localhost)"),
        ("https://0.0.0.0/push/a", "is on an unspecified address"),
        ("https://[::]/push/a", "is on an unspecified address"),
        ("https://[::ffff:127.0.0.1]/push/a", "is on a loopback address (::ffff:127.0.0.1)"),
        ("https://[fe80::1%25eth0]/push/a", "is on a link-local address"),
        ("https://[fd12::1]/push/a", "is on a private address"),
        ("https://100.64.0.1/push/a", "is on a shared (carrier-grade NAT) address"),
        ("https://224.0.0.1/push/a", "is on a multicast address"),
        ("https://255.255.255.255/push/a", "is on a reserved address"),
        # forms the system's resolver reads as IPv4 without asking DNS
        ("https://2130706433/push/a", "is on a loopback address (2130706433)"),
        ("https://127.1/push/a", "is on a loopback address (127.1)"),
        ("https://0x7f.0.0.1/push/a", "is on a loopback address (0x7f.0.0.1)"),
        ("https://0/push/a", "is on an unspecified address (0)"),
        # what IDNA maps to ASCII before any resolver sees it
        ("https://\uff11\uff12\uff17.0.0.1/push/a", "is on a loopback address (127.0.0.1)"),
        ("https://\u24dbocalhost/push/a", "is on a local host (localhost)"),
    ],
)
def test_registering_a_non_public_push_endpoint_is_a_400(track, settings, endpoint, reason):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False

    response = track(
        event_name="page_viewed",
        app_user_id="ann",
        device_token={"endpoint": endpoint, "keys": KEYS},
        platform="web",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation"
    [message] = body["detail"]["device_token"]
    assert message.startswith("the subscription's endpoint ") and reason in message, message
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/abc",
        "https://[2606:4700::1111]/push/a",  # a public IPv6 literal
        "https://8.8.8.8/push/a",
        "https://[::ffff:8.8.8.8]/push/a",  # IPv4-mapped: judged by the IPv4 address
        "https://10.example.com/push/a",  # a name, however it reads: checked when connecting
    ],
)
def test_public_push_endpoints_register_without_asking_dns(track, settings, monkeypatch, endpoint):
    """Registration never waits on DNS (contacts/push.py says why); the worker resolves."""
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False

    def no_dns(*args, **kwargs):
        raise AssertionError(f"registration asked DNS: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)

    response = track(
        event_name="page_viewed",
        app_user_id="ann",
        device_token={"endpoint": endpoint, "keys": KEYS},
        platform="web",
    )

    assert response.status_code == 200, response.json()
    assert Device.objects.get().subscription["endpoint"] == endpoint


def test_local_endpoints_register_with_the_development_setting(track, settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    for user, endpoint in [("a", "https://127.0.0.1:9443/p"), ("b", "https://10.0.0.2/p")]:
        subscription = {"endpoint": endpoint, "keys": KEYS}
        response = track(event_name="x", app_user_id=user, device_token=subscription)
        assert response.status_code == 200, response.json()
    assert Device.objects.count() == 2
