"""Recording events: one pipeline for a single event and for a batch of up to 1000.

Per batch, whatever its size, the work is a fixed number of statements (see docs/architecture.md):
1. validate each payload in plain Python and compute its fingerprint;
2. drop duplicates: repeated fingerprints within the batch and ones already stored (one SELECT,
   sent with the next on PostgreSQL);
3. read the event types and attributes involved (one SELECT, see schema.py; unknown names are
   registered);
4. type the params (declared, prefixed or discovered attribute types);
5. resolve each event's contact and register its device (prefetched in two SELECTs), adding the
   built-in @APP_OPEN / @OPT_IN / @OPT_OUT events these cause (a session start of a stored contact
   reads when it was last sent a notification: one more SELECT, see sessions.py);
6. insert new contacts and devices, the events (one multi-row INSERT), the per-contact stats
   (one upsert), and the touched contacts' last-seen fields (one UPDATE); then the in-transaction
   subscribers (events/hooks.py: campaigns' trigger marks) write their marks of the new events;
7. on commit, tell subscribers which events were stored.

A concurrent request that stores the same event or creates the same contact first makes this
transaction fail on a unique constraint; it is then retried, and the retry sees the other's rows.
Should the database refuse a value that validation let through, the batch is stored in halves
until the event holding it is alone, and only that one is refused (`_store`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from django.db import DataError, IntegrityError, OperationalError, transaction
from django.utils import timezone

from common import metrics
from common.db.executor import pipeline, read_together
from contacts.models import App, Contact
from contacts.services.devices import DeviceRegistry
from contacts.services.identity import IdentityResolver
from events import catalog
from events.formats import (
    ElementError,
    discovered_format,
    ignored_reader,
    is_ignored,
    value_reader,
)
from events.hooks import StoredEvent, events_stored
from events.models import Event, EventAttribute, EventType
from events.services import bulk_sql
from events.services.event_types import event_types_seen
from events.services.schema import schema_get, schema_read
from events.services.sessions import SESSION_GAP, session_subtypes
from events.services.stats import EventStats
from events.signals import events_ingested
from events.validation import EventInput, parse_event_payload

MAX_ATTEMPTS = 8
RETRY_PAUSE = 0.05  # seconds, times the attempt number, at most
INSERT_CHUNK = 1000
_RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization failure, deadlock
logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    index: int
    fingerprint: str | None = None
    duplicate: bool = False
    contact_id: int | None = None
    anonymous_id: str | None = None
    errors: dict | None = None
    index_of_first: int | None = None  # a repeat, within the batch, of this earlier item


@dataclass
class _Row:
    """An event about to be inserted: a client's or a built-in one it caused."""

    contact: Contact
    event_type: EventType
    occurred_at: datetime
    params: dict
    fingerprint: str
    context: dict = field(default_factory=dict)
    session_id: str = ""
    result: IngestResult | None = None


class _ConcurrentDuplicate(Exception):
    """Another transaction stored one of our events first: roll back and start again."""


def event_fingerprint(app_id: int, item: EventInput, *, contact_id: int | None = None) -> str:
    """SHA-256 over the app and the client's event_id, else the event's canonical content.
    `contact_id` is the contact an event is sent for (the test tool): part of its identity."""
    if item.event_id:
        parts = [app_id, "id", item.event_id]
    else:
        parts = [
            app_id,
            "content",
            item.name,
            item.occurred_at.timestamp(),
            item.app_user_id,
            item.anonymous_id,
            item.params,
        ]
    if contact_id is not None:
        parts.append(contact_id)
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _contact_columns(contact: Contact) -> tuple:
    """What ingest writes of a stored contact (bulk_sql.CONTACT_COLUMNS after the id)."""
    return (
        contact.external_id,
        contact.anonymous_id,
        contact.first_seen_at,
        contact.last_seen_at,
        contact.timezone,
        contact.language,
        contact.country,
    )


def _derived_fingerprint(fingerprint: str, *parts: object) -> str:
    return hashlib.sha256("|".join([fingerprint, *map(str, parts)]).encode()).hexdigest()


