"""DeviceRegistry writes only the devices an event changed, in one set-based statement."""

from __future__ import annotations

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
