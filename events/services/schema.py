"""A per-process cache of each app's event schema: event types by name, with their attributes.

Ingest needs the types and attribute types of every event it stores; reading them costs two ORM
queries a request (a quarter of a single event's CPU). Here they are kept per process, and
staleness is bounded so that what other processes change is seen:

1. An app's entry lives at most `TTL` seconds (a second), then is read again: an attribute
   declared or corrected in another process is used by every process within a second.
2. A change made in this process (`event_attribute_declare`) forgets the app's entry at once.
3. Names missing from the entry (new event names, or types created meanwhile) are read from
   the database, so a type is never created twice because of the cache.
4. Ingest forgets the app's entry before it retries a transaction: a type or attribute that
   another process created (a unique violation), or deleted (a foreign key violation), is then
   read again.
5. `EventType.triggers_campaigns` is never taken from here: ingest re-reads it in the statement
   that inserts the events (see bulk_sql.insert_events), so an event stored after a campaign's
   activation has committed is always marked.

The objects are shared by the requests of a process: ingest must not change them, except the
display-only `last_seen_at` it refreshes. An entry is replaced, never changed, so a thread
reading it meanwhile sees a consistent one. Entries are keyed by the app's id and creation time,
so a reused id (SQLite after a rollback) never finds another app's schema.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from contacts.models import App
from events.models import EventAttribute, EventType

TTL = 1.0  # seconds; see 1. above


@dataclass
class _Entry:
    loaded_at: float
    types: dict[str, EventType] = field(default_factory=dict)
    attributes: dict[tuple[int, str], EventAttribute] = field(default_factory=dict)


_entries: dict[tuple, _Entry] = {}
_lock = threading.Lock()


def _key(app: App) -> tuple:
    return (app.pk, app.created_at)


def schema_get(
    *, app: App, names: set[str]
) -> tuple[dict[str, EventType], dict[tuple[int, str], EventAttribute]]:
    """The app's stored types among `names` (missing ones are not created) and the attributes of
    those types, keyed by (type id, name). Fresh dicts: the caller may add to them."""
    entry = _entries.get(_key(app))
    if entry is None or time.monotonic() - entry.loaded_at > TTL:
        entry = _Entry(loaded_at=time.monotonic())
    if missing := names - set(entry.types):
        entry = _loaded(app, missing, entry)
        _store(app, entry)
    types = {name: entry.types[name] for name in names if name in entry.types}
    ids = {t.pk for t in types.values()}
    attributes = {k: a for k, a in entry.attributes.items() if k[0] in ids}
    return types, attributes


def _loaded(app: App, names: set[str], entry: _Entry) -> _Entry:
    """`entry` with the stored types among `names` and their attributes added."""
    found = list(EventType.objects.filter(app=app, name__in=names))
    attributes = EventAttribute.objects.filter(event_type__in=found) if found else []
    return _Entry(
        loaded_at=entry.loaded_at,
        types={**entry.types, **{t.name: t for t in found}},
        attributes={**entry.attributes, **{(a.event_type_id, a.name): a for a in attributes}},
    )


def _store(app: App, entry: _Entry) -> None:
    with _lock:
        _entries[_key(app)] = entry


def schema_add(*, app: App, types: list[EventType], attributes: list[EventAttribute]) -> None:
    """Types and attributes this process has just stored (its transaction succeeded)."""
    entry = _entries.get(_key(app))
    if entry is None or not (types or attributes):
        return
    _store(
        app,
        _Entry(
            loaded_at=entry.loaded_at,
            types={**entry.types, **{t.name: t for t in types}},
            attributes={**entry.attributes, **{(a.event_type_id, a.name): a for a in attributes}},
        ),
    )


def schema_forget(*, app_id: int | None = None) -> None:
    """Forget an app's cached schema (every app's without `app_id`)."""
    with _lock:
        for key in [k for k in _entries if app_id is None or k[0] == app_id]:
            del _entries[key]