def events_ingest(
    *,
    app: App,
    payloads: list,
    contact: Contact | None = None,
    received_at: datetime | None = None,
    check_nul: bool = True,
) -> list[IngestResult]:
    """Store the valid payloads, report the invalid ones; `contact` forces the contact (the
    "send a test event" tool: its events are not the contact's own activity, so they open no
    session (@APP_OPEN) and leave its first and last seen times). `check_nul=False`: the payloads'
    raw JSON held no \\u0000 escape, so no string needs checking for NUL (events/validation.py)."""
    now = received_at or timezone.now()
    results = [IngestResult(index=i) for i in range(len(payloads))]
    items: dict[int, EventInput] = {}
    for index, payload in enumerate(payloads):
        item, errors = parse_event_payload(payload, now=now, check_nul=check_nul)
        if errors:
            results[index].errors = errors
        else:
            item.fingerprint = event_fingerprint(
                app.pk, item, contact_id=contact.pk if contact else None
            )
            items[index] = item
    for index, result in _store(app, now, contact, items).items():
        results[index] = result
    metrics.ingest_observed(app=app.tenant_id, results=results)
    return results


def _store(app: App, now: datetime, contact: Contact | None, items: dict) -> dict:
    """Store the validated items; their results by index. If the database refuses a value
    (DataError: SQLSTATE class 22), which validation is meant to catch first, each half is
    stored on its own, down to the one event holding it, which alone is refused: a batch stores
    its valid events always, and a client does not resend a poison event forever (a 5xx)."""
    try:
        return _store_together(app, now, contact, items)
    except DataError as exc:
        if len(items) > 1:
            indexes = list(items)
            halves = indexes[: len(indexes) // 2], indexes[len(indexes) // 2 :]
            return {
                index: result
                for half in halves
                for index, result in _store(app, now, contact, {i: items[i] for i in half}).items()
            }
        if not items:
            raise
        logger.warning("ingest: the database refused an event that validation accepted: %s", exc)
        [index] = items
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value"
        errors = {"non_field_errors": [f"the database refused a value: {reason}"]}
        return {index: IngestResult(index=index, errors=errors)}


def _store_together(app: App, now: datetime, contact: Contact | None, items: dict) -> dict:
    """Store the items in one transaction, retried when a concurrent one conflicts."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        results = {i: IngestResult(index=i) for i in items}
        try:
            with transaction.atomic():
                _Batch(app, now, contact).run(items, results)
            return results
        except (IntegrityError, _ConcurrentDuplicate, OperationalError) as exc:
            if attempt == MAX_ATTEMPTS or not _is_retryable(exc):
                raise
            # Batches that create the same new contacts or devices collide again if they retry
            # in step: a random pause lets one of them commit first.
            time.sleep(random.uniform(0, RETRY_PAUSE * attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError | _ConcurrentDuplicate):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in _RETRYABLE_PG_CODES


class _Batch:
    def __init__(self, app: App, now: datetime, forced_contact: Contact | None):
        self.app = app
        self.now = now
        self.zone = ZoneInfo(app.timezone)  # where a date-only param's day starts
        self.forced_contact = forced_contact
        self.devices = DeviceRegistry(app)
        self.resolver = IdentityResolver(app, device_owner=self.devices.owner)
        self.types: dict[str, EventType] = {}
        self.attributes: dict[tuple[int, str], EventAttribute] = {}
        self.new_attributes: list[EventAttribute] = []
        # (type id, param) -> how its values are read, for attributes known to the batch
        self.readers: dict[tuple[int, str], Callable] = {}
        self.rows: list[_Row] = []
        self.touched: dict[int, Contact] = {}
        self.session_starts: list[_Row] = []  # the @APP_OPEN rows, their subtype still to set
        self.stored_contacts: dict[int, tuple] = {}  # id(contact) -> its columns as loaded

    def run(self, items: dict[int, EventInput], results: dict[int, IngestResult]) -> None:
        stored = self._read_stored_and_schema(items)
        fresh = self._drop_duplicates(items, results, stored)
        fresh = self._type_params(fresh, results)
        self._resolve_contacts(fresh, results)
        created = {id(c) for c in self.resolver.flush()}
        for row in self.rows:  # every merge of the batch is done by now
            row.contact = self.resolver.canonical(row.contact)
        self._refresh_type_last_seen()
        with pipeline():  # the writes below cost one round trip on PostgreSQL
            self.devices.save(self.resolver.canonical)
            self._upsert_stats()
            self._update_contacts(created)
            inserted = self._insert_events()  # fetching what it returns waits for all
            # The subscribers' writes travel with the block's closing sync.
            events_stored(self.app.pk, [stored for stored, _ in inserted], self.now)
        for row in self.rows:
            if row.result is not None:
                row.result.contact_id = row.contact.id
                row.result.anonymous_id = row.contact.anonymous_id
        for result in results.values():
            if result.index_of_first is not None:
                first = results[result.index_of_first]
                result.contact_id, result.anonymous_id = first.contact_id, first.anonymous_id
                if first.errors:
                    result.duplicate, result.errors, result.fingerprint = False, first.errors, None
        if inserted:
            self._announce(inserted)

    def _announce(self, inserted: list[tuple[StoredEvent, _Row]]) -> None:
        """After commit, tell subscribers which events, contacts and event types changed."""
        payload = {
            "app": self.app,
            "event_ids": [stored.id for stored, _ in inserted],
            "contact_ids": sorted({row.contact.id for _, row in inserted}),
            "event_type_names": sorted({row.event_type.name for _, row in inserted}),
        }
        transaction.on_commit(lambda: events_ingested.send(sender=Event, **payload), robust=True)

    # 2 and 3. The stored duplicates and the schema -------------------------------------------
    def _read_stored_and_schema(self, items: dict[int, EventInput]) -> dict:
        """The batch's fingerprints already stored (see `_drop_duplicates`), and its event types
        and attributes into self.types and self.attributes (unknown names registered). Read for
        every item, duplicates included: on PostgreSQL both reads then cost one round trip (a
        round trip is ~90 us of Python and ~55 us of PostgreSQL's CPU here)."""
        fingerprints = sorted({item.fingerprint for item in items.values()})
        # with the built-in events resolving contacts and devices may add
        names = {item.name for item in items.values()} | {
            catalog.APP_OPEN,
            catalog.OPT_IN,
            catalog.OPT_OUT,
        }
        # and whether the app ever sent a push, for @APP_OPEN's subtype (read, not registered)
        read = names | {catalog.NOTIFICATION_SENT}
        if fingerprints:
            stored, (self.types, self.attributes) = read_together(
                bulk_sql.stored_fingerprints_read(self.app.pk, fingerprints),
                schema_read(app_id=self.app.pk, names=read),
            )
        else:
            stored, (self.types, self.attributes) = {}, schema_get(app=self.app, names=read)
        self._register_types(names)
        return stored

    def _drop_duplicates(self, items, results, stored: dict) -> dict[int, EventInput]:
        first_index: dict[str, int] = {}
        for index, item in items.items():
            results[index].fingerprint = item.fingerprint
            first_index.setdefault(item.fingerprint, index)
        fresh = {}
        for index, item in items.items():
            result = results[index]
            if item.fingerprint in stored:
                result.duplicate = True
                result.contact_id, result.anonymous_id = stored[item.fingerprint]
            elif first_index[item.fingerprint] != index:
                result.duplicate = True
                result.index_of_first = first_index[item.fingerprint]
            else:
                fresh[index] = item
        return fresh

    def _register_types(self, names: set[str]) -> None:
        missing = [
            EventType(
                app=self.app,
                name=name,
                first_seen_at=self.now,
                last_seen_at=self.now,
                is_system=name.startswith("@"),
            )
            for name in sorted(names - set(self.types))
        ]
        if missing:
            EventType.objects.bulk_create(missing)
            self.types.update({t.name: t for t in missing})

    # 4. Typed params -------------------------------------------------------------------------
    def _type_params(self, items, results) -> dict[int, EventInput]:
        accepted = {}
        for index, item in items.items():
            typed, discovered, errors = self._typed(self.types[item.name], item.params)
            if errors:
                results[index].errors = errors
                results[index].fingerprint = None
                continue
            item.params = typed
            for attribute in discovered:
                self.attributes[(attribute.event_type_id, attribute.name)] = attribute
                self.new_attributes.append(attribute)
            accepted[index] = item
        if self.new_attributes:
            EventAttribute.objects.bulk_create(self.new_attributes)
        return accepted

    def _typed(self, event_type: EventType, params: dict):
        typed, discovered, errors = {}, [], {}
        for name, value in params.items():
            read = self.readers.get((event_type.pk, name)) or self._reader(
                event_type, name, value, discovered
            )
            if read is None:  # a null tells nothing about the type yet
                typed[name] = None
                continue
            try:
                typed[name] = read(value)
            except ElementError as exc:
                errors[f"params.{name}[{exc.index}]"] = [str(exc)]
            except ValueError as exc:
                errors[f"params.{name}"] = [str(exc)]
        return typed, discovered, errors

    def _reader(self, event_type: EventType, name: str, value, discovered: list):
        """How to read a param that has no reader yet. A known attribute's or an ignore_ param's
        is kept for the batch (its prefix is looked up once, not per value); that of an attribute
        this event discovers (appended to `discovered`) is not, as the attribute is registered
        only if the event is accepted. None: a null of a new attribute."""
        key = (event_type.pk, name)
        if is_ignored(name):
            self.readers[key] = ignored_reader
            return ignored_reader
        attribute = self.attributes.get(key)
        known = attribute is not None  # stored, or registered by an accepted event
        if not known:
            builtin = catalog.BUILT_IN_ATTRIBUTES.get(event_type.name, {}).get(name)
            found = (builtin, False) if builtin else discovered_format(name, value)
            if found is None:
                return None
            attribute = EventAttribute(
                event_type=event_type, name=name, type=found[0], is_array=found[1]
            )
            discovered.append(attribute)
        read = value_reader(
            name=name, type_=attribute.type, is_array=attribute.is_array, timezone=self.zone
        )
        if known:
            self.readers[key] = read
        return read

    # 5. Contacts, devices and built-in events ------------------------------------------------
    def _resolve_contacts(self, items, results) -> None:
        if self.forced_contact is None:
            self.devices.prefetch(
                [i.device_token for i in items.values()] + self._mapped_tokens(items.values()),
                [i.installation_id for i in items.values() if i.device_token],
            )
            self.resolver.prefetch(items.values())
        else:
            self.devices.prefetch(
                [i.device_token for i in items.values()],
                [i.installation_id for i in items.values() if i.device_token],
            )
        for contact in [*self.resolver.loaded, *self.devices.owners()]:
            self.stored_contacts[id(contact)] = _contact_columns(contact)
        for index, item in items.items():
            contact = self.forced_contact or self.resolver.resolve(item)
            if self.forced_contact is None:  # a test event is not the contact's own activity
                self._track_session(contact, item)
            self.rows.append(
                _Row(
                    contact,
                    self.types[item.name],
                    item.occurred_at,
                    item.params,
                    item.fingerprint,
                    item.context,
                    item.session_id,
                    results[index],
                )
            )
            if item.device_token:
                self._register_device(contact, item)
        self._set_session_subtypes()

    def _mapped_tokens(self, items) -> list[str]:
        """Tokens named by a PushToken-style rule param (only read for events without a user id)."""
        items = [item for item in items if not item.app_user_id and item.params]
        if not items:
            return []
        params = {r.param.lower() for r in self.resolver.rules() if r.field == r.Field.DEVICE_TOKEN}
        return [
            str(v)
            for item in items
            for k, v in item.params.items()
            if k.lower() in params and isinstance(v, str)
        ]

    def _track_session(self, contact: Contact, item: EventInput) -> None:
        """Add @APP_OPEN when the contact's previous activity is older than 30 minutes."""
        last_seen = contact.last_seen_at
        if last_seen is None or item.occurred_at - last_seen > SESSION_GAP:
            self.session_starts.append(self._add_builtin(contact, catalog.APP_OPEN, {}, item))
        if last_seen is None or item.occurred_at > last_seen:
            contact.last_seen_at = item.occurred_at
        if contact.first_seen_at is None or item.occurred_at < contact.first_seen_at:
            contact.first_seen_at = item.occurred_at
        for field_name in ("timezone", "language", "country"):
            if value := getattr(item, field_name):
                setattr(contact, field_name, value)
        self.touched[id(contact)] = contact

    def _set_session_subtypes(self) -> None:
        """Influenced or natural (sessions.py), once every session start of the batch is known:
        a batch in which no stored contact's session starts, or of an app that never sent a
        push, reads nothing more."""
        if not self.session_starts:
            return
        starts = [(row.contact.pk, row.occurred_at) for row in self.session_starts]
        sent = self.types.get(catalog.NOTIFICATION_SENT)
        ever_sent = sent is not None and sent.last_seen_at is not None
        subtypes = session_subtypes(
            notification_type_id=sent.pk if ever_sent else None, starts=starts
        )
        for row, subtype in zip(self.session_starts, subtypes, strict=True):
            row.params["subtype"] = subtype

    def _register_device(self, contact: Contact, item: EventInput) -> None:
        changes = self.devices.register(
            contact=contact,
            token=item.device_token,
            platform=item.platform,
            granted=item.push_permission_granted,
            subscription=item.subscription,
            timezone=item.timezone,
            language=item.language,
            country=item.country,
            seen_at=item.occurred_at,
            push_provider=item.push_provider,
            installation_id=item.installation_id,
        )
        for change in changes:
            name = catalog.OPT_IN if change.kind == "opt_in" else catalog.OPT_OUT
            self._add_builtin(change.contact, name, {"subtype": change.subtype}, item)

    def _add_builtin(self, contact: Contact, name: str, params: dict, item: EventInput) -> _Row:
        fingerprint = _derived_fingerprint(item.fingerprint, name, params.get("subtype", ""))
        row = _Row(
            contact,
            self.types[name],
            item.occurred_at,
            params,
            fingerprint,
            session_id=item.session_id,
        )
        self.rows.append(row)
        return row

    # 6. Writes -------------------------------------------------------------------------------
    def _insert_events(self) -> list[tuple[StoredEvent, _Row]]:
        """Insert the rows. If another transaction stored one of them first, everything this one
        wrote is rolled back (_ConcurrentDuplicate), so the stats and contacts written before are
        right."""
        by_fingerprint = {row.fingerprint: row for row in self.rows}
        inserted = []
        for start in range(0, len(self.rows), INSERT_CHUNK):
            values = []
            for row in self.rows[start : start + INSERT_CHUNK]:
                values.append(
                    (
                        self.app.id,
                        row.contact.id,
                        row.event_type.id,
                        row.occurred_at,
                        self.now,
                        orjson.dumps(row.params).decode(),
                        orjson.dumps(row.context).decode(),
                        row.session_id,
                        row.fingerprint,
                    )
                )
            inserted += [
                (StoredEvent(event_id, contact_id, type_id), by_fingerprint[fingerprint])
                for event_id, fingerprint, contact_id, type_id in bulk_sql.insert_events(values)
            ]
        if len(inserted) != len(self.rows):
            raise _ConcurrentDuplicate()
        return inserted

    def _upsert_stats(self) -> None:
        """The per-contact stats of the rows: one upsert per stats table."""
        stats = EventStats()
        for row in self.rows:
            stats.add(row.contact.id, row.event_type.id, row.occurred_at, row.params)
        stats.write()

    def _update_contacts(self, created: set[int]) -> None:
        """Write the touched contacts whose columns changed since they were loaded (most events
        change nothing: an UPDATE would still write a new row version and its index entries)."""
        contacts = {}
        for contact in self.touched.values():
            contact = self.resolver.canonical(contact)
            if id(contact) not in created and contact.pk is not None:
                contacts[contact.pk] = contact
        rows = []
        for pk in sorted(contacts):  # id order: no deadlocks
            columns = _contact_columns(contacts[pk])
            if columns != self.stored_contacts.get(id(contacts[pk])):
                rows.append((pk, *columns))
        if rows:
            bulk_sql.update_contacts(rows)

    def _refresh_type_last_seen(self) -> None:
        event_types_seen(types={row.event_type for row in self.rows}, now=self.now)
