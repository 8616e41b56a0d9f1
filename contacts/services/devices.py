"""Registering push devices from tracked events, and the opt-in/opt-out changes that result."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from contacts.models import App, Contact, Device

DEVICE_FIELDS = [
    "contact",
    "platform",
    "subscription",
    "push_permission_granted",
    "timezone",
    "language",
    "country",
    "last_seen_at",
    "invalidated_at",
]


@dataclass(frozen=True)
class OptChange:
    """A device became push-permitted (opt_in) or stopped being (opt_out) for `contact`.
    Subtypes follow WonderPush: new, soft, moved."""

    contact: Contact
    kind: str  # "opt_in" | "opt_out"
    subtype: str


class DeviceRegistry:
    """The devices of one batch: prefetched by token, created or updated in bulk by `save()`."""

    def __init__(self, app: App):
        self.app = app
        self._by_token: dict[str, Device] = {}
        self._new: list[Device] = []
        self._changed: dict[int, Device] = {}

    def prefetch(self, tokens: Iterable[str]) -> None:
        tokens = {t for t in tokens if t}
        if tokens:
            for device in Device.objects.filter(app=self.app, token__in=tokens).select_related(
                "contact"
            ):
                self._by_token[device.token] = device

    def owner(self, token: str) -> Contact | None:
        device = self._by_token.get(token)
        return device.contact if device is not None else None

    def register(
        self,
        *,
        contact: Contact,
        token: str,
        platform: str,
        granted: bool,
        subscription: dict | None,
        timezone: str | None,
        language: str | None,
        country: str | None,
        seen_at: datetime,
    ) -> list[OptChange]:
        device = self._by_token.get(token)
        if device is None:
            device = Device(
                app=self.app,
                contact=contact,
                token=token,
                platform=platform,
                push_permission_granted=granted,
            )
            self._by_token[token] = device
            self._new.append(device)
            changes = [OptChange(contact, "opt_in", "new")] if granted else []
        else:
            changes = self._transition(device, contact, granted)
            if device.pk is not None:
                self._changed[device.pk] = device
        device.platform = platform
        device.subscription = subscription or device.subscription
        device.invalidated_at = None
        for field_name, value in (
            ("timezone", timezone),
            ("language", language),
            ("country", country),
        ):
            if value:
                setattr(device, field_name, value)
        if device.last_seen_at is None or seen_at > device.last_seen_at:
            device.last_seen_at = seen_at
        return changes

    def _transition(self, device: Device, contact: Contact, granted: bool) -> list[OptChange]:
        was_granted = device.push_permission_granted and device.invalidated_at is None
        changes = []
        if not _same_contact(device.contact, contact):
            if was_granted:
                changes.append(OptChange(device.contact, "opt_out", "moved"))
            if granted:
                changes.append(OptChange(contact, "opt_in", "moved"))
            device.contact = contact
        elif granted and not was_granted:
            changes.append(OptChange(contact, "opt_in", "soft"))
        elif was_granted and not granted:
            changes.append(OptChange(contact, "opt_out", "soft"))
        device.push_permission_granted = granted
        return changes

    def save(self, canonical: Callable[[Contact], Contact]) -> None:
        """Write new and changed devices; `canonical` maps contacts merged away in the batch."""
        for device in [*self._new, *self._changed.values()]:
            device.contact = canonical(device.contact)
            device.contact_id = device.contact.pk
        if self._new:
            Device.objects.bulk_create(self._new)
        if self._changed:
            changed = sorted(self._changed.values(), key=lambda d: d.pk)
            Device.objects.bulk_update(changed, DEVICE_FIELDS)
        self._new, self._changed = [], {}


def _same_contact(a: Contact, b: Contact) -> bool:
    return a is b or (a.pk is not None and a.pk == b.pk)
