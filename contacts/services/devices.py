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
    ("token", "text"),
    ("installation_id", "text"),
    ("platform", "text"),
    ("push_provider", "text"),
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
    """The devices of one batch: prefetched by token (and installation id), created or updated in
    bulk by `save()`.

    Most events re-register a device that is already stored as it is, so `save()` writes only the
    devices whose columns differ from what `prefetch()` read, in one set-based UPDATE.

    Installations: an event whose token is new but whose `installation_id` names a stored device
    is that device's token rotating (FCM tokens do): the row takes the new token, keeping its
    contact, permission and history, with no opt-out/opt-in pair. An event older than the last
    one seen from the installation never rotates it back to a token it has left."""

    def __init__(self, app: App):
        self.app = app
        self._by_token: dict[str, Device] = {}
        self._by_installation: dict[str, Device] = {}
        self._new: list[Device] = []
        self._seen: dict[int, Device] = {}
        self._retired: dict[int, Device] = {}  # rows whose installation moved to another row
        self._stored: dict[int, tuple] = {}  # device id -> its columns as prefetched

    def prefetch(self, tokens: Iterable[str], installation_ids: Iterable[str] = ()) -> None:
        tokens = {t for t in tokens if t}
        installs = {i for i in installation_ids if i} - self._by_installation.keys()
        if not tokens and not installs:
            return
        self._remember(_devices_with_contacts(self.app.id, sorted(tokens), sorted(installs)))
        missing = sorted(tokens - self._by_token.keys())
        new_installs = sorted(installs - self._by_installation.keys())
        keys = missing + [f"installation:{i}" for i in new_installs]
        if keys and locks.lock_keys(keys, seed=self.app.id):
            # Tokens (and installations) this batch may create: wait for any transaction
            # creating the same ones, then read again (a new statement sees what they
            # committed). Without this, batches that meet the same new devices fail on the
            # unique token and retry, again and again under a steady stream of batches (4
            # gunicorn workers exhausted 8 attempts).
            self._remember(_devices_with_contacts(self.app.id, missing, new_installs))

    def _remember(self, devices: Iterable[Device]) -> None:
        for device in devices:
            self._by_token[device.token] = device
            if device.installation_id:
                self._by_installation[device.installation_id] = device
            self._stored[device.id] = _columns(device)

    def owners(self) -> list[Contact]:
        """The contacts of the devices prefetched so far."""
        return [device.contact for device in self._by_token.values() if device.pk is not None]

    def owner(self, token: str, installation_id: str | None = None) -> Contact | None:
        """The contact of the device with this token, or else of the installation's device."""
        device = self._by_token.get(token)
        if device is None and installation_id:
            device = self._by_installation.get(installation_id)
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
        push_provider: str | None = None,
        installation_id: str | None = None,
    ) -> list[OptChange]:
        device = self._by_token.get(token)
        if installation_id:
            device = self._installation_device(device, token, installation_id, seen_at)
        if device is None:
            device = Device(
                app=self.app,
                contact=contact,
                token=token,
                platform=platform,
                push_permission_granted=granted,
                installation_id=installation_id or "",
            )
            self._by_token[token] = device
            if installation_id:
                self._by_installation[installation_id] = device
            self._new.append(device)
            changes = [OptChange(contact, "opt_in", "new")] if granted else []
        else:
            changes = self._transition(device, contact, granted)
            if device.pk is not None:
                self._seen[device.pk] = device
        device.platform = platform
        if push_provider:
            device.push_provider = push_provider
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

    def _installation_device(
        self, device: Device | None, token: str, installation_id: str, seen_at: datetime
    ) -> Device | None:
        """The device an event of this installation registers: the token's own row, or the
        installation's row with its token rotated to `token`."""
        known = self._by_installation.get(installation_id)
        if known is None or known is device:
            if device is not None and device.installation_id != installation_id:
                self._attach(device, installation_id)
            return device
        if device is None:
            if known.last_seen_at is not None and seen_at < known.last_seen_at:
                return known  # a late event with a token the installation has left
            del self._by_token[known.token]
            known.token = token
            self._by_token[token] = known
            return known
        # The token has a row of its own (registered before without this installation id): that
        # row becomes the installation's, and the one that had it retires, silently (the same
        # install: no opt-out).
        known.installation_id = ""
        known.invalidated_at = seen_at
        if known.pk is not None:
            self._retired[known.pk] = known
            self._seen.pop(known.pk, None)
        self._attach(device, installation_id)
        return device

    def _attach(self, device: Device, installation_id: str) -> None:
        if device.installation_id and self._by_installation.get(device.installation_id) is device:
            del self._by_installation[device.installation_id]
        device.installation_id = installation_id
        self._by_installation[installation_id] = device

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
        # Retired rows first: the installation id they give up must be free before another row
        # (new or updated) takes it (the unique constraint is checked row by row).
        retired = self._changed(self._retired)
        if retired:
            _update_devices(retired)
        if self._new:  # token order: concurrent batches wait for each other, never deadlock
            Device.objects.bulk_create(sorted(self._new, key=lambda d: d.token))
        rows = self._changed(self._seen)
        if rows:
            _update_devices(rows)
        self._new, self._seen, self._retired = [], {}, {}
        return len(rows) + len(retired)

    def _changed(self, devices: dict[int, Device]) -> list[tuple]:
        """(id, *columns) of the devices whose columns differ from what was read, in id order
        (concurrent batches then wait for each other, never deadlock); remembered as stored."""
        rows = [
            (pk, *columns)
            for pk, device in sorted(devices.items())
            if (columns := _columns(device)) != self._stored.get(pk)
        ]
        for pk, *columns in rows:
            self._stored[pk] = tuple(columns)
        return rows


def _same_contact(a: Contact, b: Contact) -> bool:
    return a is b or (a.pk is not None and a.pk == b.pk)


def _devices_with_contacts(
    app_id: int, tokens: list[str], installation_ids: list[str] = ()
) -> list[Device]:
    """The devices with these tokens or installation ids and their contacts, as select_related()
    loads them, in one binary query (see common/db/rows.from_row)."""
    condition, params = dialect().any_of("d.token", "text", tokens)
    if installation_ids:
        by_installation, more = dialect().any_of("d.installation_id", "text", installation_ids)
        # "<> ''" lets the planner use the partial unique index (device_unique_installation)
        by_installation = f"({by_installation} AND d.installation_id <> '')"
        condition, params = f"({condition} OR {by_installation})", [*params, *more]
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
        device.token,
        device.installation_id,
        device.platform,
        device.push_provider,
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
