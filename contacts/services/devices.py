"""Registering push devices from tracked events, and the opt-in/opt-out changes that result."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson

from common.db import locks
from common.db.dialect import dialect
from common.db.executor import execute, fetch
from common.db.rows import from_row, select_list
from contacts.models import App, Contact, Device

# (column, PostgreSQL type) of what an event may change on a stored device.
DEVICE_COLUMNS = [
    ("contact_id", "bigint"),
    ("platform", "text"),
    ("subscription", "text"),
    ("push_permission_granted", "boolean"),
    ("timezone", "text"),
    ("language", "text"),
    ("country", "text"),
    ("last_seen_at", "timestamptz"),
    ("invalidated_at", "timestamptz"),
]


@dataclass(frozen=True)
class OptChange:
    """A device became push-permitted (opt_in) or stopped being (opt_out) for `contact`.
    Subtypes follow WonderPush: new, soft, moved."""

    contact: Contact
    kind: str  # "opt_in" | "opt_out"
    subtype: str


class DeviceRegistry:
    """The devices of one batch: prefetched by token, created or updated in bulk by `save()`.

    Most events re-register a device that is already stored as it is, so `save()` writes only the
    devices whose columns differ from what `prefetch()` read, in one set-based UPDATE."""

    def __init__(self, app: App):
        self.app = app
        self._by_token: dict[str, Device] = {}
        self._new: list[Device] = []
        self._seen: dict[int, Device] = {}
        self._stored: dict[int, tuple] = {}  # device id -> its columns as prefetched

    def prefetch(self, tokens: Iterable[str]) -> None:
        tokens = {t for t in tokens if t}
        if not tokens:
            return
        self._remember(_devices_with_contacts(self.app.id, sorted(tokens)))
        missing = sorted(tokens - self._by_token.keys())
        if missing and locks.lock_keys(missing, seed=self.app.id):
            # Tokens this batch may create: wait for any transaction creating the same ones, then
            # read again (a new statement sees what they committed). Without this, batches that
            # meet the same new devices fail on the unique token and retry, again and again
            # under a steady stream of batches (4 gunicorn workers exhausted 8 attempts).
            self._remember(_devices_with_contacts(self.app.id, missing))

    def _remember(self, devices: Iterable[Device]) -> None:
        for device in devices:
            self._by_token[device.token] = device
            self._stored[device.id] = _columns(device)

    def owners(self) -> list[Contact]:
        """The contacts of the devices prefetched so far."""
        return [device.contact for device in self._by_token.values() if device.pk is not None]

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
                self._seen[device.pk] = device
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

    def save(self, canonical: Callable[[Contact], Contact]) -> int:
        """Write new and changed devices; `canonical` maps contacts merged away in the batch.
        Returns how many stored devices were updated."""
        for device in [*self._new, *self._seen.values()]:
            device.contact = canonical(device.contact)
            device.contact_id = device.contact.pk
        if self._new:  # token order: concurrent batches wait for each other, never deadlock
            Device.objects.bulk_create(sorted(self._new, key=lambda d: d.token))
        rows = [
            (pk, *columns)
            for pk, device in sorted(self._seen.items())  # id order: no deadlocks
            if (columns := _columns(device)) != self._stored.get(pk)
        ]
        if rows:
            _update_devices(rows)
        for pk, *columns in rows:
            self._stored[pk] = tuple(columns)
        self._new, self._seen = [], {}
        return len(rows)


def _same_contact(a: Contact, b: Contact) -> bool:
    return a is b or (a.pk is not None and a.pk == b.pk)


def _devices_with_contacts(app_id: int, tokens: list[str]) -> list[Device]:
    """The devices with these tokens and their contacts, as select_related() loads them, in one
    binary query (see common/db/rows.from_row)."""
    condition, params = dialect().any_of("d.token", "text", tokens)
    sql = (
        f"SELECT {select_list(Device, 'd')}, {select_list(Contact, 'c')} "
        f"FROM {Device._meta.db_table} d JOIN {Contact._meta.db_table} c ON c.id = d.contact_id "
        f"WHERE d.app_id = %s AND {condition}"
    )
    split = len(Device._meta.concrete_fields)
    devices = []
    for row in fetch(sql, [app_id, *params], binary=True):
        device = from_row(Device, row[:split])
        device.contact = from_row(Contact, row[split:])
        devices.append(device)
    return devices


def _columns(device: Device) -> tuple:
    subscription = device.subscription
    return (
        device.contact_id if device.contact is None else device.contact.pk,
        device.platform,
        None if subscription is None else orjson.dumps(subscription).decode(),
        device.push_permission_granted,
        device.timezone,
        device.language,
        device.country,
        device.last_seen_at,
        device.invalidated_at,
    )


def _update_devices(rows: list[tuple]) -> None:
    """One UPDATE for all changed devices, whatever their number."""
    table = Device._meta.db_table
    source, params = dialect().values_source([("id", "bigint"), *DEVICE_COLUMNS], rows)
    assignments = ", ".join(
        f"{name} = {dialect().json(f'v.{name}')}"
        if name == "subscription"
        else f"{name} = v.{name}"
        for name, _ in DEVICE_COLUMNS
    )
    execute(f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.id = v.id", params)
